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

typedef __builtin_va_list __gnuc_va_list;

typedef __builtin_va_list va_list;

typedef const int const_arr_t[4];

typedef void (*noreturn_fn_t)(int);

typedef unsigned char __Poly8_t;

typedef unsigned __int128 __Poly128_t;

struct gcc_user {
	__Poly8_t p8;
	__gnuc_va_list *gva;
	va_list va;
	const_arr_t arr;
	noreturn_fn_t fn;
	__Poly128_t p128;
};


/* BPF kfuncs */
#ifndef BPF_NO_KFUNC_PROTOTYPES
#endif

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
