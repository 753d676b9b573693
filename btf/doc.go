// Package btf turns a kernel's BTF type information into vmlinux.h, the C
// header that CO-RE BPF programs include, byte for byte as
// `bpftool btf dump file FILE format c` writes it.
//
// Many kernels (distribution and Android kernels) describe their types in
// BTF (/sys/kernel/btf/vmlinux) but ship no headers, and devices have no
// bpftool. This package does bpftool's job in Go:
//
//	spec, err := btf.LoadKernel()            // or btf.Load(path)
//	...
//	err = btf.WriteC(ctx, w, spec, nil)      // vmlinux.h
//
// # Input
//
// Load and Parse read raw BTF (/sys/kernel/btf/vmlinux, or a vmlinux.btf
// extracted with objcopy) or an ELF file with a .BTF section (vmlinux, a
// kernel module, a BPF object), optionally compressed with gzip, xz or
// zstd. A kernel module's BTF is split BTF: it extends the kernel's and is
// parsed on top of it with LoadSplit, ParseSplit or LoadModule. Errors say
// what is wrong in one line and can be told apart with errors.Is:
// ErrNotBTF, ErrCorrupt, ErrNeedBase (split BTF given without its base)
// and ErrBaseMismatch (split BTF on a base it was not built for).
//
// Inputs are checked as the kernel's BTF verifier would (references in
// range and to kinds that make sense, no loops that C cannot express),
// and the writer bounds its recursion, work and output (MaxOutput), so
// hostile BTF gives an error rather than a crash or a runaway.
//
// # Output
//
// WriteC reproduces the C type writer of libbpf 1.1 (btf_dump.c, as in
// bpftool v7.1.0 of Debian 12): types are visited in ID order and each is
// preceded by what it needs by value, with forward declarations where a
// pointer allows; anonymous structs, unions and enums are written inline;
// names used twice get ___2, ___3 suffixes in the order they are first
// printed; bitfields, explicit padding (`long: 64;`) and
// __attribute__((packed)) are derived from the member offsets and sizes;
// ENUM64 values get LL/ULL suffixes and enum signedness is honoured;
// function prototypes, pointers and arrays of them, const, volatile,
// restrict and btf_type_tag come out in C's inside-out declarator syntax;
// and the whole is wrapped in bpftool's include guard and its
// `#pragma clang attribute push (__attribute__((preserve_access_index)),
// apply_to = record)` block, which makes every field access in the BPF
// program relocatable. Newer libbpf versions print some things
// differently (alignment attributes, for one); the reference here is
// libbpf 1.1.
//
// For split BTF, bpftool (and so WriteC) writes the base's types and the
// module's in one header. Options.SplitOnly writes only what the module
// adds, under an include guard of its own, for inclusion after the base's
// vmlinux.h.
//
// # cilium/ebpf
//
// The parser reads the BTF wire format itself rather than through
// github.com/cilium/ebpf/btf, whose Spec loses what the header depends on
// (ENUM vs ENUM64, legacy bitfields, DECL_TAG targets; it also rejects a
// DECL_TAG on an enum) and which takes about as long to inflate a kernel's
// types as bpftool takes for the whole job. Spec.Cilium hands the same
// BTF to cilium/ebpf for its type-graph API, and FromTypes builds a Spec
// from types made with cilium/ebpf in Go.
package btf
