package compile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/khtool/kh/internal/kernel"
	"github.com/khtool/kh/kheaders"
)

// Architectures lists the kernel architectures (SRCARCH) CFlags and Build
// know a clang target for. x86 and arm64 are tested against real
// kernels; the others follow the kernel's Makefiles.
func Architectures() []string {
	return []string{"x86", "arm64", "arm", "riscv", "s390", "powerpc", "mips", "loongarch"}
}

// UnknownArchError is an architecture CFlags and Build do not know.
type UnknownArchError struct{ Arch string }

func (e *UnknownArchError) Error() string {
	return fmt.Sprintf("unknown architecture %q (want one of %s)", e.Arch, strings.Join(Architectures(), ", "))
}

// silencedWarnings are the warnings that kernel headers trigger under
// clang and that say nothing about a BPF program: the list of the
// kernel's samples/bpf.
func silencedWarnings() []string {
	return []string{
		"-Wno-unused-value",
		"-Wno-pointer-sign",
		"-Wno-compare-distinct-pointer-types",
		"-Wno-gnu-variable-sized-type-not-at-end",
		"-Wno-address-of-packed-member",
		"-Wno-tautological-compare",
		"-Wno-unknown-warning-option",
	}
}

// compilePlan is what CFlags and Build derive from a tree.
type compilePlan struct {
	libbpf string // the directory holding bpf/bpf_helpers.h, or ""
	tree   *kheaders.Tree
	arch   string   // SRCARCH
	flags  []string // CFlags
	triple string   // clang target of the kernel's architecture (header trees)
	bpf    string   // BPF target: bpfel or bpfeb
}

// CFlags returns the clang flags that compile a BPF C program against
// tree t, for architecture arch (a SRCARCH such as "arm64", or a machine
// name such as "aarch64"; "" means the tree's). Every path is absolute.
//
// For a header tree (kheaders.KindHeaders) the flags are: the clang
// target of the kernel's architecture, -nostdinc, the include
// directories in the kernel's order (arch/ARCH/include,
// arch/ARCH/include/generated, include, arch/ARCH/include/uapi,
// arch/ARCH/include/generated/uapi, include/uapi, include/generated/uapi),
// -include include/linux/kconfig.h, -include kheaders.DefinesHeader
// (KBUILD_MODNAME "kh"; a tree kh did not extract gets
// -DKBUILD_MODNAME="kh" instead), -D__KERNEL__, -D__BPF_TRACING__,
// -D__TARGET_ARCH_ARCH, the defines the kernel's arch Makefile adds,
// -fno-stack-protector and the warnings kernel headers trigger.
// CFlagsFor adds libbpf's headers. Compile with them to LLVM IR and lower it to BPF:
//
//	clang $(kh cflags) -O2 -g -emit-llvm -c prog.bpf.c -o - | llc -march=bpf -filetype=obj -o prog.bpf.o
//
// For a BTF tree (kheaders.KindBTF) they are -target bpfel (bpfeb for a
// big-endian kernel), -I of the tree (for vmlinux.h), -include of its
// kconfig.h and -D__TARGET_ARCH_ARCH; add -O2 -g -c.
func CFlags(t *kheaders.Tree, arch string) ([]string, error) {
	p, err := planCompile(t, arch, libbpfDir{})
	if err != nil {
		return nil, err
	}
	return p.flags, nil
}

// CFlagsFor is CFlags for opts.Arch plus libbpf's headers, as Build
// compiles (the other fields of opts are Build's).
//
// libbpf's headers (bpf/bpf_helpers.h, bpf/bpf_tracing.h,
// bpf/bpf_core_read.h) are found in opts.LibbpfInclude, else where
// Debian's libbpf-dev puts them (LibbpfDefault). Their directory is
// added with -idirafter: searched after the kernel's headers and
// clang's, so that none of the host's headers in it (/usr/include's C
// library) can take the place of a kernel header. An opts.LibbpfInclude
// without bpf/bpf_helpers.h is an error (*LibbpfError); a missing
// default is not (programs that do not include libbpf do not need it;
// a failed build says so, see CompileError.MissingLibbpf).
func CFlagsFor(t *kheaders.Tree, opts Options) ([]string, error) {
	p, err := planCompile(t, opts.Arch, opts.libbpf())
	if err != nil {
		return nil, err
	}
	return p.flags, nil
}

