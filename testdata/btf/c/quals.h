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

struct q {
	const int ci;
	volatile long vl;
	const char *pc;
	char * const cp;
	const char * const cpc;
	int * restrict rp;
	volatile const unsigned int cvu;
	volatile int * const *vpp;
	const int carr[4];
	volatile char *varr[2];
	const struct q *self;
	void * const *vp;
	const void *cv;
	const int * const (*fp)(const int * restrict, volatile long);
};

typedef const struct q cq_t;

typedef volatile int vint_t;

typedef const vint_t *pcv_t;


/* BPF kfuncs */
#ifndef BPF_NO_KFUNC_PROTOTYPES
#endif

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
