package main

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/khtool/kh/btf"
	"github.com/khtool/kh/internal/atomicfile"
	"github.com/khtool/kh/registry"
	"github.com/spf13/cobra"
)

// btfCmd is `kh btf`: vmlinux.h from BTF, as bpftool writes it.
func (a *app) btfCmd() *cobra.Command {
	var (
		from, base, module, outFile, guard, format string
		splitOnly, unsorted, legacy                bool
		remote                                     remoteFlags
		af                                         adbFlags
	)
	cmd := &cobra.Command{
		Use:   "btf",
		Short: "Write vmlinux.h (C types for CO-RE BPF programs) from the kernel's BTF",
		Long: `btf writes the C header that CO-RE BPF programs include as vmlinux.h,
generated from BTF type information, byte for byte what
'bpftool btf dump file FILE format c' prints (bpftool v7.7.0, libbpf 1.7):
types sorted by kind and name, the __ksym, __weak and __bpf_fastcall macros
and the kfunc prototypes. One difference: bpftool v7.5.0 to v7.7.0 drop the
type that sorts first (an anonymous enum on real kernels); kh writes every
type. --unsorted writes the types in BTF ID order, as 'format c unsorted'.
--bpftool-v7.1 writes the shape of bpftool v7.1.0 to v7.4.0 (ID order, no
macros, no kfuncs), still with mode(byte) on 1-byte enums: Debian 12's
bpftool v7.1.0 omits it and so gets struct sizes wrong on modern kernels.

By default it reads the running kernel's BTF (` + btf.KernelPath + `).
--from reads raw BTF or an ELF file with a .BTF section (vmlinux, a kernel
module, a BPF object; gzip, xz or zstd compressed too). Split BTF (a
module's) needs its base: --module NAME reads ` + btf.ModulePath("NAME") + `
on top of ` + btf.KernelPath + ` (or --base), and --from FILE takes --base FILE
(by default ` + btf.KernelPath + ` for a FILE in its directory, as bpftool).
For split BTF the header holds the base's types and the module's, as
bpftool's does; --split-only keeps only what the module adds.

The header is generated completely before anything is written; -O writes
the file atomically.`,
		Example: `  kh btf > vmlinux.h
  kh btf -O vmlinux.h
  kh btf --from /boot/vmlinux-6.1.0 -O vmlinux.h
  kh btf --module nf_tables -O nf_tables.h
  kh btf --from mod.ko --base vmlinux.btf --split-only --guard __MOD_H__
  kh btf --unsorted -O vmlinux.h`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := checkOutput(format); err != nil {
				return err
			}
			if format == "json" && (outFile == "" || outFile == "-") {
				return usagef("-o json reports on the file written with -O; the header itself goes to stdout without -O")
			}
			if unsorted && legacy {
				return usagef("--unsorted and --bpftool-v7.1 are exclusive (v7.1's order is unsorted)")
			}
			if err := checkOutFile(outFile); err != nil {
				return err
			}
			if af.on() {
				if from != "" || module != "" || base != "" {
					return usagef("--adb reads the device's kernel BTF: not with --from, --module or --base")
				}
				tmp, err := a.pullADB(cmd.Context(), &af, readBTF)
				if err != nil {
					return err
				}
				defer os.Remove(tmp)
				from = tmp
			}
			if from != "" && module != "" {
				return usagef("--from and --module are exclusive")
			}
			if base != "" && from == "" && module == "" {
				return usagef("--base is the base of split BTF given with --from or --module")
			}
			if splitOnly && base == "" && module == "" && filepath.Dir(filepath.Clean(from)) != filepath.Dir(btf.KernelPath) {
				return usagef("--split-only needs split BTF: --module NAME, or --from FILE with --base FILE")
			}
			log := a.logger()
			repo, q, err := remote.open(a)
			if err != nil {
				return err
			}
			if repo != nil && (from != "" || module != "") && q != (registry.Query{}) {
				return usagef("--build-id and --release read a registry's BTF, not --from or --module")
			}
			var spec *btf.Spec
			src := from
			if _, serr := os.Stat(btf.KernelPath); repo != nil && from == "" && module == "" && (q != (registry.Query{}) || serr != nil) {
				data, e, err := pullLayer(cmd.Context(), repo, q, registry.BTF)
				if err != nil {
					return err
				}
				src = repo.Ref + ":" + registry.BuildIDTag(e.BuildID)
				if spec, err = btf.Parse(data); err != nil {
					return fmt.Errorf("%s: %w", src, err)
				}
			}

			var baseSpec *btf.Spec
			basePath := base
			// Like bpftool, take the kernel's BTF as the base of a
			// module's in /sys/kernel/btf.
			if basePath == "" && (module != "" ||
				(filepath.Dir(filepath.Clean(from)) == filepath.Dir(btf.KernelPath) && filepath.Clean(from) != btf.KernelPath)) {
				basePath = btf.KernelPath
			}
			if basePath != "" && spec == nil {
				log.Debug("reading base BTF", "path", basePath)
				s, err := btf.Load(basePath)
				if err != nil {
					return fmt.Errorf("base BTF: %w", err)
				}
				baseSpec = s
			}
			switch {
			case spec != nil:
			case module != "":
				src = btf.ModulePath(module)
			case src == "":
				src = btf.KernelPath
			}
			log.Debug("reading BTF", "path", src)
			if spec != nil {
				// From the registry.
			} else if module != "" {
				spec, err = btf.LoadModule(module, baseSpec)
				if errors.Is(err, fs.ErrNotExist) {
					return fmt.Errorf("module %s has no BTF at %s (not loaded, or a kernel without CONFIG_DEBUG_INFO_BTF_MODULES)", module, src)
				}
			} else {
				spec, err = btf.LoadSplit(src, baseSpec)
				if errors.Is(err, btf.ErrNeedBase) {
					return fmt.Errorf("%w; give the kernel's BTF with --base", err)
				}
			}
			if err != nil {
				return err
			}
			log.Debug("parsed BTF", "types", spec.NumTypes(), "own_from", spec.FirstID())

			if splitOnly && guard == "" {
				name := module
				if name == "" {
					name, _, _ = strings.Cut(filepath.Base(from), ".")
				}
				guard = btf.GuardFor(name)
			}
			opts := &btf.Options{Guard: guard, SplitOnly: splitOnly, Unsorted: unsorted, Legacy: legacy}
			header, err := btf.AppendC(cmd.Context(), nil, spec, opts)
			if err != nil {
				return fmt.Errorf("%s: %w", src, err)
			}
			if outFile == "" || outFile == "-" {
				_, err := a.stdout.Write(header)
				return err
			}
			if err := atomicfile.Write(outFile, 0o644, func(w io.Writer) error {
				_, err := w.Write(header)
				return err
			}); err != nil {
				return err
			}
			log.Debug("wrote header", "path", outFile, "bytes", len(header))
			if format == "json" {
				return a.printJSON(struct {
					Path   string `json:"path"`
					Source string `json:"source"`
					Base   string `json:"base,omitempty"`
					Types  int    `json:"types"`
					Bytes  int    `json:"bytes"`
				}{outFile, src, basePath, spec.NumTypes(), len(header)})
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVarP(&outFile, "output-file", "O", "", "write the header to `FILE` (atomically; - is stdout) instead of stdout")
	f.StringVar(&from, "from", "", "read BTF from `FILE`: raw BTF, or ELF with a .BTF section (default "+btf.KernelPath+")")
	f.StringVar(&base, "base", "", "base BTF `FILE` for split BTF given with --from or --module (default for --module: "+btf.KernelPath+")")
	f.StringVar(&module, "module", "", "read the split BTF of loaded module `NAME` from "+btf.ModulePath("NAME"))
	f.BoolVar(&splitOnly, "split-only", false, "for split BTF, write only the module's own declarations")
	f.BoolVar(&unsorted, "unsorted", false, "write the types in BTF ID order (bpftool's 'format c unsorted')")
	f.BoolVar(&legacy, "bpftool-v7.1", false, "write bpftool v7.1.0's shape: ID order, no __ksym/__weak/__bpf_fastcall macros, no kfunc prototypes")
	f.StringVar(&guard, "guard", "", "include-guard `MACRO` (default "+btf.DefaultGuard+"; with --split-only __NAME_H__ after the module or file)")
	remote.add(cmd, true)
	outputFlag(cmd, &format)
	af.add(cmd, false)
	cmd.RegisterFlagCompletionFunc("module", func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return btfModules(filepath.Dir(btf.KernelPath)), cobra.ShellCompDirectiveNoFileComp
	})
	return cmd
}
