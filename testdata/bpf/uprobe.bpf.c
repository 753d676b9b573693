// SPDX-License-Identifier: GPL-2.0
/*
 * uprobe.bpf.c: a uprobe on a Go function of kh's tracing test binary,
 * reached through /proc/self/exe, so it only makes sense when the test
 * binary itself loads it (TestRunUprobe). It sends a record on a ring
 * buffer each time the function runs.
 */
#include "vmlinux.h"
#include "kh_bpf.h"
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

SEC("uprobe//proc/self/exe:github.com/khtool/kh/tracing.uprobeTarget")
int uprobe_target(struct pt_regs *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	fill_event(e, KH_UPROBE);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
