package compile

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"github.com/khtool/kh/internal/logx"
	"github.com/khtool/kh/internal/shquote"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/khtool/kh/internal/atomicfile"
	"github.com/khtool/kh/kheaders"
)

// Options configure Build. The zero value builds for the tree's
// architecture with the clang and llc found in $PATH.
type Options struct {
	// Arch is the architecture to build for, as for CFlags; "" means
	// the tree's.
	Arch string
	// Clang is the clang executable (a name looked up in $PATH, or a
	// path); "" means clang, else the newest clang-NN in $PATH.
	Clang string
	// LLC is the llc executable, needed for header trees; "" means the
	// llc installed beside Clang (the same LLVM), else llc in $PATH.
	LLC string
	// Flags are extra clang flags, added after kh's own (so -D, -I and
	// -W flags here win).
	Flags []string
	// Stderr receives the compilers' diagnostics as they print them;
	// nil discards them (a CompileError still holds them).
	Stderr io.Writer
	// Log receives the commands run, at debug level; nil discards them.
	Log *slog.Logger
	// LibbpfInclude is the directory holding libbpf's headers
	// (bpf/bpf_helpers.h, ...); "" means libbpf-dev's (/usr/include),
	// if installed. See CFlagsFor.
	LibbpfInclude string

	// libbpfDefault replaces LibbpfDefault in tests.
	libbpfDefault string
}

// MissingToolError means a compiler Build needs is not installed.
type MissingToolError struct {
	Tool    string // clang or llc
	Package string // the Debian package that provides it
	Why     string // what it is needed for
}

func (e *MissingToolError) Error() string {
	return fmt.Sprintf("%s not found in $PATH (%s): install it (Debian package %s)", e.Tool, e.Why, e.Package)
}

// CompileError is a compiler that failed on a program.
type CompileError struct {
	Tool        string // clang or llc
	Source      string // the program
	Err         error  // how the tool ended (*exec.ExitError, ...)
	Diagnostics string // what the tool printed on stderr
	// MissingLibbpf is set when the program includes libbpf's headers
	// (<bpf/...>) and none were found (no LibbpfInclude and no
	// libbpf-dev in LibbpfDefault).
	MissingLibbpf bool
}

func (e *CompileError) Error() string {
	msg := fmt.Sprintf("%s failed (%v)", e.Tool, e.Err)
	first, n := firstError(e.Diagnostics)
	if !strings.HasPrefix(first, e.Source+":") {
		msg = e.Source + ": " + msg
	}
	if first != "" {
		msg += ": " + first
		if n > 1 {
			msg += fmt.Sprintf(" (and %d more errors)", n-1)
		}
	}
	if e.MissingLibbpf {
		msg += "; libbpf's headers are not installed (no " + libbpfProbe + " in " + LibbpfDefault + ")"
	}
	if e.Tool == "llc" && strings.Contains(e.Diagnostics, "llvm.preserve.") {
		msg += "; CO-RE accesses (BPF_CORE_READ, __builtin_preserve_access_index) need a BTF tree (vmlinux.h, compiled with -target bpf), not kernel headers: use BPF_PROBE_READ or bpf_probe_read_kernel here"
	}
	if e.Tool == "llc" && strings.Contains(e.Diagnostics, "inline asm") {
		msg += "; the program reached kernel code with the architecture's inline assembly (such as current or a per-CPU accessor), which BPF cannot run: read kernel memory with BPF helpers (bpf_get_current_task, bpf_probe_read_kernel) instead"
	}
	return msg
}

func (e *CompileError) Unwrap() error { return e.Err }

// firstError returns the first "error:" line of compiler diagnostics
// (else the last non-empty line) and the number of error lines.
func firstError(diag string) (string, int) {
	var first, last string
	n := 0
	for line := range strings.Lines(diag) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		last = line
		if strings.Contains(line, "error:") {
			if n == 0 {
				first = line
			}
			n++
		}
	}
	if first == "" {
		return last, n
	}
	return first, n
}

