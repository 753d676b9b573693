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

struct al8 {
	char c;
	long: 64;
	long l;
	long: 64;
};

struct al32 {
	int a;
	long: 64;
	long: 64;
	long: 64;
	int b;
	char tail;
	long: 64;
	long: 64;
	long: 64;
};

struct tail_pad {
	long a;
	char b;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
};

struct hole_int {
	char c;
	long: 0;
	int i;
	long: 0;
};

struct hole_short {
	char a;
	int: 0;
	short b;
	char c;
};

struct big_hole {
	char a;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	char b;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
	long: 64;
};

struct in_arr {
	struct al8 x[3];
	char y;
	long: 64;
};

struct aligned_struct {
	int x;
	long: 0;
};

struct uses_aligned {
	char c;
	long: 0;
	struct aligned_struct s;
};


/* BPF kfuncs */
#ifndef BPF_NO_KFUNC_PROTOTYPES
#endif

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
