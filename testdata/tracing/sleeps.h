/* SPDX-License-Identifier: GPL-2.0 */
/*
 * sleeps.h: the body of task.bpf.c and core.bpf.c, a kprobe that counts
 * do_nanosleep calls per process in the hash map "sleeps". The includer
 * provides the kernel's types and defines TGID_ADDR(task), the address of
 * task->tgid: a plain field access against kernel headers, a CO-RE one
 * against vmlinux.h.
 */
#ifndef KH_SLEEPS_H
#define KH_SLEEPS_H

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

	bpf_probe_read_kernel(&tgid, sizeof(tgid), TGID_ADDR(task));
	n = bpf_map_lookup_elem(&sleeps, &tgid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&sleeps, &tgid, &one, BPF_ANY);
	return 0;
}

#endif
