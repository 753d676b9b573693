// SPDX-License-Identifier: GPL-2.0
/*
 * kprobe.bpf.c: kprobe, kretprobe, ksyscall and kretsyscall programs on
 * faccessat, sending records on a ring buffer. do_faccessat is the common
 * body of access/faccessat/faccessat2 on x86-64 and arm64 alike, and
 * ksyscall/faccessat is resolved by kh to __x64_sys_faccessat,
 * __arm64_sys_faccessat or sys_faccessat, so nothing here is
 * arch-specific. Needs a kernel with CONFIG_KPROBES.
 *
 * Trigger: faccessat(AT_FDCWD, PATH, F_OK). Expect four records for the
 * caller's tgid, kinds KH_KPROBE, KH_KRETPROBE, KH_KSYSCALL and
 * KH_KRETSYSCALL. (Return values are left to fexit: reading them from
 * pt_regs is arch-specific.)
 */
#include "vmlinux.h"
#include "kh_bpf.h"
#include "events.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} events SEC(".maps");

static __always_inline int send(enum kh_kind kind, long ret)
{
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

	if (!e)
		return 0;
	fill_event(e, kind);
	e->ret = (__s32)ret;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("kprobe/do_faccessat")
int kp_do_faccessat(struct pt_regs *ctx)
{
	return send(KH_KPROBE, 0);
}

SEC("kretprobe/do_faccessat")
int krp_do_faccessat(struct pt_regs *ctx)
{
	return send(KH_KRETPROBE, 0);
}

SEC("ksyscall/faccessat")
int ks_faccessat(struct pt_regs *ctx)
{
	return send(KH_KSYSCALL, 0);
}

SEC("kretsyscall/faccessat")
int krs_faccessat(struct pt_regs *ctx)
{
	return send(KH_KRETSYSCALL, 0);
}
