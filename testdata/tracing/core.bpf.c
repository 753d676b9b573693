// SPDX-License-Identifier: GPL-2.0
/*
 * core.bpf.c: the program of task.bpf.c (see sleeps.h) as CO-RE, compiled
 * against a BTF tree (kh build with vmlinux.h and kconfig.h). The
 * task->tgid access is recorded as a CO-RE relocation, which the loader
 * resolves against the running kernel's BTF. kconfig.h turns CONFIG_
 * options into macros.
 */
#include "vmlinux.h"
#include "kh_helpers.h"

#ifndef CONFIG_BPF_SYSCALL
#error "kconfig.h was not included: CONFIG_BPF_SYSCALL is not defined"
#endif

#define TGID_ADDR(task) __builtin_preserve_access_index(&(task)->tgid)
#include "sleeps.h"
