# SPDX-License-Identifier: GPL-2.0
"""bcc_sched.py RELEASE: compile a BCC program that includes kernel headers.

The program includes <linux/sched.h> and reads task_struct fields, and it
asserts at compile time that the headers are those of kernel RELEASE (their
UTS_RELEASE), so it compiles only against that kernel's tree: with kh exec
--from that kernel's kheaders, BCC_KERNEL_SOURCE points there.

Compilation and loading are told apart: BPF(text=...) only compiles the
program (and creates its maps); load_func then loads it into the running
kernel, which may refuse headers of another kernel.

Prints COMPILED, then LOADED or LOAD FAILED: ...; exits 0. On a compile
failure prints COMPILE FAILED: ... and exits 3 (BCC's own diagnostics are
on stderr).
"""
import sys

from bcc import BPF

RELEASE = sys.argv[1]

PROGRAM = r"""
#include <linux/sched.h>
#include <generated/utsrelease.h>

_Static_assert(__builtin_strcmp(UTS_RELEASE, "%s") == 0,
               "the kernel headers are not those of the expected kernel");

BPF_HASH(sleeps, u32, u64);

int count_sleeps(struct pt_regs *ctx)
{
    struct task_struct *task = (struct task_struct *)bpf_get_current_task();
    u32 tgid = 0;

    bpf_probe_read_kernel(&tgid, sizeof(tgid), &task->tgid);
    sleeps.increment(tgid);
    return 0;
}
""" % RELEASE

try:
    b = BPF(text=PROGRAM)
except Exception as e:  # BCC raises a plain Exception on compile errors
    print("COMPILE FAILED: %s" % e, flush=True)
    sys.exit(3)
print("COMPILED", flush=True)
try:
    b.load_func("count_sleeps", BPF.KPROBE)
    print("LOADED", flush=True)
except Exception as e:
    print("LOAD FAILED: %s" % e, flush=True)
