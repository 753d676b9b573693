// SPDX-License-Identifier: GPL-2.0
/*
 * uprobe_target.c: the user program uprobe.bpf.c probes. It needs no C
 * library (it makes its two system calls itself), so build.sh builds it
 * as OUTDIR/kh-uprobe-target, static, for x86_64 or arm64 with clang and
 * ld.lld alone: it runs in a minimal guest of either architecture.
 *
 * It calls kh_uprobe_target three times and prints the result, "13".
 */

__attribute__((noinline)) int kh_uprobe_target(int x)
{
	asm volatile("" : "+r"(x));
	return x * 3 + 1;
}

#if defined(__x86_64__)
#define SYS_WRITE 1
#define SYS_EXIT 60
static long sys3(long nr, long a, long b, long c)
{
	long ret;

	asm volatile("syscall"
		     : "=a"(ret)
		     : "a"(nr), "D"(a), "S"(b), "d"(c)
		     : "rcx", "r11", "memory");
	return ret;
}
#elif defined(__aarch64__)
#define SYS_WRITE 64
#define SYS_EXIT 93
static long sys3(long nr, long a, long b, long c)
{
	register long x8 asm("x8") = nr;
	register long x0 asm("x0") = a;
	register long x1 asm("x1") = b;
	register long x2 asm("x2") = c;

	asm volatile("svc #0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2) : "memory");
	return x0;
}
#else
#error "uprobe_target.c: x86_64 or aarch64 only"
#endif

#if defined(__x86_64__)
/* The kernel enters _start with the stack 16-byte aligned, not as after a call. */
__attribute__((force_align_arg_pointer))
#endif
void _start(void)
{
	char buf[16];
	int v = 0, n = sizeof(buf);

	for (int i = 0; i < 3; i++)
		v = kh_uprobe_target(v);
	buf[--n] = '\n';
	do {
		buf[--n] = '0' + v % 10;
		v /= 10;
	} while (v > 0);
	sys3(SYS_WRITE, 1, (long)(buf + n), sizeof(buf) - n);
	sys3(SYS_EXIT, 0, 0, 0);
	__builtin_unreachable();
}
