// SPDX-License-Identifier: GPL-2.0
/*
 * current.bpf.c: uses the kernel's `current`, which reads a per-CPU
 * variable with the architecture's inline assembly. It compiles to LLVM IR
 * but llc cannot lower that assembly to BPF: kh build must say so.
 */
#include <linux/sched.h>
#include <uapi/linux/bpf.h>
#include "kh_helpers.h"

char LICENSE[] SEC("license") = "GPL";

SEC("kprobe/do_nanosleep")
int pid_of_current(void *ctx)
{
	return current->pid;
}