// Build compiles the BPF C program src against tree t and writes the BPF
// ELF object to out, atomically: on any error out is left as it was.
//
// For a header tree, clang compiles src with CFlags (for the kernel's own
// architecture) to LLVM bitcode, and llc lowers it to BPF. For a BTF tree,
// clang compiles it with -target bpfel directly (CO-RE). Both add -O2 -g,
// so the object carries BTF, and then opts.Flags.
func Build(ctx context.Context, t *kheaders.Tree, src, out string, opts Options) error {
	if same(src, out) {
		return fmt.Errorf("build: the output %s is the source file", out)
	}
	return build(ctx, t, src, opts, func(produce func(io.Writer) error) error {
		return atomicfile.Write(out, 0o644, produce)
	})
}

// libbpf returns the libbpf include directory to look in and whether
// it was named (else it is the default, which may be missing).
func (o Options) libbpf() libbpfDir {
	if o.LibbpfInclude != "" {
		return libbpfDir{dir: o.LibbpfInclude, named: true}
	}
	if o.libbpfDefault != "" {
		return libbpfDir{dir: o.libbpfDefault}
	}
	return libbpfDir{dir: LibbpfDefault}
}

// BuildTo is Build writing the object to w (such as standard output for
// clang's "-o -"). Nothing is written to w unless the build succeeds.
func BuildTo(ctx context.Context, t *kheaders.Tree, src string, w io.Writer, opts Options) error {
	return build(ctx, t, src, opts, func(produce func(io.Writer) error) error {
		var obj bytes.Buffer
		if err := produce(&obj); err != nil {
			return err
		}
		_, err := obj.WriteTo(w)
		return err
	})
}

// build compiles src and hands the step that writes the object to emit.
func build(ctx context.Context, t *kheaders.Tree, src string, opts Options, emit func(func(io.Writer) error) error) error {
	p, err := planCompile(t, opts.Arch, opts.libbpf())
	if err != nil {
		return err
	}
	if fi, err := os.Stat(src); err != nil {
		return fmt.Errorf("build: %w", err)
	} else if !fi.Mode().IsRegular() {
		return fmt.Errorf("build: %s is not a regular file", src)
	}
	log := logx.OrDiscard(opts.Log)
	clang, err := findClang(opts.Clang)
	if err != nil {
		return err
	}
	b := &builder{ctx: ctx, src: src, stderr: opts.Stderr, log: log, libbpf: p.libbpf}
	if t.Kind == kheaders.KindBTF {
		args := append(append(slices.Clone(p.flags), "-O2", "-g"), opts.Flags...)
		args = append(args, "-c", "-o", "-", "--", src)
		return emit(func(w io.Writer) error {
			return b.run("clang", clang, args, nil, w)
		})
	}

	llc, err := findLLC(opts.LLC, clang)
	if err != nil {
		return err
	}
	res, err := b.output(clang, "-print-resource-dir")
	if err != nil {
		return err
	}
	// -nostdinc keeps the host's headers out; clang's own (stdarg.h,
	// stdbool.h, ...) stay available after the kernel's.
	args := append(slices.Clone(p.flags), "-isystem", filepath.Join(res, "include"), "-O2", "-g")
	args = append(args, opts.Flags...)
	args = append(args, "-emit-llvm", "-c", "-o", "-", "--", src)
	var bitcode bytes.Buffer
	if err := b.run("clang", clang, args, nil, &bitcode); err != nil {
		return err
	}
	return emit(func(w io.Writer) error {
		return b.run("llc", llc, []string{"-march=" + p.bpf, "-filetype=obj", "-o", "-", "-"}, &bitcode, w)
	})
}

// same reports whether two paths name the same file (or the same path,
// for a file not yet created).
func same(a, b string) bool {
	fa, errA := os.Stat(a)
	fb, errB := os.Stat(b)
	if errA == nil && errB == nil {
		return os.SameFile(fa, fb)
	}
	ca, _ := filepath.Abs(a)
	cb, _ := filepath.Abs(b)
	return ca == cb
}

