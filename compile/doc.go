// Package compile is the compiler driver for BPF programs against a
// kernel header tree (kh cflags, kh build): the clang flags in the
// kernel's include order, and the clang (+ llc) pipeline that writes an
// object file atomically.
//
// It must not load or run what it builds (package loader does) or fetch
// trees (package kheaders does).
//
// # Compiling BPF programs
//
// CFlags returns the clang flags that compile a BPF C program against a
// tree, with absolute paths only. For a header tree they follow the
// kernel's own include order for the tree's architecture and target
// that architecture (--target=aarch64-linux-gnu for an arm64 tree, on
// any host): kernel headers hold the architecture's inline assembly,
// which clang rejects for -target bpf, so the program is compiled to
// LLVM IR for the kernel's architecture and then lowered to BPF with
// llc, as the kernel's samples/bpf do. For a BTF tree the flags are
// -target bpfel (or bpfeb) with the tree's vmlinux.h and kconfig.h, for
// CO-RE programs.
//
// Build runs that pipeline (clang, then llc for a header tree) and
// writes the object atomically: a failed build leaves no output file.
// Compiler diagnostics go to Options.Stderr and a *CompileError
// sums them up.
package compile
