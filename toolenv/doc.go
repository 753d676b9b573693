// Package toolenv is the environment that makes BCC and bpftrace use a
// kernel header tree (kh env, kh exec): the variables, their shell
// quoting, and running a command with them.
//
// It must not find or fetch trees (package kheaders does) or compile
// anything (package compile does).
//
// # Environment for BCC and bpftrace
//
// Vars returns the variables, in a fixed order, that make BCC and
// bpftrace use a tree instead of /lib/modules/$(uname -r):
//
//   - BCC_KERNEL_SOURCE: libbcc (checked: Debian's 0.26) compiles with
//     -I flags relative to this directory, which it chdir(2)s into, and
//     uses it only if include/linux/kconfig.h exists; otherwise it falls
//     back to unpacking /sys/kernel/kheaders.tar.xz itself.
//   - BPFTRACE_KERNEL_SOURCE and BPFTRACE_KERNEL_BUILD: bpftrace
//     (checked: 0.17) takes the source and generated include directories
//     from them and always adds -include SOURCE/include/linux/kconfig.h.
//     kh sets both to the tree, so a stale BPFTRACE_KERNEL_BUILD cannot
//     mix two kernels.
//   - KH_HEADERS, KH_KIND, KH_RELEASE, KH_ARCH: the tree, for scripts.
//
// A BTF tree (kheaders.KindBTF: vmlinux.h and kconfig.h) is no use to
// either tool: BCC needs real headers, and bpftrace 0.17 fails on every
// program when BPFTRACE_KERNEL_SOURCE lacks include/linux/kconfig.h. For
// such a tree the tools' variables are unset (Var.Unset), bpftrace reads
// kernel types from the kernel's own BTF, and Warnings says so.
//
// Format renders variables as sh or fish commands for eval, quoted so
// that any path survives; Environ applies them to an environment list;
// Command and Exec run a program with them.
package toolenv
