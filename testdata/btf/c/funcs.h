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

typedef int (*cb_t)(int, void *);

typedef int fn_type(int, int);

struct ops {
	int (*open)(struct ops *, const char *);
	void (*close)(struct ops *);
	long (*ioctl)(struct ops *, unsigned int, unsigned long);
	int (*table[3])(void);
	int (* (*getter)(void))[5];
	void (* (*handlers[2])(int))(void *);
	fn_type *direct;
	char * (*str)(const char *, ...);
};

typedef void (*noargs_t)(void);

typedef int (*vararg_t)(const char *, ...);

typedef cb_t (*returns_cb_t)(int);

typedef void (* (*nested_t)(int))(char);

typedef int (*arr_fn_t[4])(long);


/* BPF kfuncs */
#ifndef BPF_NO_KFUNC_PROTOTYPES
#endif

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
