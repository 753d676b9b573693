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

struct fwd_only;

typedef struct fwd_only fwd_only_t;

typedef __builtin_va_list my_va_list;

struct tnode;

typedef struct tnode *tnode_ptr;

typedef struct {
	tnode_ptr head;
} tlist_t;

typedef tlist_t tlists_t[3];

typedef int int_arr2[2][3];

struct uses_td {
	fwd_only_t *f;
	my_va_list *va;
	tlists_t lists;
	int_arr2 m;
};

typedef unsigned int u32;

typedef u32 my_u32;

typedef my_u32 *pu32;

typedef struct tnode tnode_t;

struct tnode {
	tnode_t *next;
	pu32 val;
};

union ut;

typedef union ut ut_t;

union ut {
	ut_t *self;
	int x;
};

struct circ_a;

typedef struct circ_a circ_a_t;

struct circ_b {
	circ_a_t *a;
};

struct circ_a {
	struct circ_b b;
};


/* BPF kfuncs */
#ifndef BPF_NO_KFUNC_PROTOTYPES
#endif

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
