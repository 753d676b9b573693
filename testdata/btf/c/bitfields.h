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

struct bf1 {
	unsigned int a: 3;
	unsigned int b: 5;
	int c: 10;
	char d;
	unsigned long e: 33;
};

struct bf2 {
	char c;
	int x: 4;
};

struct bf3 {
	int a: 4;
	long: 60;
	int b: 4;
};

struct bf4 {
	unsigned char a: 1;
	char: 6;
	unsigned char b: 1;
	short: 8;
	unsigned short s: 9;
};

struct bf5 {
	long a: 20;
	long b: 44;
	long c: 64;
};

struct bf6 {
	short a: 3;
	long long b: 50;
	char c: 2;
};

struct bf7 {
	int x;
	unsigned int y: 1;
};

struct bf8 {
	char a;
	long b: 2;
	char c;
};

union ubf {
	int a: 3;
	long b: 40;
	char c;
};


/* BPF kfuncs */
#ifndef BPF_NO_KFUNC_PROTOTYPES
#endif

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
