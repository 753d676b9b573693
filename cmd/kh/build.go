package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/khtool/kh/compile"
)

// buildOptions are the arguments and flags of `kh build`.
type buildOptions struct {
	fetch       fetchFlags
	src         string   // the BPF C program
	object      string   // -O: the object file to write
	output      string   // -o: text or json
	arch        string   // --arch
	clang, llc  string   // --clang, --llc
	extraCFlags []string // after --
	libbpf      string   // --libbpf-include
}

func (a *app) buildCmd() *cobra.Command {
	var o buildOptions
	cmd := &cobra.Command{
		Use:   "build PROG.bpf.c [-O PROG.bpf.o] [-- CLANG FLAGS...]",
		Short: "Compile a BPF C program against the kernel's headers",
		Long: `Build fetches the kernel's headers (as kh fetch does) and compiles a BPF C
program against them into a BPF ELF object (-O FILE, by default PROG.bpf.o
beside PROG.bpf.c; -O - writes it to stdout), which kh run, libbpf or
cilium/ebpf load. It prints the object's path (-o json: {"object": PATH}).
libbpf's headers (<bpf/bpf_helpers.h>, ...) come from libbpf-dev or
--libbpf-include DIR, as for kh cflags. The object is written
atomically: a failed build leaves no file behind. Flags after -- go to
clang after kh's own.

For a kernel header tree, clang compiles for the kernel's architecture to
LLVM IR, with the flags of kh cflags, and llc lowers that to BPF: kernel
headers carry inline assembly that clang rejects for -target bpf. An arm64
tree builds on an x86_64 host. For a BTF tree, clang compiles with
-target bpfel directly, for CO-RE. Both use -O2 -g, so the object has BTF.

Needs clang (Debian package clang) and, for header trees, llc (llvm).
Compiler diagnostics go to stderr; then kh prints one summary line.`,
		Example: `  kh build trace.bpf.c
  kh build --from device/kheaders.tar.xz trace.bpf.c -O trace-arm64.bpf.o
  kh build trace.bpf.c -- -DDEBUG -I include`,
		Args: minArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			n := len(args)
			if dash := cmd.ArgsLenAtDash(); dash >= 0 {
				n = dash
			}
			if n != 1 {
				return usagef("want one program to build (then -- and clang flags), got %d arguments: %s", n, strings.Join(args[:n], " "))
			}
			o.src, o.extraCFlags = args[0], args[1:]
			return a.runBuild(cmd.Context(), &o)
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&o.object, "object", "O", "", "object file to write (default: PROG.bpf.o for PROG.bpf.c)")
	outputFlag(cmd, &o.output)
	fl.StringVar(&o.arch, "arch", "", "kernel architecture to compile for (default: the tree's)")
	completeValues(cmd, "arch", compile.Architectures()...)
	fl.StringVar(&o.clang, "clang", "", "clang to run (default: clang, else the newest clang-NN in $PATH)")
	fl.StringVar(&o.llc, "llc", "", "llc to run (default: the one beside clang, else llc in $PATH)")
	libbpfFlag(cmd, &o.libbpf)
	o.fetch.add(cmd)
	o.fetch.adb = &adbFlags{}
	o.fetch.adb.add(cmd, false)
	return cmd
}

// runBuild is `kh build` once its command line is parsed.
func (a *app) runBuild(ctx context.Context, o *buildOptions) error {
	if o.output != "text" && o.output != "json" {
		return usagef("-o is the output format (text or json), not the object file: write the object with -O %s", o.output)
	}
	out := o.object
	if out == "" {
		out = strings.TrimSuffix(o.src, ".c") + ".o"
	}
	if out == "-" && o.output == "json" {
		return usagef("-O - writes the object to stdout, where -o json would go too: drop one")
	}
	if err := checkOutFile(out); err != nil {
		return err
	}
	if err := compile.CheckOptions(compile.Options{Arch: o.arch, LibbpfInclude: o.libbpf}); err != nil {
		return libbpfAdvice(archUsage(err))
	}
	t, hold, err := a.fetchHeld(ctx, &o.fetch)
	if err != nil {
		return err
	}
	if hold != nil {
		defer hold.Release() // kh clean keeps the tree while clang reads it
	}
	opts := compile.Options{
		Arch:          o.arch,
		Clang:         o.clang,
		LLC:           o.llc,
		Flags:         o.extraCFlags,
		Stderr:        a.stderr,
		Log:           a.logger(),
		LibbpfInclude: o.libbpf,
	}
	if out == "-" {
		err = compile.BuildTo(ctx, t, o.src, a.stdout, opts)
	} else {
		err = compile.Build(ctx, t, o.src, out, opts)
	}
	var mt *compile.MissingToolError
	if errors.As(err, &mt) {
		return fmt.Errorf("%w, or name it with --%s", err, mt.Tool)
	}
	if err != nil {
		return libbpfAdvice(archUsage(err))
	}
	if out == "-" {
		return nil
	}
	if o.output == "json" {
		return a.printJSON(map[string]string{"object": out})
	}
	_, err = fmt.Fprintln(a.stdout, out)
	return err
}
