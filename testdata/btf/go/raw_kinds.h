#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

struct legacy {
	unsigned int a;
	unsigned int b;
	int c;
} __attribute__((packed));

enum wide {
	W_A = 1,
	W_B = 4294967295,
};

struct kflag_nobits {
	unsigned int x;
	double d;
};

typedef double real_t;

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
