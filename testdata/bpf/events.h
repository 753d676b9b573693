/* SPDX-License-Identifier: GPL-2.0 */
/* events.h: the record the test programs send, and where it goes. */
#ifndef KH_TEST_EVENTS_H
#define KH_TEST_EVENTS_H

/* Values of event.kind: which program sent the record. */
enum kh_kind {
	KH_TRACEPOINT = 1,
	KH_KPROBE = 2,
	KH_KRETPROBE = 3,
	KH_KSYSCALL = 4,
	KH_KRETSYSCALL = 5,
	KH_FENTRY = 6,
	KH_FEXIT = 7,
	KH_TP_BTF = 8,
	KH_RAW_TP = 9,
	KH_UPROBE = 10,
};

struct event {
	enum kh_kind kind;
	__u32 pid;  /* thread id */
	__u32 tgid; /* process id */
	__s32 ret;  /* return value (kretprobe, fexit), else 0 */
	char comm[16];
	char path[64];
};

/* Puts struct event into the object's BTF: kh run decodes the records of
 * a ring buffer or perf event array with the struct named like the map,
 * else the struct named "event". */
struct event *kh_event_type __attribute__((unused));

/* fill_event sets the fields every program sets. */
static __always_inline void fill_event(struct event *e, enum kh_kind kind)
{
	__u64 id = bpf_get_current_pid_tgid();

	e->kind = kind;
	e->pid = (__u32)id;
	e->tgid = id >> 32;
	e->ret = 0;
	e->path[0] = 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
}

#endif
