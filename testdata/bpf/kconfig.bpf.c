// SPDX-License-Identifier: GPL-2.0
/*
 * kconfig.bpf.c: __kconfig externs, filled by kh run from the kernel
 * config (--kconfig FILE, else /proc/config.gz or /boot/config-RELEASE)
 * with libbpf's rules, sent on a ring buffer whose records kh decodes as
 * struct kconfig (the map-name rule).
 *
 * Trigger: faccessat(AT_FDCWD, PATH, F_OK). Expect one record per call
 * with the kernel's CONFIG_HZ, CONFIG_BPF_SYSCALL (1 = y), CONFIG_BPF_JIT,
 * missing = 0 (a __weak extern of an option no kernel has), the version
 * code of uname -r and, on x86-64 and arm64, wrapper = 1.
 */
#include "vmlinux.h"
#include "kh_bpf.h"

char LICENSE[] SEC("license") = "GPL";

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern bool LINUX_HAS_SYSCALL_WRAPPER __kconfig;
extern bool LINUX_HAS_BPF_COOKIE __kconfig __weak;
extern int CONFIG_HZ __kconfig;
extern enum libbpf_tristate CONFIG_BPF_SYSCALL __kconfig;
extern bool CONFIG_BPF_JIT __kconfig __weak;
extern int CONFIG_KH_NO_SUCH_OPTION __kconfig __weak;
extern char CONFIG_DEFAULT_HOSTNAME[16] __kconfig __weak;

struct kconfig {
	__u32 version;
	__s32 hz;
	__u32 bpf_syscall;
	__s32 missing;
	__u8 jit;
	__u8 wrapper;
	__u8 cookie;
	char hostname[16];
};

struct kconfig *kh_kconfig_type __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
} kconfig SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_faccessat")
int tp_kconfig(void *ctx)
{
	struct kconfig *k = bpf_ringbuf_reserve(&kconfig, sizeof(*k), 0);
	int i;

	if (!k)
		return 0;
	k->version = LINUX_KERNEL_VERSION;
	k->hz = CONFIG_HZ;
	k->bpf_syscall = CONFIG_BPF_SYSCALL;
	k->missing = CONFIG_KH_NO_SUCH_OPTION;
	k->jit = CONFIG_BPF_JIT;
	k->wrapper = LINUX_HAS_SYSCALL_WRAPPER;
	k->cookie = LINUX_HAS_BPF_COOKIE;
	for (i = 0; i < 16; i++)
		k->hostname[i] = CONFIG_DEFAULT_HOSTNAME[i];
	bpf_ringbuf_submit(k, 0);
	return 0;
}
