// SPDX-License-Identifier: GPL-2.0
/*
 * btf.bpf.c: a BTF-typed tracepoint (tp_btf) and a raw tracepoint on
 * sched_process_fork, sending records on a perf event array (map
 * "records", whose records kh run decodes with struct records, by the
 * map-name rule). Needs a kernel with BTF.
 *
 * Trigger: a fork (run any command). Expect, for the forking process's
 * tgid: kind 8 (tp_btf, id = the child's pid, read through BTF) and kind
 * 9 (raw_tp).
 */
#include "vmlinux.h"
#include "kh_bpf.h"
#include "records.h"

char LICENSE[] SEC("license") = "GPL";

/* sched_process_fork(struct task_struct *parent, struct task_struct *child),
 * run by the parent. tp_btf programs may read the arguments directly. */
SEC("tp_btf/sched_process_fork")
int tpbtf_fork(unsigned long long *ctx)
{
	struct task_struct *child = (struct task_struct *)ctx[1];

	return send(ctx, 8, 0, child->pid);
}

SEC("raw_tp/sched_process_fork")
int rawtp_fork(struct bpf_raw_tracepoint_args *ctx)
{
	return send(ctx, 9, 0, 0);
}
