// SPDX-License-Identifier: GPL-2.0
/*
 * verifier.bpf.c: a program the verifier rejects (bad_deref dereferences
 * a hash map lookup without checking it for NULL) next to a good one. Expect
 * kh run to fail with one line naming bad_deref and ending in the
 * verifier's "R0 invalid mem access 'map_value_or_null'"; with -v the
 * full verifier log goes to stderr.
 */
#include "vmlinux.h"
#include "kh_bpf.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_faccessat")
int good(void *ctx)
{
	return 0;
}

SEC("tracepoint/syscalls/sys_enter_faccessat")
int bad_deref(void *ctx)
{
	__u32 key = 0;
	__u64 *v = bpf_map_lookup_elem(&counts, &key);

	*v += 1; /* no NULL check: rejected */
	return 0;
}
