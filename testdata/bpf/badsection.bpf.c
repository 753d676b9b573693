// SPDX-License-Identifier: GPL-2.0
/*
 * badsection.bpf.c: a program in a section kh run cannot attach. Expect a
 * one-line error naming program "odd" and section "kh_nonsense/foo",
 * before anything is loaded.
 */
#include "vmlinux.h"
#include "kh_bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint/syscalls/sys_enter_faccessat")
int fine(void *ctx)
{
	return 0;
}

SEC("kh_nonsense/foo")
int odd(void *ctx)
{
	return 0;
}
