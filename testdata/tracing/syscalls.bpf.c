// SPDX-License-Identifier: GPL-2.0
/*
 * syscalls.bpf.c: a syscall tracepoint and a kprobe, compiled against a
 * kernel header tree with kh build (real headers, not vmlinux.h), for the
 * in-guest tests of kh run. Both print a bpf_printk line with the caller's
 * tgid, read from task_struct at the offset the tree's headers give, which
 * is right only if the headers are the running kernel's.
 *
 * Trigger: faccessat(AT_FDCWD, PATH, F_OK). Expect, for the caller's tgid:
 *   kh-guest-tp tgid=<tgid>
 *   kh-guest-kp tgid=<tgid>
 */
#include <linux/sched.h>
#include <linux/ptrace.h>
#include <uapi/linux/bpf.h>
#include "kh_helpers.h"

char LICENSE[] SEC("license") = "GPL";

static long (*bpf_trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *)BPF_FUNC_trace_printk;
static __u64 (*bpf_get_current_pid_tgid)(void) = (void *)BPF_FUNC_get_current_pid_tgid;

#define kh_printk(fmt, ...) ({ static const char ____fmt[] = fmt; bpf_trace_printk(____fmt, sizeof(____fmt), ##__VA_ARGS__); })

static __always_inline int kh_tgid(void)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	pid_t tgid = 0;

	bpf_probe_read_kernel(&tgid, sizeof(tgid), &task->tgid);
	return tgid;
}

/* The tracepoint's context: the common header and the syscall's number
 * and arguments (see the format file in tracefs). */
struct sys_enter_ctx {
	__u64 common;
	long id;
	unsigned long args[6];
};

SEC("tracepoint/syscalls/sys_enter_faccessat")
int tp_faccessat(struct sys_enter_ctx *ctx)
{
	int tgid = kh_tgid();

	if (tgid == (int)(bpf_get_current_pid_tgid() >> 32))
		kh_printk("kh-guest-tp tgid=%d", tgid);
	return 0;
}

SEC("kprobe/do_faccessat")
int kp_do_faccessat(struct pt_regs *regs)
{
	int tgid = kh_tgid();

	if (tgid == (int)(bpf_get_current_pid_tgid() >> 32))
		kh_printk("kh-guest-kp tgid=%d", tgid);
	return 0;
}
