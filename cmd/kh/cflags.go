package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/khtool/kh/compile"
	"github.com/spf13/cobra"
)

func (a *app) cflagsCmd() *cobra.Command {
	var o cflagsOptions
	cmd := &cobra.Command{
		Use:   "cflags",
		Short: "Print the clang flags that compile a BPF program against the kernel's headers",
		Long: `Cflags fetches the kernel's headers (as kh fetch does) and prints the clang
flags that compile a BPF C program against them, as one line made for the
shell's $(kh cflags), which splits words but removes no quotes (-o json: a
list). Paths are absolute. A define that is a string literal
(KBUILD_MODNAME "kh") is in a header kh adds to the tree, which the flags
-include.

libbpf's headers (#include <bpf/bpf_helpers.h>, bpf_tracing.h,
bpf_core_read.h) come from libbpf-dev (` + compile.LibbpfDefault + `/bpf) or
--libbpf-include DIR, added with -idirafter: after the kernel's headers, so
that the host's C library headers never replace a kernel header.

For a kernel header tree the flags target the kernel's own architecture
(--target=aarch64-linux-gnu for an arm64 tree, whatever the host): kernel
headers hold that architecture's inline assembly, which clang refuses for
-target bpf. Compile to LLVM IR, then lower it to BPF with llc, as the
kernel's samples/bpf do (kh build does both):

  clang $(kh cflags) -O2 -g -emit-llvm -c prog.bpf.c -o - | llc -march=bpf -filetype=obj -o prog.bpf.o

For a BTF tree (vmlinux.h) they are for a CO-RE program:
-target bpfel -I TREE -include TREE/kconfig.h -D__TARGET_ARCH_ARCH.

--arch names the architecture (x86, arm64, ... or aarch64, x86_64); by
default it is the tree's.`,
		Example: `  kh cflags
  kh cflags --from device/kheaders.tar.xz -o json`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runCFlags(cmd.Context(), &o) },
	}
	o.fetch.add(cmd)
	o.fetch.adb = &adbFlags{}
	o.fetch.adb.add(cmd, false)
	outputFlag(cmd, &o.output)
	cmd.Flags().StringVar(&o.arch, "arch", "", "kernel architecture to compile for (default: the tree's)")
	completeValues(cmd, "arch", compile.Architectures()...)
	libbpfFlag(cmd, &o.libbpf)
	return cmd
}

// libbpfFlag adds --libbpf-include to cmd.
func libbpfFlag(cmd *cobra.Command, dst *string) {
	cmd.Flags().StringVar(dst, "libbpf-include", "", "include `DIR` of libbpf's headers, holding bpf/bpf_helpers.h (default: libbpf-dev's "+compile.LibbpfDefault+", if installed)")
}

// libbpfAdvice adds what to do to an error about libbpf's headers.
func libbpfAdvice(err error) error {
	var le *compile.LibbpfError
	if errors.As(err, &le) {
		return usagef("--libbpf-include: %v", err)
	}
	var ce *compile.CompileError
	if errors.As(err, &ce) && ce.MissingLibbpf {
		return fmt.Errorf("%w: install libbpf-dev (apt-get install libbpf-dev), or name their directory with --libbpf-include DIR", err)
	}
	return err
}

// cflagsOptions are the flags of `kh cflags`.
type cflagsOptions struct {
	fetch  fetchFlags
	output string
	arch   string
	libbpf string // --libbpf-include
}

// runCFlags is `kh cflags` once its command line is parsed.
func (a *app) runCFlags(ctx context.Context, o *cflagsOptions) error {
	copts := compile.Options{Arch: o.arch, LibbpfInclude: o.libbpf}
	if err := compile.CheckOptions(copts); err != nil {
		return libbpfAdvice(archUsage(err))
	}
	t, err := a.fetchTree(ctx, o.output, &o.fetch)
	if err != nil {
		return err
	}
	flags, err := compile.CFlagsFor(t, copts)
	if err != nil {
		return libbpfAdvice(archUsage(err))
	}
	if o.output == "json" {
		return a.printJSON(flags)
	}
	line, err := compile.ShellWords(flags)
	if err != nil {
		return fmt.Errorf("%w: use kh cflags -o json", err)
	}
	_, err = fmt.Fprintln(a.stdout, line)
	return err
}

// archUsage makes an unknown --arch a usage error.
func archUsage(err error) error {
	var ua *compile.UnknownArchError
	if errors.As(err, &ua) {
		return usagef("--arch: %v", err)
	}
	return err
}
