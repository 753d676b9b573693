// SPDX-License-Identifier: GPL-2.0
/*
 * fentry.bpf.c: fentry and fexit programs on do_faccessat, sending records
 * on a perf event array (map "records", decoded as struct records). Needs
 * BTF and BPF trampolines (x86-64; arm64 since Linux 6.0), and a kernel
 * that lets kh load tracing programs.
 *
 * Trigger: faccessat(AT_FDCWD, PATH, F_OK) on a missing PATH. Expect, for
 * the caller's tgid: kind 6 (fentry) and kind 7 (fexit) with ret = -2
 * (ENOENT).
 */
#include "vmlinux.h"
#include "kh_bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct records {
	__u32 kind;
	__u32 tgid;
	__s64 ret; /* fexit: return value */
	__s64 id;  /* unused here */
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

/* long do_faccessat(int dfd, const char __user *filename, int mode, int flags) */
SEC("fentry/do_faccessat")
int fentry_do_faccessat(unsigned long long *ctx)
{
	return send(ctx, 6, 0, 0);
}

SEC("fexit/do_faccessat")
int fexit_do_faccessat(unsigned long long *ctx)
{
	/* fexit: the arguments (4 of them), then the return value. */
	return send(ctx, 7, (long)ctx[4], 0);
}
