package main

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

// copyProgram copies a BPF program of testdata/tracing and the headers
// it includes into dir, with prefix prepended to the program.
func copyProgram(t *testing.T, dir, name, prefix string) string {
	t.Helper()
	for _, f := range []string{name, "kh_helpers.h", "sleeps.h"} {
		b, err := os.ReadFile(tracingTestdata(t, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == name {
			b = append([]byte(prefix), b...)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return filepath.Join(dir, name)
}

// TestBuildCLI builds task.bpf.c against the x86_64 and arm64 test
// kernels' trees with kh build, and checks the objects with cilium/ebpf.
func TestBuildCLI(t *testing.T) {
	tk.NeedTool(t, "clang")
	tk.NeedTool(t, "llc")
	cache := cacheDir(t)
	for _, arch := range tk.Arches {
		t.Run(arch, func(t *testing.T) {
			archive := filepath.Join(testkernel(t, arch), "kheaders.tar.xz")
			dir := t.TempDir()
			// Extra clang flags after --: the program needs -DKH_EXTRA.
			src := copyProgram(t, dir, "task.bpf.c", "#ifndef KH_EXTRA\n#error built without the flags after --\n#endif\n")
			out, errs, code := kh(t, "build", "--cache-dir", cache, "--from", archive, src, "--", "-DKH_EXTRA")
			obj := filepath.Join(dir, "task.bpf.o")
			if code != 0 || out != obj+"\n" {
				t.Fatalf("build: exit %d, stdout %q, stderr %s", code, out, errs)
			}
			spec, err := ebpf.LoadCollectionSpec(obj)
			if err != nil {
				t.Fatal(err)
			}
			if p := spec.Programs["count_sleeps"]; p == nil || p.Type != ebpf.Kprobe || p.AttachTo != "do_nanosleep" || spec.Maps["sleeps"] == nil {
				t.Errorf("object: %v %v", spec.Programs, spec.Maps)
			}

			// Without the extra flag, clang's #error shows on stderr,
			// then one summary line; no object is written.
			other := filepath.Join(dir, "other.o")
			out, errs, code = kh(t, "build", "--cache-dir", cache, "--from", archive, src, "-O", other)
			lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
			last := lines[len(lines)-1]
			if code != 1 || out != "" || !strings.Contains(errs, "error: built without the flags after --") || !strings.HasPrefix(last, "kh: ") || !strings.Contains(last, "clang failed") {
				t.Errorf("build without -DKH_EXTRA: exit %d, stdout %q, stderr %q", code, out, errs)
			}
			if _, err := os.Stat(other); !os.IsNotExist(err) {
				t.Errorf("failed build wrote %s: %v", other, err)
			}
		})
	}
}

func TestBuildCLIErrors(t *testing.T) {
	clang := tk.NeedTool(t, "clang")
	tk.NeedTool(t, "llc")
	archive := filepath.Join(testkernel(t, "x86_64"), "kheaders.tar.xz")
	cache := cacheDir(t)
	dir := t.TempDir()
	src := copyProgram(t, dir, "task.bpf.c", "")
	broken := tracingTestdata(t, "broken.bpf.c")
	obj := filepath.Join(dir, "x.o")
	for _, tc := range []struct {
		name string
		path string // $PATH for the run; "" keeps it
		args []string
		code int
		want string
	}{
		{"no program", "", []string{}, 2, "needs at least 1 argument"},
		{"two programs", "", []string{src, src}, 2, "want one program to build"},
		{"missing program", "", []string{filepath.Join(dir, "nope.bpf.c"), "-O", obj}, 1, "no such file or directory"},
		{"compile error", "", []string{broken, "-O", obj}, 1, "clang failed (exit status 1): " + broken + ":7:9: error: use of undeclared identifier 'no_such_variable'"},
		{"unknown arch", "", []string{src, "-O", obj, "--arch", "z80"}, 2, `unknown architecture "z80"`},
		{"no clang", t.TempDir(), []string{src, "-O", obj}, 1, "clang not found in $PATH (it compiles BPF programs): install it (Debian package clang), or name it with --clang"},
		{"bad --clang", "", []string{src, "-O", obj, "--clang", "/nonexistent/clang"}, 1, `clang "/nonexistent/clang"`},
		{"bad --llc", "", []string{src, "-O", obj, "--clang", clang, "--llc", "/nonexistent/llc"}, 1, `llc "/nonexistent/llc"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.path != "" {
				t.Setenv("PATH", tc.path)
			}
			args := append([]string{"build", "--cache-dir", cache, "--from", archive}, tc.args...)
			out, errs, code := kh(t, args...)
			lines := strings.Split(strings.TrimSuffix(errs, "\n"), "\n")
			summary := lines[len(lines)-1]
			if tc.code == 2 {
				summary = lines[0]
			}
			if code != tc.code || out != "" || !strings.HasPrefix(summary, "kh: ") || !strings.Contains(summary, tc.want) {
				t.Errorf("exit %d, stdout %q, stderr %q; want exit %d and %q", code, out, errs, tc.code, tc.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 3 {
				t.Errorf("files left behind: %v", ents)
			}
		})
	}
}

// TestBuildFlags: -o is the output format, as everywhere; a file name
// there is a usage error that points at -O. Checked before anything is
// fetched or compiled.
func TestBuildFlags(t *testing.T) {
	var out, errb bytes.Buffer
	a := &app{system: testSystem(nil, &out, &errb)}
	err := a.runBuild(context.Background(), &buildOptions{src: "p.bpf.c", output: "prog.o"})
	var ue *usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "write the object with -O prog.o") {
		t.Fatalf("runBuild -o prog.o: %v", err)
	}
	_, errs, code := kh(t, "build", "p.bpf.c", "-o", "json.o")
	if code != exitUsage || !strings.Contains(errs, "-O json.o") || out.Len() != 0 {
		t.Fatalf("kh build -o json.o: exit %d, %q", code, errs)
	}
}

// TestOutFileArgs is issue 14 item 8: -O - writes to stdout (kh build
// and kh btf), a directory or a missing directory as -O is a usage error
// checked before any work, naming what the user gave (not a temporary
// file), and nothing is left behind.
func TestOutFileArgs(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "no", "such", "x.o")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"build", "p.bpf.c", "-O", dir}, "-O " + dir + " is a directory: name a file to write"},
		{[]string{"build", "p.bpf.c", "-O", missing}, "-O " + missing + ": no directory " + filepath.Dir(missing)},
		{[]string{"build", "p.bpf.c", "-O", "-", "-o", "json"}, "-O - writes the object to stdout"},
		{[]string{"btf", "-O", dir}, "-O " + dir + " is a directory"},
		{[]string{"btf", "-O", missing}, "no directory " + filepath.Dir(missing)},
	} {
		out, errs, code := kh(t, tc.args...)
		if code != exitUsage || out != "" || !strings.HasPrefix(errs, "kh: ") || !strings.Contains(errs, tc.want) || strings.Contains(errs, ".tmp") {
			t.Errorf("kh %q: exit %d, stdout %q, stderr %q; want exit 2 and %q", tc.args, code, out, errs, tc.want)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("left behind: %v", ents)
	}

	// -O - is stdout.
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err == nil {
		out, errs, code := kh(t, "btf", "-O", "-")
		if code != 0 || !strings.HasPrefix(out, "#ifndef __VMLINUX_H__") {
			t.Errorf("kh btf -O -: exit %d, stderr %q, stdout %.80q", code, errs, out)
		}
		if _, err := os.Stat("-"); err == nil {
			t.Error("kh btf -O - wrote a file named -")
		}
	}
	tk.NeedTool(t, "clang")
	tk.NeedTool(t, "llc")
	archive := filepath.Join(testkernel(t, "x86_64"), "kheaders.tar.xz")
	src := copyProgram(t, dir, "task.bpf.c", "")
	t.Chdir(dir)
	out, errs, code := kh(t, "build", "--cache-dir", cacheDir(t), "--from", archive, src, "-O", "-")
	if code != 0 || !strings.HasPrefix(out, "\x7fELF") {
		t.Fatalf("kh build -O -: exit %d, stderr %q, stdout %.20q", code, errs, out)
	}
	if _, err := ebpf.LoadCollectionSpecFromReader(strings.NewReader(out)); err != nil {
		t.Errorf("stdout is not a BPF object: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "-")); err == nil {
		t.Error("kh build -O - wrote a file named -")
	}
}
