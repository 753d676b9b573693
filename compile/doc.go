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
// No flag holds a quote, so ShellWords prints them as one line that a
// shell's $(kh cflags) splits back into the same words: KBUILD_MODNAME,
// a string literal, comes from the tree's kheaders.DefinesHeader, which
// the flags -include (a tree without it, used in place, gets the define
// unquoted, which $(...) passes through as is).
//
// CFlagsFor and Build add libbpf's headers (bpf/bpf_helpers.h, ...),
// from Options.LibbpfInclude or libbpf-dev's LibbpfDefault, with
// -idirafter: after the kernel's and clang's headers, so that nothing in
// /usr/include (the host's C library, its own linux/ headers) can take a
// kernel header's place. CheckOptions checks Arch and LibbpfInclude
// before a tree is fetched.
//
// Build runs that pipeline (clang, then llc for a header tree) and
// writes the object atomically: a failed build leaves no output file.
// BuildTo writes it to a writer instead, only once it is complete.
// Compiler diagnostics go to Options.Stderr and a *CompileError
// sums them up (MissingLibbpf: the program includes libbpf's headers
// and none are installed).
package compile
