// SPDX-License-Identifier: GPL-2.0
/*
 * tracepoint.bpf.c: a syscall tracepoint that prints a bpf_printk line and
 * sends a record on a ring buffer, decoded by kh run as struct event.
 *
 * Trigger: faccessat(AT_FDCWD, PATH, F_OK), e.g. `test -e PATH` in a shell
 * whose test builtin calls access/faccessat. Expect
 *   printk: ... kh-tp faccessat tgid=<pid>
 *   events: kind="KH_TRACEPOINT" pid=... tgid=<pid> ... path="PATH"
 */
#include "vmlinux.h"
#include "kh_bpf.h"
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_faccessat")
int tp_faccessat(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e;

	bpf_printk("kh-tp faccessat tgid=%d", (int)(bpf_get_current_pid_tgid() >> 32));
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	fill_event(e, KH_TRACEPOINT);
	bpf_probe_read_user_str(e->path, sizeof(e->path), (const void *)ctx->args[1]);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
