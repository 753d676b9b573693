// SPDX-License-Identifier: GPL-2.0
/*
 * android.bpf.c: the program of the Android scenario (internal/vmtest,
 * TestAndroid): a syscall tracepoint and an fentry program on the same
 * syscall, each printing a bpf_printk line. CO-RE: built on the host
 * against the device kernel's BTF, run there as root (su) with kh run.
 *
 * Trigger: faccessat(AT_FDCWD, PATH, F_OK). Expect, for the caller's tgid:
 *   kh-android-tp tgid=<pid>
 *   kh-android-fentry tgid=<pid>
 */
#include "vmlinux.h"
#include "kh_bpf.h"

char LICENSE[] SEC("license") = "GPL";

SEC("tracepoint/syscalls/sys_enter_faccessat")
int android_tp(struct trace_event_raw_sys_enter *ctx)
{
	bpf_printk("kh-android-tp tgid=%d", (int)(bpf_get_current_pid_tgid() >> 32));
	return 0;
}

/* long do_faccessat(int dfd, const char __user *filename, int mode, int flags) */
SEC("fentry/do_faccessat")
int android_fentry(unsigned long long *ctx)
{
	bpf_printk("kh-android-fentry tgid=%d", (int)(bpf_get_current_pid_tgid() >> 32));
	return 0;
}
