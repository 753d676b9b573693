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

enum big_u32 {
	U_MAX = 4294967295,
	U_MID = 2147483648,
	U_ZERO = 0,
};

enum neg32 {
	N_NEG = -1,
	N_MIN = -2147483648,
	N_POS = 5,
};

enum big64 {
	B_MAX = 18446744073709551615ULL,
	B_HI = 1099511627776ULL,
	B_LO = 1ULL,
};

enum neg64 {
	S_MIN = -9223372036854775808LL,
	S_NEG = -5LL,
	S_POS = 7LL,
};

enum tiny {
	T_A = 255,
} __attribute__((mode(byte)));

enum short_e {
	SH_A = -300,
};

typedef int my_td;

enum clash1 {
	CLASH = 1,
	my_td___2 = 2,
};

enum clash2 {
	CLASH___2 = 3ULL,
} __attribute__((mode(word)));

enum {
	TOP_A = 1,
	TOP_B = 2,
};

enum {
	TOP64 = 8589934592ULL,
};

typedef enum {
	AT_X = 0,
} anon_enum_t;

enum empty32;

enum empty32;

enum empty64;

enum empty64___2;

struct enum_user {
	enum big_u32 a;
	enum {
		IN_MEMBER = 9,
	} anon;
	enum neg64 b;
	enum empty32 e;
	enum empty64___2 *f;
};


/* BPF kfuncs */
#ifndef BPF_NO_KFUNC_PROTOTYPES
#endif

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
