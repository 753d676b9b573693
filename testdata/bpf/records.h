/* SPDX-License-Identifier: GPL-2.0 */
/*
 * records.h: a perf event array "records" and the record it carries,
 * struct records (kh run decodes it by the map-name rule), for the
 * programs that test perf buffers.
 */
#ifndef KH_TEST_RECORDS_H
#define KH_TEST_RECORDS_H

struct records {
	__u32 kind;
	__u32 tgid;
	__s64 ret; /* fexit: return value */
	__s64 id;  /* tp_btf: the child's pid */
	char comm[16];
};

struct records *kh_records_type __attribute__((unused));

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} records SEC(".maps");

/* send writes one record for the current task. */
static __always_inline int send(void *ctx, __u32 kind, __s64 ret, __s64 id)
{
	struct records r = {};

	r.kind = kind;
	r.tgid = bpf_get_current_pid_tgid() >> 32;
	r.ret = ret;
	r.id = id;
	bpf_get_current_comm(r.comm, sizeof(r.comm));
	bpf_perf_event_output(ctx, &records, KH_F_CURRENT_CPU, &r, sizeof(r));
	return 0;
}

#endif
