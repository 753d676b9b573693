// SPDX-License-Identifier: GPL-2.0
/*
 * partial.bpf.c: four programs that load; kh attaches them in name order
 * and the last, d_missing, names a tracepoint no kernel has. Expect the
 * error to name d_missing and the three programs attached before it to
 * be detached again: nothing stays attached.
 */
#include "vmlinux.h"
#include "kh_bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint/syscalls/sys_enter_faccessat")
int a_tp(void *ctx)
{
	return 0;
}

SEC("tp/syscalls/sys_exit_faccessat")
int b_tp(void *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sched_process_fork")
int c_rawtp(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_kh_no_such_syscall")
int d_missing(void *ctx)
{
	return 0;
}
