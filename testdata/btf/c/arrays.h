#ifndef __VMLINUX_H__
#define __VMLINUX_H__

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
#endif

typedef char buf_t[16];

struct arrs {
	int one[3];
	int two[2][4];
	char three[1][2][3];
	int *ptrs[5];
	int (*to_arr)[7];
	int (*(*weird)[2])[3];
	long zero[0];
};

struct flex {
	int n;
	char data[0];
};

#ifndef BPF_NO_PRESERVE_ACCESS_INDEX
#pragma clang attribute pop
#endif

#endif /* __VMLINUX_H__ */