// builder runs compilers for one Build.
type builder struct {
	ctx    context.Context
	src    string
	stderr io.Writer
	log    *slog.Logger
	libbpf string // the libbpf include directory in the flags, or ""
}

// maxDiagnostics bounds the diagnostics a CompileError keeps.
const maxDiagnostics = 1 << 20

// run runs tool (named name in errors) with args, stdin and stdout.
func (b *builder) run(name, tool string, args []string, stdin io.Reader, stdout io.Writer) error {
	b.log.Debug("running", "cmd", shquote.Join(append([]string{tool}, args...)))
	cmd := exec.CommandContext(b.ctx, tool, args...)
	cmd.Stdin = stdin
	cmd.Stdout = stdout
	diag := &capWriter{max: maxDiagnostics}
	cmd.Stderr = diag
	if b.stderr != nil {
		cmd.Stderr = io.MultiWriter(diag, b.stderr)
	}
	if err := cmd.Run(); err != nil {
		if ctxErr := b.ctx.Err(); ctxErr != nil {
			return fmt.Errorf("build %s: %w", b.src, ctxErr)
		}
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return fmt.Errorf("build %s: run %s: %w", b.src, name, err)
		}
		ce := &CompileError{Tool: name, Source: b.src, Err: err, Diagnostics: diag.String()}
		ce.MissingLibbpf = name == "clang" && b.libbpf == "" && missesLibbpf(ce.Diagnostics)
		return ce
	}
	return nil
}

// missesLibbpf reports whether clang's diagnostics say that one of
// libbpf's headers (<bpf/...>) was not found.
func missesLibbpf(diag string) bool {
	for line := range strings.Lines(diag) {
		if strings.Contains(line, "fatal error: 'bpf/") && strings.Contains(line, "file not found") {
			return true
		}
	}
	return false
}

// output runs tool with args and returns its trimmed standard output.
func (b *builder) output(tool string, args ...string) (string, error) {
	out, err := exec.CommandContext(b.ctx, tool, args...).Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %w", tool, strings.Join(args, " "), err)
	}
	s := strings.TrimSpace(string(out))
	if s == "" {
		return "", fmt.Errorf("%s %s printed nothing", tool, strings.Join(args, " "))
	}
	return s, nil
}

// capWriter keeps the first max bytes written to it.
type capWriter struct {
	buf bytes.Buffer
	max int
}

func (w *capWriter) Write(p []byte) (int, error) {
	if room := w.max - w.buf.Len(); room > 0 {
		w.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (w *capWriter) String() string { return w.buf.String() }

// findClang returns the clang to run: name if given, else clang, else the
// newest clang-NN in $PATH.
func findClang(name string) (string, error) {
	if name != "" {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("clang %q: %w", name, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("clang"); err == nil {
		return p, nil
	}
	for v := 30; v >= 11; v-- {
		if p, err := exec.LookPath("clang-" + strconv.Itoa(v)); err == nil {
			return p, nil
		}
	}
	return "", &MissingToolError{Tool: "clang", Package: "clang", Why: "it compiles BPF programs"}
}

// findLLC returns the llc to run: name if given, else the llc of clang's
// LLVM installation (which reads the bitcode that clang writes), else
// llc in $PATH.
func findLLC(name, clang string) (string, error) {
	if name != "" {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("llc %q: %w", name, err)
		}
		return p, nil
	}
	if real, err := filepath.EvalSymlinks(clang); err == nil {
		p := filepath.Join(filepath.Dir(real), "llc")
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	if p, err := exec.LookPath("llc"); err == nil {
		return p, nil
	}
	return "", &MissingToolError{Tool: "llc", Package: "llvm", Why: "it lowers programs compiled against kernel headers to BPF"}
}
