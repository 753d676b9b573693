// SPDX-License-Identifier: GPL-2.0
/*
 * task.bpf.c: a kprobe that counts do_nanosleep calls per process,
 * compiled against a kernel header tree (kh build with a kheaders tree).
 * It includes real kernel headers and reads task_struct fields with
 * bpf_probe_read_kernel, so the field offsets in the object are those of
 * the tree's kernel and architecture: the tests check them against the
 * kernel's BTF.
 */
#include <linux/sched.h>
#include <linux/ptrace.h>
#include <uapi/linux/bpf.h>
#include "kh_helpers.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, pid_t);
	__type(value, __u64);
} sleeps SEC(".maps");

SEC("kprobe/do_nanosleep")
int count_sleeps(struct pt_regs *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	pid_t tgid = 0;
	__u64 one = 1, *n;

	bpf_probe_read_kernel(&tgid, sizeof(tgid), &task->tgid);
	n = bpf_map_lookup_elem(&sleeps, &tgid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&sleeps, &tgid, &one, BPF_ANY);
	return 0;
}
