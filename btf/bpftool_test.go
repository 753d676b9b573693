package btf

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	tk "github.com/khtool/kh/internal/testkernel"
)

// bpftoolPath returns bpftool if it is the version kh reproduces (it
// prints "using libbpf v1.1"), or skips.
func bpftoolPath(t *testing.T) string {
	t.Helper()
	p := tk.NeedTool(t, "bpftool")
	out, err := exec.Command(p, "version").CombinedOutput()
	if err != nil {
		tk.Skip(t, "bpftool version: %v: %s", err, out)
	}
	if !bytes.Contains(out, []byte("libbpf v1.1")) {
		tk.Skip(t, "bpftool uses another libbpf than v1.1, whose output kh reproduces: %s", out)
	}
	return p
}

func bpftoolC(t *testing.T, bpftool, file, base string) []byte {
	t.Helper()
	args := []string{"btf", "dump", "file", file, "format", "c"}
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

// TestBpftool diffs WriteC against the installed bpftool on every input
// at hand: the running kernel's BTF and its modules', the test kernels'
// BTF and their kheaders.ko split BTF, the testdata inputs, the C
// snippets freshly compiled if clang is installed, and KH_BTF_INPUTS.
func TestBpftool(t *testing.T) {
	bpftool := bpftoolPath(t)
	type input struct{ name, file, base string }
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
	for _, arch := range []string{"x86_64", "arm64"} {
		dir, ok := testkernelDir(t, arch)
		if !ok {
			continue
		}
		vmlinux := filepath.Join(dir, "vmlinux.btf")
		inputs = append(inputs,
			input{arch + "/vmlinux.btf", vmlinux, ""},
			input{arch + "/kheaders.ko", filepath.Join(dir, "kheaders.ko"), vmlinux})
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

	bases := map[string]*Spec{}
	for _, in := range inputs {
		t.Run(in.name, func(t *testing.T) {
			var base *Spec
			if in.base != "" {
				if base = bases[in.base]; base == nil {
					base = mustLoad(t, in.base, nil)
					bases[in.base] = base
				}
			}
			got := cHeader(t, mustLoad(t, in.file, base), nil)
			want := bpftoolC(t, bpftool, in.file, in.base)
			sameText(t, in.name, got, want)
		})
	}
}
