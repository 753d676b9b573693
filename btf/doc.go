// Package btf turns a kernel's BTF type information into vmlinux.h, the C
// header that CO-RE BPF programs include, as upstream bpftool v7.7.0
// writes it with `bpftool btf dump file FILE format c`, and right for
// every type.
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
// BTF of Linux 7.1 and later (libbpf after v1.7) is read too: the 32-byte
// header with its layout section, 24-bit vlen and 7-bit kinds. What kh
// cannot read without guessing (another version, header fields or header
// flags it does not know, a kind after ENUM64, a layout section that lays
// a known kind out otherwise) is refused with ErrUnsupported.
//
// # Output
//
// WriteC writes what bpftool v7.7.0 (libbpf 1.7) writes: the include
// guard and bpftool's `#pragma clang attribute push
// (__attribute__((preserve_access_index)), apply_to = record)` block,
// which makes every field access in the BPF program relocatable; the
// __ksym, __weak and __bpf_fastcall macros; the types, sorted as bpftool
// sorts them (by a rank: anonymous enums, named enums, integers and
// floats, named structs and unions, named prototypes, the rest; then by
// name, by a hash of the members' names, by ID), each preceded by what
// it needs by value, with forward declarations where a pointer allows;
// and a `/* BPF kfuncs */` block of `extern ... __weak __ksym;`
// prototypes for the functions with a bpf_kfunc decl tag (sorted by
// name, __bpf_fastcall where a bpf_fastcall tag says so). Within that,
// libbpf's C writer (btf_dump.c) is reproduced: anonymous structs,
// unions and enums written inline; ___2, ___3 suffixes for names used
// twice, in the order they are first printed; bitfields, explicit
// padding (`long: 64;`) and __attribute__((packed)) derived from the
// member offsets and sizes; mode(byte) on 1-byte enums and mode(word) on
// 8-byte ones that C would make 4 bytes; ENUM64 values with LL/ULL
// suffixes; C's inside-out declarators for prototypes, pointers, arrays,
// qualifiers and type tags (a tag with the kind flag set is an attribute
// of its own, __attribute__((address_space(1))) for BPF arena pointers).
// Options.Unsorted keeps BTF ID order (bpftool's `format c unsorted`);
// Options.Legacy writes the shape of bpftool v7.1.0 to v7.4.0 (ID order,
// no macros, no kfuncs).
//
// Differences from bpftool v7.7.0, all deliberate: bpftool v7.5.0 to
// v7.7.0 never write the type that sorts first (on real kernels an
// anonymous enum, such as Linux 6.18's ACOMP_WALK_SLEEP); WriteC writes
// every type. And where libbpf gets a layout wrong, WriteC writes it
// right (every record of the test kernels' BTF is checked against the
// BTF by compiling static assertions, the "truth test"): a union larger
// than its members (release_pages_arg of Linux 6.12 and later: libbpf
// writes an empty union, 0 bytes for 8) gets an unnamed bitfield; and,
// in BTF that no kernel at hand has, 2-byte enums (mode(HI)), 8-byte
// enums with 4-byte pointers (mode(DI)), legacy bitfields (the width in
// the member's INT), a bitfield that C would pack closer than BTF puts
// it, and packed unions.
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
