// SPDX-License-Identifier: GPL-2.0
/*
 * core.bpf.c: a CO-RE kprobe compiled against a BTF tree (kh build with
 * vmlinux.h and kconfig.h). The task_struct access is recorded as a CO-RE
 * relocation, which the loader resolves against the running kernel's BTF.
 * kconfig.h turns CONFIG_ options into macros.
 */
#include "vmlinux.h"
#include "kh_helpers.h"

#ifndef CONFIG_BPF_SYSCALL
#error "kconfig.h was not included: CONFIG_BPF_SYSCALL is not defined"
#endif

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

	bpf_probe_read_kernel(&tgid, sizeof(tgid), __builtin_preserve_access_index(&task->tgid));
	n = bpf_map_lookup_elem(&sleeps, &tgid);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&sleeps, &tgid, &one, BPF_ANY);
	return 0;
}