// CheckOptions checks what of opts can be checked without a tree: that
// opts.Arch, if set, is a known architecture (*UnknownArchError) and
// that opts.LibbpfInclude, if set, holds libbpf's headers
// (*LibbpfError). Callers check a command line with it before fetching.
func CheckOptions(opts Options) error {
	if opts.Arch != "" && !slices.Contains(Architectures(), kernel.SrcArch(opts.Arch)) {
		return &UnknownArchError{Arch: opts.Arch}
	}
	if opts.LibbpfInclude != "" {
		if _, err := opts.libbpf().find(); err != nil {
			return err
		}
	}
	return nil
}

// LibbpfDefault is the include directory of libbpf's headers that
// Debian's libbpf-dev installs (/usr/include/bpf/bpf_helpers.h).
const LibbpfDefault = "/usr/include"

// libbpfProbe is the header that marks a directory as libbpf's.
const libbpfProbe = "bpf/bpf_helpers.h"

// LibbpfError is a libbpf include directory without libbpf's headers.
type LibbpfError struct{ Dir string }

func (e *LibbpfError) Error() string {
	return fmt.Sprintf("%s has no %s: not an include directory of libbpf's headers", e.Dir, libbpfProbe)
}

// libbpfDir is where to look for libbpf's headers; the zero value
// means nowhere.
type libbpfDir struct {
	dir   string
	named bool // by the caller: it must hold them
}

// find returns the libbpf include directory to use: a named one, which
// must hold libbpf's headers, else the default if it does, else "".
func (l libbpfDir) find() (string, error) {
	if l.dir == "" {
		return "", nil
	}
	abs, err := filepath.Abs(l.dir)
	if err != nil {
		return "", err
	}
	if hasFile(abs, libbpfProbe) {
		return abs, nil
	}
	if l.named {
		return "", &LibbpfError{Dir: l.dir}
	}
	return "", nil
}

func planCompile(t *kheaders.Tree, arch string, libbpf libbpfDir) (*compilePlan, error) {
	if err := knownKind(t); err != nil {
		return nil, err
	}
	if !filepath.IsAbs(t.Path) {
		return nil, fmt.Errorf("tree path %q is not absolute", t.Path)
	}
	a, err := resolveArch(t, arch)
	if err != nil {
		return nil, err
	}
	lib, err := libbpf.find()
	if err != nil {
		return nil, err
	}
	p := &compilePlan{tree: t, arch: a, libbpf: lib}
	if t.Kind == kheaders.KindBTF {
		err = p.planBTF()
	} else {
		err = p.planHeaders()
	}
	if err != nil {
		return nil, err
	}
	// A BTF tree compiles with -target bpf, whose search path already
	// ends in /usr/include; only a named directory is added.
	if lib != "" && (t.Kind != kheaders.KindBTF || libbpf.named) {
		p.flags = append(p.flags, "-idirafter", lib)
	}
	return p, nil
}

// resolveArch picks the SRCARCH to compile for.
func resolveArch(t *kheaders.Tree, arch string) (string, error) {
	if arch == "" {
		if t.Arch == "" {
			return "", fmt.Errorf("%s: the tree does not say its architecture; name one (one of %s)", t.Path, strings.Join(Architectures(), ", "))
		}
		arch = t.Arch
	}
	a := kernel.SrcArch(arch)
	known := false
	for _, k := range Architectures() {
		known = known || k == a
	}
	if !known {
		return "", &UnknownArchError{Arch: arch}
	}
	if t.Arch != "" && a != t.Arch {
		if t.Kind == kheaders.KindBTF {
			return "", fmt.Errorf("%s: the BTF tree describes a kernel for %s, not %s", t.Path, t.Arch, a)
		}
		if fi, err := os.Stat(filepath.Join(t.Path, "arch", a, "include")); err != nil || !fi.IsDir() {
			return "", fmt.Errorf("%s: the tree holds %s headers and has no arch/%s/include", t.Path, t.Arch, a)
		}
	}
	return a, nil
}

