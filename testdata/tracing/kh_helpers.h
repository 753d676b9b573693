/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * kh_helpers.h: the few libbpf definitions kh's test programs need, so
 * they build with clang alone (no libbpf-dev). Include the kernel's
 * <uapi/linux/bpf.h> (header trees) or vmlinux.h (BTF trees) first: the
 * helper numbers come from their enum bpf_func_id.
 */
#ifndef KH_HELPERS_H
#define KH_HELPERS_H

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)BPF_FUNC_map_lookup_elem;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value, __u64 flags) = (void *)BPF_FUNC_map_update_elem;
static __u64 (*bpf_get_current_task)(void) = (void *)BPF_FUNC_get_current_task;
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)BPF_FUNC_probe_read_kernel;

#endif
