// SPDX-License-Identifier: GPL-2.0
/*
 * hexrec.bpf.c: the usual ring-buffer pattern, whose record struct is
 * used only through a local pointer, so it is not in the object's BTF and
 * kh run prints the records as hex (and says why, and how to fix it).
 *
 * Trigger: faccessat(AT_FDCWD, PATH, F_OK). Expect records of map samples
 * as hex, and the warning on stderr as soon as kh run starts.
 */
#include "vmlinux.h"
#include "kh_bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct kh_sample {
	__u32 tgid;
	__u32 magic;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} samples SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_faccessat")
int tp_sample(void *ctx)
{
	struct kh_sample *s = bpf_ringbuf_reserve(&samples, sizeof(*s), 0);

	if (!s)
		return 0;
	s->tgid = bpf_get_current_pid_tgid() >> 32;
	s->magic = 0x6b68;
	bpf_ringbuf_submit(s, 0);
	return 0;
}
