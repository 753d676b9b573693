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

struct empty {};

union uempty {};

struct has_empty {
	struct empty e;
	int x;
	struct empty e2;
};

struct deep {
	struct {
		struct {
			struct {
				struct {
					struct {
						struct {
							struct {
								struct {
									struct {
										struct {
											struct {
												struct {
													struct {
													struct {
													struct {
													int bottom;
													} l15;
													} l14;
													} l13;
												} l12;
											} l11;
										} l10;
									} l9;
								} l8;
							} l7;
						} l6;
					} l5;
				} l4;
			} l3;
		} l2;
	} l1;
};


/* BPF kfuncs */
#ifndef BPF_NO_KFUNC_PROTOTYPES
#endif

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
