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

char LICENSE[] SEC("license") = "GPL";

struct records {
	__u32 kind;
	__u32 tgid;
	__s64 ret; /* fexit: return value */
	__s64 id;  /* tp_btf: the child's pid */
	char comm[16];
};

struct records *kh_records_type __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} records SEC(".maps");

static __always_inline int send(void *ctx, __u32 kind, __s64 ret, __s64 id)
{
	struct records r = {};

	r.kind = kind;
	r.tgid = bpf_get_current_pid_tgid() >> 32;
	r.ret = ret;
	r.id = id;
	bpf_get_current_comm(r.comm, sizeof(r.comm));
	bpf_perf_event_output(ctx, &records, KH_F_CURRENT_CPU, &r, sizeof(r));
	return 0;
}

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
