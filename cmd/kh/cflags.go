package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/khtool/kh/compile"
	"github.com/khtool/kh/internal/shquote"
	"github.com/spf13/cobra"
)

func (a *app) cflagsCmd() *cobra.Command {
	var o cflagsOptions
	cmd := &cobra.Command{
		Use:   "cflags",
		Short: "Print the clang flags that compile a BPF program against the kernel's headers",
		Long: `Cflags fetches the kernel's headers (as kh fetch does) and prints the clang
flags that compile a BPF C program against them, as one shell-quoted line
(-o json: a list). Paths are absolute.

For a kernel header tree the flags target the kernel's own architecture
(--target=aarch64-linux-gnu for an arm64 tree, whatever the host): kernel
headers hold that architecture's inline assembly, which clang refuses for
-target bpf. Compile to LLVM IR, then lower it to BPF with llc, as the
kernel's samples/bpf do (kh build does both):

  clang $(kh cflags) -O2 -g -emit-llvm -c prog.bpf.c -o - | llc -march=bpfel -filetype=obj -o prog.bpf.o

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
	return cmd
}

// cflagsOptions are the flags of `kh cflags`.
type cflagsOptions struct {
	fetch  fetchFlags
	output string
	arch   string
}

// runCFlags is `kh cflags` once its command line is parsed.
func (a *app) runCFlags(ctx context.Context, o *cflagsOptions) error {
	t, err := a.fetchTree(ctx, o.output, &o.fetch)
	if err != nil {
		return err
	}
	flags, err := compile.CFlags(t, o.arch)
	if err != nil {
		return archUsage(err)
	}
	if o.output == "json" {
		return a.printJSON(flags)
	}
	_, err = fmt.Fprintln(a.stdout, shquote.Join(flags))
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
