package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/khtool/kh/compile"
	"github.com/spf13/cobra"
)

func (a *app) buildCmd() *cobra.Command {
	var ff fetchFlags
	var out, arch, clang, llc string
	cmd := &cobra.Command{
		Use:   "build PROG.bpf.c [-o PROG.bpf.o] [-- CLANG FLAGS...]",
		Short: "Compile a BPF C program against the kernel's headers",
		Long: `Build fetches the kernel's headers (as kh fetch does) and compiles a BPF C
program against them into a BPF ELF object (by default PROG.bpf.o beside
PROG.bpf.c), which kh run, libbpf or cilium/ebpf load. It prints the
object's path. The object is written atomically: a failed build leaves no
file behind. Flags after -- go to clang after kh's own.

For a kernel header tree, clang compiles for the kernel's architecture to
LLVM IR, with the flags of kh cflags, and llc lowers that to BPF: kernel
headers carry inline assembly that clang rejects for -target bpf. An arm64
tree builds on an x86_64 host. For a BTF tree, clang compiles with
-target bpfel directly, for CO-RE. Both use -O2 -g, so the object has BTF.

Needs clang (Debian package clang) and, for header trees, llc (llvm).
Compiler diagnostics go to stderr; then kh prints one summary line.`,
		Example: `  kh build trace.bpf.c
  kh build --from device/kheaders.tar.xz trace.bpf.c -o trace-arm64.bpf.o
  kh build trace.bpf.c -- -DDEBUG -I include`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := len(args)
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				n = dash
			}
			if n != 1 {
				return usagef("want one program to build (then -- and clang flags), got %d arguments: %s", n, strings.Join(args[:n], " "))
			}
			src := args[0]
			if out == "" {
				out = strings.TrimSuffix(src, ".c") + ".o"
			}
			t, err := a.fetch(cmd.Context(), &ff)
			if err != nil {
				return err
			}
			err = compile.Build(cmd.Context(), t, src, out, compile.Options{
				Arch:   arch,
				Clang:  clang,
				LLC:    llc,
				Flags:  args[1:],
				Stderr: a.stderr,
				Log:    a.logger(),
			})
			var mt *compile.MissingToolError
			if errors.As(err, &mt) {
				return fmt.Errorf("%w, or name it with --%s", err, mt.Tool)
			}
			if err != nil {
				return archUsage(err)
			}
			_, err = fmt.Fprintln(a.stdout, out)
			return err
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&out, "output", "o", "", "object file to write (default: PROG.bpf.o for PROG.bpf.c)")
	fl.StringVar(&arch, "arch", "", "kernel architecture to compile for (default: the tree's)")
	fl.StringVar(&clang, "clang", "", "clang to run (default: clang, else the newest clang-NN in $PATH)")
	fl.StringVar(&llc, "llc", "", "llc to run (default: the one beside clang, else llc in $PATH)")
	ff.add(cmd)
	return cmd
}
