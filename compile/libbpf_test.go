package compile

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	tk "github.com/khtool/kh/internal/testkernel"
)

// needLibbpf skips unless libbpf-dev's headers are installed.
func needLibbpf(t *testing.T) {
	t.Helper()
	if !hasFile(LibbpfDefault, libbpfProbe) {
		tk.Skip(t, "libbpf's headers are not installed (Debian package libbpf-dev)")
	}
}

// checkLibbpfObject checks that a built libbpf.bpf.c is a BPF object
// with its kprobe and map.
func checkLibbpfObject(t *testing.T, obj string) {
	t.Helper()
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	p := spec.Programs["on_nanosleep"]
	if p == nil || p.Type != ebpf.Kprobe || spec.Maps["last_tgid"] == nil {
		t.Fatalf("programs %v, maps %v", spec.Programs, spec.Maps)
	}
}

// TestBuildLibbpf is issue 14 item 3: a program that includes libbpf's
// bpf_helpers.h, bpf_tracing.h and bpf_core_read.h builds against both
// test kernels' header trees (where -nostdinc hid /usr/include) and
// against BTF trees, with libbpf-dev's headers found by default.
func TestBuildLibbpf(t *testing.T) {
	needCompilers(t, true)
	needLibbpf(t)
	src := testProgram(t, "libbpf.bpf.c")
	for _, arch := range tk.Arches {
		t.Run(arch+"/kheaders", func(t *testing.T) {
			tree := testTree(t, arch)
			flags, err := CFlagsFor(tree, Options{})
			if err != nil || !strings.HasSuffix(strings.Join(flags, " "), " -idirafter "+LibbpfDefault) {
				t.Fatalf("flags %q, %v", flags, err)
			}
			out := filepath.Join(t.TempDir(), "libbpf.bpf.o")
			var diag bytes.Buffer
			if err := Build(context.Background(), tree, src, out, Options{Stderr: &diag}); err != nil {
				t.Fatalf("%v\n%s", err, diag.String())
			}
			checkLibbpfObject(t, out)
		})
		t.Run(arch+"/btf", func(t *testing.T) {
			tree := testBTFTree(t, arch)
			out := filepath.Join(t.TempDir(), "libbpf.bpf.o")
			var diag bytes.Buffer
			if err := Build(context.Background(), tree, src, out, Options{Stderr: &diag, Flags: []string{"-DKH_BTF_TREE"}}); err != nil {
				t.Fatalf("%v\n%s", err, diag.String())
			}
			checkLibbpfObject(t, out)
		})
	}
}

// TestLibbpfNoShadow: libbpf's include directory (/usr/include, with
// the host's C library and its own linux/ headers) comes after the
// kernel's, so a header there never replaces the kernel's. The
// directory given here holds libbpf's headers and a linux/types.h that
// stops the build if it is ever used.
func TestLibbpfNoShadow(t *testing.T) {
	needCompilers(t, true)
	needLibbpf(t)
	dir := t.TempDir()
	if err := os.Symlink(filepath.Join(LibbpfDefault, "bpf"), filepath.Join(dir, "bpf")); err != nil {
		t.Fatal(err)
	}
	os.Mkdir(filepath.Join(dir, "linux"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "linux", "types.h"), []byte("#error the host's linux/types.h shadowed the kernel's\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tree := testTree(t, "x86_64")
	out := filepath.Join(t.TempDir(), "libbpf.bpf.o")
	var diag bytes.Buffer
	if err := Build(context.Background(), tree, testProgram(t, "libbpf.bpf.c"), out, Options{Stderr: &diag, LibbpfInclude: dir}); err != nil {
		t.Fatalf("%v\n%s", err, diag.String())
	}
	checkLibbpfObject(t, out)
}

// TestLibbpfMissing: without libbpf's headers the build error says they
// are missing (MissingLibbpf, for the CLI's "install libbpf-dev"); a
// named directory without them is refused before compiling.
func TestLibbpfMissing(t *testing.T) {
	needCompilers(t, true)
	tree := testTree(t, "x86_64")
	out := filepath.Join(t.TempDir(), "libbpf.bpf.o")
	empty := t.TempDir()
	err := Build(context.Background(), tree, testProgram(t, "libbpf.bpf.c"), out, Options{libbpfDefault: empty})
	var ce *CompileError
	if !errors.As(err, &ce) || !ce.MissingLibbpf || !strings.Contains(err.Error(), "libbpf's headers are not installed") {
		t.Errorf("no libbpf: %v", err)
	}
	// A program that does not include libbpf does not need it.
	if err := Build(context.Background(), tree, testProgram(t, "task.bpf.c"), out, Options{libbpfDefault: empty}); err != nil {
		t.Errorf("task.bpf.c without libbpf: %v", err)
	}
	err = Build(context.Background(), tree, testProgram(t, "libbpf.bpf.c"), out, Options{LibbpfInclude: empty})
	var le *LibbpfError
	if !errors.As(err, &le) || le.Dir != empty {
		t.Errorf("--libbpf-include without libbpf: %v", err)
	}
}
