#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
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

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
