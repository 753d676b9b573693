// SPDX-License-Identifier: GPL-2.0
/*
 * uprobe.bpf.c: a uprobe and a uretprobe on kh_uprobe_target() of the
 * small program kh-uprobe-target (uprobe_target.c, built by build.sh). The
 * section names the program without a directory, so kh looks it up in
 * $PATH, as libbpf does.
 *
 * Trigger: run kh-uprobe-target (it calls the function three times).
 * Expect records with kind KH_UPROBE and then KH_UPROBE + ret (the
 * uretprobe sets ret to 1) for the target's pid, comm "kh-uprobe-targe".
 */
#include "vmlinux.h"
#include "kh_bpf.h"
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

static __always_inline int send(int ret)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	fill_event(e, KH_UPROBE);
	e->ret = ret;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("uprobe/kh-uprobe-target:kh_uprobe_target")
int uprobe_target(struct pt_regs *ctx)
{
	return send(0);
}

SEC("uretprobe/kh-uprobe-target:kh_uprobe_target")
int uretprobe_target(struct pt_regs *ctx)
{
	return send(1);
}
