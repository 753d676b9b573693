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

struct dup {
	int a;
};

union udup {
	int a;
};

enum edup {
	EDUP_A = 1,
	SHARED_VAL = 10,
};

typedef int td_dup;

struct user1 {
	struct dup d;
	union udup u;
	enum edup e;
	td_dup t;
};

struct dup___2 {
	long b;
	char c;
};

union udup___2 {
	long b;
};

enum edup___2 {
	EDUP_B = 2,
	SHARED_VAL___2 = 20,
};

typedef char td_dup___2;

enum other {
	td_only_1 = 5,
	EDUP_A___2 = 3,
};

struct user2 {
	struct dup___2 d;
	union udup___2 u;
	enum edup___2 e;
	td_dup___2 t;
	enum other o;
};


/* BPF kfuncs */
#ifndef BPF_NO_KFUNC_PROTOTYPES
#endif

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