func (p *compilePlan) planHeaders() error {
	root := p.tree.Path
	if !hasFile(root, "include/linux/kconfig.h") {
		return fmt.Errorf("%s: not a kernel header tree: no include/linux/kconfig.h", root)
	}
	cfg, err := readConfigHeader(filepath.Join(root, "include/generated/autoconf.h"))
	if err != nil {
		return fmt.Errorf("%s: not a configured kernel header tree: %w", root, err)
	}
	p.triple = clangTriple(p.arch, cfg)
	p.bpf = bpfTarget(p.arch, cfg)
	arch := filepath.Join(root, "arch", p.arch)
	f := []string{
		"--target=" + p.triple,
		"-nostdinc",
		// The kernel's LINUXINCLUDE and USERINCLUDE, in its order.
		"-I" + filepath.Join(arch, "include"),
		"-I" + filepath.Join(arch, "include/generated"),
		"-I" + filepath.Join(root, "include"),
		"-I" + filepath.Join(arch, "include/uapi"),
		"-I" + filepath.Join(arch, "include/generated/uapi"),
		"-I" + filepath.Join(root, "include/uapi"),
		"-I" + filepath.Join(root, "include/generated/uapi"),
		"-include", filepath.Join(root, "include/linux/kconfig.h"),
		"-D__KERNEL__",
		"-D__BPF_TRACING__",
		"-D__TARGET_ARCH_" + p.arch,
	}
	// KBUILD_MODNAME is a string literal; the header keeps the quotes
	// off the command line (a shell keeps them in $(kh cflags)).
	if hasFile(root, kheaders.DefinesHeader) {
		f = append(f, "-include", filepath.Join(root, kheaders.DefinesHeader))
	} else {
		f = append(f, `-DKBUILD_MODNAME="kh"`)
	}
	f = append(f, archDefines(p.arch, cfg)...)
	f = append(f, "-fno-stack-protector", "-fno-asynchronous-unwind-tables")
	p.flags = append(f, silencedWarnings()...)
	return nil
}

func (p *compilePlan) planBTF() error {
	root := p.tree.Path
	for _, name := range []string{kheaders.BTFHeader, kheaders.BTFConfigHeader} {
		if !hasFile(root, name) {
			return fmt.Errorf("%s: not a BTF tree: no %s", root, name)
		}
	}
	cfg, err := readConfigHeader(filepath.Join(root, kheaders.BTFConfigHeader))
	if err != nil {
		return fmt.Errorf("%s: %w", root, err)
	}
	p.bpf = bpfTarget(p.arch, cfg)
	p.flags = []string{
		"-target", p.bpf,
		"-I" + root,
		"-include", filepath.Join(root, kheaders.BTFConfigHeader),
		"-D__TARGET_ARCH_" + p.arch,
	}
	return nil
}

// archDefines are the -D flags a kernel's arch Makefile adds that its
// headers rely on.
func archDefines(arch string, cfg configHeader) []string {
	switch arch {
	case "arm64":
		// arch/arm64/Makefile: the KASAN shadow scale, used by asm/memory.h.
		switch {
		case cfg.set("CONFIG_KASAN_SW_TAGS"):
			return []string{"-DKASAN_SHADOW_SCALE_SHIFT=4"}
		case cfg.set("CONFIG_KASAN_GENERIC"):
			return []string{"-DKASAN_SHADOW_SCALE_SHIFT=3"}
		}
	case "arm":
		// arch/arm/Makefile sets it from the CPU; 7 is what BCC and
		// bpftrace assume.
		return []string{"-D__LINUX_ARM_ARCH__=7"}
	}
	return nil
}

