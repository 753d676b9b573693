// SPDX-License-Identifier: GPL-2.0
/* broken.bpf.c: a program with a compile error, for kh build's error path. */
#include <linux/sched.h>

int broken(void *ctx)
{
	return no_such_variable;
}
