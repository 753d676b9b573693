// SPDX-License-Identifier: GPL-2.0
/*
 * libbpf.bpf.c: a program written the way libbpf's documentation writes
 * them, with libbpf's own headers (Debian's libbpf-dev). It builds against
 * a kernel header tree (kernel types from <linux/sched.h>) and, with
 * -DKH_BTF_TREE, against a BTF tree (vmlinux.h). CO-RE reads
 * (BPF_CORE_READ) need the BTF tree's -target bpf compile; against kernel
 * headers (compiled for the kernel's architecture, then llc) the program
 * reads through BPF_PROBE_READ, from the same bpf_core_read.h.
 */
#ifdef KH_BTF_TREE
#include "vmlinux.h"
#else
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/ptrace.h>
#include <linux/sched.h>
#endif
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} last_tgid SEC(".maps");

SEC("kprobe/do_nanosleep")
int BPF_KPROBE(on_nanosleep, void *t, int mode)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 key = 0;
#ifdef KH_BTF_TREE
	__u64 tgid = BPF_CORE_READ(task, tgid);
#else
	__u64 tgid = BPF_PROBE_READ(task, tgid);
#endif

	bpf_map_update_elem(&last_tgid, &key, &tgid, BPF_ANY);
	return mode;
}