// clangTriple is the clang target of a kernel's architecture.
func clangTriple(arch string, cfg configHeader) string {
	be := cfg.set("CONFIG_CPU_BIG_ENDIAN")
	is64 := cfg.set("CONFIG_64BIT")
	switch arch {
	case "x86":
		if is64 || cfg.set("CONFIG_X86_64") {
			return "x86_64-linux-gnu"
		}
		return "i386-linux-gnu"
	case "arm64":
		if be {
			return "aarch64_be-linux-gnu"
		}
		return "aarch64-linux-gnu"
	case "arm":
		if be {
			return "armeb-linux-gnueabi"
		}
		return "arm-linux-gnueabi"
	case "riscv":
		if is64 {
			return "riscv64-linux-gnu"
		}
		return "riscv32-linux-gnu"
	case "s390":
		return "s390x-linux-gnu"
	case "powerpc":
		switch {
		case !is64:
			return "powerpc-linux-gnu"
		case be:
			return "powerpc64-linux-gnu"
		}
		return "powerpc64le-linux-gnu"
	case "mips":
		switch {
		case is64 && be:
			return "mips64-linux-gnuabi64"
		case is64:
			return "mips64el-linux-gnuabi64"
		case be:
			return "mips-linux-gnu"
		}
		return "mipsel-linux-gnu"
	case "loongarch":
		return "loongarch64-linux-gnu"
	}
	return ""
}

// bpfTarget is the BPF target with the kernel's byte order.
func bpfTarget(arch string, cfg configHeader) string {
	if arch == "s390" || cfg.set("CONFIG_CPU_BIG_ENDIAN") {
		return "bpfeb"
	}
	return "bpfel"
}

// configHeader holds the CONFIG_ macros of autoconf.h or a BTF tree's
// kconfig.h.
type configHeader map[string]string

func (c configHeader) set(name string) bool {
	v, ok := c[name]
	return ok && v != "0"
}

// maxConfigHeader bounds the size of a config header kh reads (a real
// autoconf.h is tens of kilobytes).
const maxConfigHeader = 4 << 20

// readConfigHeader reads the "#define CONFIG_X value" lines of file.
func readConfigHeader(file string) (configHeader, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	cfg := configHeader{}
	sc := bufio.NewScanner(io.LimitReader(f, maxConfigHeader+1))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	n := 0
	for sc.Scan() {
		line := sc.Text()
		n += len(line) + 1
		rest, ok := strings.CutPrefix(line, "#define ")
		if !ok {
			continue
		}
		name, value, _ := strings.Cut(strings.TrimSpace(rest), " ")
		if strings.HasPrefix(name, "CONFIG_") {
			cfg[name] = strings.TrimSpace(value)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", file, err)
	}
	if n > maxConfigHeader {
		return nil, fmt.Errorf("%s: larger than %d bytes", file, maxConfigHeader)
	}
	if len(cfg) == 0 {
		return nil, errors.New(file + ": no CONFIG_ definitions")
	}
	return cfg, nil
}

// hasFile reports whether name, relative to dir, is a regular file.
func hasFile(dir, name string) bool {
	fi, err := os.Stat(filepath.Join(dir, name))
	return err == nil && fi.Mode().IsRegular()
}

// knownKind checks that t is a kind of tree this package understands.
func knownKind(t *kheaders.Tree) error {
	if !slices.Contains([]kheaders.Kind{kheaders.KindHeaders, kheaders.KindBTF}, t.Kind) {
		return fmt.Errorf("%s: unknown kind of tree %q", t.Path, t.Kind)
	}
	return nil
}

// ShellWords returns flags as one line for a shell's $(...), which splits
// the output at blanks and expands globs but removes no quotes: the
// flags are joined with spaces, unquoted, and an error names a flag that
// $(...) would change (one with a blank, a glob character, a quote or a
// backslash; print such flags as JSON instead).
func ShellWords(flags []string) (string, error) {
	for _, f := range flags {
		if f == "" || strings.ContainsAny(f, " \t\n*?['\\") {
			return "", fmt.Errorf("the flag %q cannot pass through $(...) unquoted", f)
		}
	}
	return strings.Join(flags, " "), nil
}
