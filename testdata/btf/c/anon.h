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

struct outer {
	int kind;
	union {
		struct {
			int a;
			int b;
		} pair;
		struct {
			long c;
		};
		long d;
	};
	struct {
		enum {
			IN_A = 0,
			IN_B = 7,
		} e;
		union {
			char x;
			short y;
		} u;
	} nested;
	struct {
		int z;
	} arr[2];
	struct {
		int w;
	} *ptr;
};

typedef struct {
	int q;
} anon_td;

typedef union {
	int i;
	float f;
} anon_utd;

typedef enum {
	TD_E1 = 0,
	TD_E2 = 1,
} anon_etd;

enum named_e {
	NAMED_A = 0,
	NAMED_B = 1,
};


/* BPF kfuncs */
#ifndef BPF_NO_KFUNC_PROTOTYPES
#endif

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
