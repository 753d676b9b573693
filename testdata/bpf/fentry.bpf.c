// SPDX-License-Identifier: GPL-2.0
/*
 * fentry.bpf.c: fentry and fexit programs on do_faccessat, sending records
 * on a perf event array (map "records", decoded as struct records). Needs
 * BTF and BPF trampolines (x86-64; arm64 from Linux 6.4 on: the 6.1 test
 * kernel refuses to attach them), and a kernel that lets kh load tracing
 * programs.
 *
 * Trigger: faccessat(AT_FDCWD, PATH, F_OK) on a missing PATH. Expect, for
 * the caller's tgid: kind 6 (fentry) and kind 7 (fexit) with ret = -2
 * (ENOENT).
 */
#include "vmlinux.h"
#include "kh_bpf.h"
#include "records.h"

char LICENSE[] SEC("license") = "GPL";

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
