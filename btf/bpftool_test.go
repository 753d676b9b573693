package btf

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	tk "github.com/khtool/kh/internal/testkernel"
)

// bpftoolPath returns the installed bpftool if it is Debian 12's v7.1.0
// (it prints "using libbpf v1.1"), whose shape Options.Legacy writes,
// or skips.
func bpftoolPath(t *testing.T) string {
	t.Helper()
	p := tk.NeedTool(t, "bpftool")
	out, err := exec.Command(p, "version").CombinedOutput()
	if err != nil {
		tk.Skip(t, "bpftool version: %v: %s", err, out)
	}
	if !bytes.Contains(out, []byte("libbpf v1.1")) {
		tk.Skip(t, "bpftool uses another libbpf than v1.1, whose output Legacy reproduces: %s", out)
	}
	return p
}

func bpftoolC(t *testing.T, bpftool, file, base string, extra ...string) []byte {
	t.Helper()
	args := append([]string{"btf", "dump", "file", file, "format", "c"}, extra...)
	if base != "" {
		args = append([]string{"-B", base}, args...)
	}
	var stderr bytes.Buffer
	cmd := exec.Command(bpftool, args...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("bpftool %s: %v: %s", strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// testkernelDir returns the directory of arch's test kernel if it is
// there; a test that also has other inputs goes on without it (but fails
// under KH_STRICT=1).
func testkernelDir(t *testing.T, arch string) (string, bool) {
	t.Helper()
	root, err := tk.Root()
	if err == nil {
		dir := filepath.Join(root, arch)
		if _, err = os.Stat(filepath.Join(dir, "vmlinux.btf")); err == nil {
			return dir, true
		}
	}
	if tk.Strict() {
		t.Fatalf("KH_STRICT=1 and a prerequisite is missing: %v", err)
	}
	t.Logf("test kernel %s: %v", arch, err)
	return "", false
}

// bpftool77Path returns upstream bpftool v7.7.0, the reference of
// WriteC's default output: $KH_BPFTOOL77, else
// ../tools/bpftool-v7.7.0/bpftool beside the test kernels. It skips (fails
// under KH_STRICT=1) when there is none.
func bpftool77Path(t *testing.T) string {
	t.Helper()
	p := os.Getenv("KH_BPFTOOL77")
	if p == "" {
		root, err := tk.Root()
		if err != nil {
			tk.Skip(t, "bpftool v7.7.0: %v (or set KH_BPFTOOL77)", err)
		}
		p = filepath.Join(root, "..", "tools", "bpftool-v7.7.0", "bpftool")
	}
	out, err := exec.Command(p, "version").CombinedOutput()
	if err != nil {
		tk.Skip(t, "bpftool v7.7.0 (%s): %v: %s", p, err, out)
	}
	if !bytes.HasPrefix(out, []byte("bpftool v7.7.0\n")) {
		t.Fatalf("%s is not bpftool v7.7.0: %s", p, out)
	}
	return p
}

type bpftoolInput struct{ name, file, base string }

// bpftoolInputs lists every input at hand: the running kernel's BTF and
// a few of its modules', the test kernels' BTF (Linux 6.1, 6.12 and the
// 6.18 host's) and their kheaders.ko split BTF, the testdata inputs, the
// C snippets freshly compiled if clang is installed, and KH_BTF_INPUTS.
func bpftoolInputs(t *testing.T) []bpftoolInput {
	type input = bpftoolInput
	var inputs []input
	if f, err := os.Open(KernelPath); err == nil {
		f.Close()
		inputs = append(inputs, input{"host/vmlinux", KernelPath, ""})
		mods, _ := filepath.Glob(filepath.Join(filepath.Dir(KernelPath), "*"))
		n := 0
		for _, m := range mods {
			if m == KernelPath || n == 5 {
				continue
			}
			n++
			inputs = append(inputs, input{"host/" + filepath.Base(m), m, KernelPath})
		}
	} else {
		t.Logf("no running kernel BTF: %v", err)
	}
	for _, arch := range []string{"x86_64", "arm64", "6.12/x86_64", "6.12/arm64", "host-6.18"} {
		dir, ok := testkernelDir(t, arch)
		if !ok {
			continue
		}
		vmlinux := filepath.Join(dir, "vmlinux.btf")
		inputs = append(inputs, input{arch + "/vmlinux.btf", vmlinux, ""})
		if ko := filepath.Join(dir, "kheaders.ko"); fileExists(ko) {
			inputs = append(inputs, input{arch + "/kheaders.ko", ko, vmlinux})
		}
		if arch == "x86_64" {
			inputs = append(inputs,
				input{"khtest.btf", testdata("khtest.btf"), vmlinux},
				input{"khtest.ko", testdata("khtest.ko"), vmlinux})
		}
	}
	for _, pattern := range []string{"c/*.o", "go/*.btf"} {
		files, _ := filepath.Glob(testdata(pattern))
		for _, f := range files {
			inputs = append(inputs, input{filepath.Base(f), f, ""})
		}
	}
	// More inputs from the environment: KH_BTF_INPUTS="GLOB[@BASE] ...",
	// e.g. a distribution's vmlinux and its modules:
	// "/tmp/vmlinux /tmp/modules/*/*.ko@/tmp/vmlinux".
	for _, spec := range strings.Fields(os.Getenv("KH_BTF_INPUTS")) {
		pattern, base, _ := strings.Cut(spec, "@")
		files, err := filepath.Glob(pattern)
		if err != nil || len(files) == 0 {
			t.Fatalf("KH_BTF_INPUTS: %q matches no file (%v)", pattern, err)
		}
		for _, f := range files {
			inputs = append(inputs, input{"env/" + f, f, base})
		}
	}
	if clang, err := exec.LookPath("clang"); err == nil {
		tmp := t.TempDir()
		srcs, _ := filepath.Glob(testdata("c", "*.c"))
		for _, src := range srcs {
			if strings.HasSuffix(src, ".1.c") || strings.HasSuffix(src, ".2.c") {
				continue // linked cases need bpftool gen object: see gen.sh
			}
			obj := filepath.Join(tmp, strings.TrimSuffix(filepath.Base(src), ".c")+".o")
			if out, err := exec.Command(clang, "-target", "bpf", "-O2", "-g", "-c", src, "-o", obj).CombinedOutput(); err != nil {
				t.Fatalf("clang %s: %v\n%s", src, err, out)
			}
			inputs = append(inputs, input{"fresh/" + filepath.Base(obj), obj, ""})
		}
	} else {
		t.Log("clang not installed: the C snippets are checked from their stored objects only")
	}

	return inputs
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// loadInput loads an input, sharing base Specs.
func loadInput(t *testing.T, in bpftoolInput, bases map[string]*Spec) *Spec {
	t.Helper()
	var base *Spec
	if in.base != "" {
		if base = bases[in.base]; base == nil {
			base = mustLoad(t, in.base, nil)
			bases[in.base] = base
		}
	}
	return mustLoad(t, in.file, base)
}

// TestBpftool77 diffs WriteC against upstream bpftool v7.7.0 on every
// input at hand, in both orders, with libbpf's layout mistakes
// reproduced (libbpfBugs: where kh's header is right and libbpf's is not,
// which the truth test proves; no kernel BTF at hand but Linux 6.12 and
// 6.18's release_pages_arg needs it). Unsorted, the headers are
// byte-identical.
// Sorted, bpftool v7.5.0 to v7.7.0 have a bug: the type that sorts first
// is never written. kh writes it; that is the one difference allowed,
// and the test checks it exactly: with the bug reproduced (dropFirst)
// the headers are byte-identical, and, where the dropped type is a
// top-level anonymous enum (every kernel), kh's header is bpftool's with
// that one enum added.
func TestBpftool77(t *testing.T) {
	bpftool := bpftool77Path(t)
	bases := map[string]*Spec{}
	for _, in := range bpftoolInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			s := loadInput(t, in, bases)
			got := cHeader(t, s, &Options{Unsorted: true, libbpfBugs: true})
			sameText(t, in.name+" unsorted", got, bpftoolC(t, bpftool, in.file, in.base, "unsorted"))
			if fixed := cHeader(t, s, &Options{Unsorted: true}); !bytes.Equal(fixed, got) {
				t.Logf("%s: kh corrects libbpf's layout on %d lines (the truth test checks them)", in.name, diffLines(fixed, got))
			}

			want := bpftoolC(t, bpftool, in.file, in.base)
			bug := cHeader(t, s, &Options{dropFirst: true, libbpfBugs: true})
			sameText(t, in.name+" sorted, bpftool's bug reproduced", bug, want)
			kh := cHeader(t, s, &Options{libbpfBugs: true})
			if bytes.Equal(kh, want) {
				return // the first type writes nothing at top level
			}
			// The first type sorted is the first one written, right
			// after the macros.
			i := bytes.Index(kh, []byte(macroBlocks)) + len(macroBlocks)
			extra := len(kh) - len(want)
			if i < len(macroBlocks) || extra <= 0 || !bytes.Equal(append(slices.Clip(kh[:i]), kh[i+extra:]...), want) {
				t.Logf("%s: the dropped type is not a lone anonymous enum, so more differs; checked with the bug reproduced", in.name)
				return
			}
			chunk := kh[i : i+extra]
			if !bytes.HasPrefix(chunk, []byte("enum {\n")) || !bytes.HasSuffix(chunk, []byte("};\n\n")) || bytes.Count(chunk, []byte("};")) != 1 {
				t.Fatalf("%s: kh writes %q more than bpftool, not one anonymous enum", in.name, chunk)
			}
			first, _, _ := bytes.Cut(chunk, []byte(" = "))
			t.Logf("%s: bpftool v7.7.0 drops the first type in sort order (enum { %s ... }, %d bytes); kh writes it", in.name, bytes.TrimSpace(bytes.TrimPrefix(first, []byte("enum {"))), extra)
		})
	}
}

// TestBpftool diffs Options.Legacy against the installed bpftool, Debian
// 12's v7.1.0, on every input at hand: identical but for the enum mode
// attributes it lacks (noEnumModes) and libbpf's layout mistakes.
func TestBpftool(t *testing.T) {
	bpftool := bpftoolPath(t)
	bases := map[string]*Spec{}
	for _, in := range bpftoolInputs(t) {
		t.Run(in.name, func(t *testing.T) {
			got := cHeader(t, loadInput(t, in, bases), &Options{Legacy: true, libbpfBugs: true, noEnumModes: true})
			want := bpftoolC(t, bpftool, in.file, in.base)
			sameText(t, in.name, got, want)
		})
	}
}

// diffLines counts the lines of a that b lacks (as a multiset).
func diffLines(a, b []byte) int {
	have := map[string]int{}
	for _, l := range strings.Split(string(b), "\n") {
		have[l]++
	}
	n := 0
	for _, l := range strings.Split(string(a), "\n") {
		if have[l] > 0 {
			have[l]--
		} else {
			n++
		}
	}
	return n
}
