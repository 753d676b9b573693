#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

#ifndef __ksym
#define __ksym __attribute__((section(".ksyms")))
#endif

#ifndef __weak
#define __weak __attribute__((weak))
#endif

#ifndef __bpf_fastcall
#if __has_attribute(bpf_fastcall)
#define __bpf_fastcall __attribute__((bpf_fastcall))
#else
#define __bpf_fastcall
#endif
#endif

struct leaf {
	int x;
};

struct by_value {
	struct leaf l;
};

struct later;

struct by_ptr {
	struct later *p;
};

struct later {
	struct by_ptr back;
	long y;
};

struct self {
	struct self *next;
	struct self *prev;
};

struct ping;

struct pong {
	struct ping *ping;
};

struct ping {
	struct pong pong;
};

struct a_dep {
	int v;
};

struct holder {
	struct {
		struct a_dep y;
	} *x;
};

struct undefined_struct;

union undefined_union;

struct uses_fwd {
	struct undefined_struct *s;
	union undefined_union *u;
};


/* BPF kfuncs */
#ifndef BPF_NO_KFUNC_PROTOTYPES
#endif

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
