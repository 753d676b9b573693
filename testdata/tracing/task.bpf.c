// SPDX-License-Identifier: GPL-2.0
/*
 * task.bpf.c: a kprobe that counts do_nanosleep calls per process (see
 * sleeps.h), compiled against a kernel header tree (kh build with a
 * kheaders tree). It includes real kernel headers and reads task->tgid
 * with bpf_probe_read_kernel, so the field offset in the object is that of
 * the tree's kernel and architecture: the tests check it against the
 * kernel's BTF.
 */
#include <linux/sched.h>
#include <linux/ptrace.h>
#include <uapi/linux/bpf.h>
#include "kh_helpers.h"

#define TGID_ADDR(task) (&(task)->tgid)
#include "sleeps.h"
