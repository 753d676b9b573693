// SPDX-License-Identifier: GPL-2.0
/*
 * uprobe_target.c: the user program uprobe.bpf.c probes. build.sh builds
 * it as OUTDIR/kh-uprobe-target (statically when it can, so it also runs
 * in a minimal guest of the same architecture).
 */
#include <stdio.h>

__attribute__((noinline)) int kh_uprobe_target(int x)
{
	asm volatile("" : "+r"(x));
	return x * 3 + 1;
}

int main(void)
{
	int v = 0;

	for (int i = 0; i < 3; i++)
		v = kh_uprobe_target(v);
	printf("%d\n", v);
	return 0;
}
