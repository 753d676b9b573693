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

struct p1 {
	char c;
	int i;
} __attribute__((packed));

struct p2 {
	char c;
	long l;
	short s;
} __attribute__((packed));

struct natural_packed {
	int a;
	int b;
};

struct p_tail {
	int a;
	char b;
} __attribute__((packed));

struct holds_packed {
	char c;
	struct p1 p;
	int i;
};

struct member_packed {
	char c;
	int i;
} __attribute__((packed));

struct p_aligned {
	char c;
	int i;
	long: 0;
} __attribute__((packed));

struct p_bits {
	char c;
	unsigned int x: 20;
	unsigned long y;
} __attribute__((packed));

union pu {
	char c[5];
	int i;
};


/* BPF kfuncs */
#ifndef BPF_NO_KFUNC_PROTOTYPES
#endif

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
