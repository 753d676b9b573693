package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/khtool/kh/btf"
	tk "github.com/khtool/kh/internal/testkernel"
)

func btfTestdata(parts ...string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(append([]string{filepath.Dir(file), "../../testdata/btf"}, parts...)...)
}

func readFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestBtfFrom checks kh btf --from against bpftool v7.7.0's output
// stored in testdata (format c unsorted), and the default order against
// the library's.
func TestBtfFrom(t *testing.T) {
	want := readFile(t, btfTestdata("c", "arrays.h"))
	out, errOut, code := kh(t, "btf", "--from", btfTestdata("c", "arrays.o"), "--unsorted")
	if code != 0 || out != want || errOut != "" {
		t.Fatalf("exit %d, stderr %q, stdout equal to bpftool's: %v", code, errOut, out == want)
	}
	spec, err := btf.Load(btfTestdata("c", "arrays.o"))
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []struct {
		flag string
		opts btf.Options
	}{{"", btf.Options{}}, {"--bpftool-v7.1", btf.Options{Legacy: true}}} {
		var lib bytes.Buffer
		if err := btf.WriteC(context.Background(), &lib, spec, &o.opts); err != nil {
			t.Fatal(err)
		}
		args := []string{"btf", "--from", btfTestdata("c", "arrays.o")}
		if o.flag != "" {
			args = append(args, o.flag)
		}
		if out, errOut, code := kh(t, args...); code != 0 || out != lib.String() {
			t.Fatalf("kh btf %s: exit %d, stderr %q, stdout equal to WriteC's: %v", o.flag, code, errOut, out == lib.String())
		}
	}
	want = readFile(t, btfTestdata("c", "arrays.h"))

	dir := t.TempDir()
	dst := filepath.Join(dir, "vmlinux.h")
	out, errOut, code = kh(t, "btf", "--from", btfTestdata("c", "arrays.o"), "--unsorted", "-O", dst, "-o", "json")
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if got := readFile(t, dst); got != want {
		t.Errorf("-O file differs from bpftool's output")
	}
	var rep struct {
		Path, Source string
		Types, Bytes int
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil || rep.Path != dst || rep.Bytes != len(want) || rep.Types == 0 {
		t.Errorf("json report %q: %+v, %v", out, rep, err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("-O left %d files in its directory", len(entries))
	}
}

func TestBtfSplit(t *testing.T) {
	vmlinux := tk.File(t, "x86_64", "vmlinux.btf")
	want := readFile(t, btfTestdata("khtest.h"))
	for _, f := range []string{"khtest.btf", "khtest.ko"} {
		out, errOut, code := kh(t, "btf", "--from", btfTestdata(f), "--base", vmlinux, "--unsorted")
		if code != 0 || out != want {
			t.Fatalf("%s: exit %d, stderr %q, stdout equal to bpftool's: %v", f, code, errOut, out == want)
		}
	}
	// Sorted (the default) as the library writes it, which package btf
	// checks against bpftool v7.7.0.
	base, err := btf.Load(vmlinux)
	if err != nil {
		t.Fatal(err)
	}
	split, err := btf.LoadSplit(btfTestdata("khtest.ko"), base)
	if err != nil {
		t.Fatal(err)
	}
	var lib bytes.Buffer
	if err := btf.WriteC(context.Background(), &lib, split, nil); err != nil {
		t.Fatal(err)
	}
	if out, errOut, code := kh(t, "btf", "--from", btfTestdata("khtest.ko"), "--base", vmlinux); code != 0 || out != lib.String() {
		t.Fatalf("sorted: exit %d, stderr %q, stdout equal to WriteC's: %v", code, errOut, out == lib.String())
	}
	out, errOut, code := kh(t, "btf", "--from", btfTestdata("khtest.ko"), "--base", vmlinux, "--split-only")
	if code != 0 || !strings.HasPrefix(out, "#ifndef __KHTEST_H__\n") || !strings.Contains(out, "\nstruct khtest_node {\n") ||
		strings.Contains(out, "struct task_struct {") {
		t.Fatalf("--split-only: exit %d, stderr %q, stdout:\n%s", code, errOut, out)
	}
}

func TestBtfKernel(t *testing.T) {
	spec, err := btf.LoadKernel()
	if err != nil {
		tk.Skip(t, "no kernel BTF: %v", err)
	}
	var want bytes.Buffer
	if err := btf.WriteC(context.Background(), &want, spec, nil); err != nil {
		t.Fatal(err)
	}
	out, errOut, code := kh(t, "btf")
	if code != 0 || out != want.String() {
		t.Fatalf("exit %d, stderr %q, %d bytes (want %d)", code, errOut, len(out), want.Len())
	}
}

func TestBtfErrors(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(btfTestdata("go", "names.btf"))
	if err != nil {
		t.Fatal(err)
	}
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	truncated := write("truncated.btf", good[:len(good)/2])
	corrupt := write("corrupt.btf", append(bytes.Clone(good[:24]), bytes.Repeat([]byte{0xff}, len(good)-24)...))
	text := write("text.h", []byte("not BTF\n"))
	existing := write("existing.h", []byte("keep me\n"))

	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"missing file", []string{"--from", filepath.Join(dir, "nope")}, 1, "no such file"},
		{"truncated", []string{"--from", truncated}, 1, "corrupt BTF"},
		{"corrupt", []string{"--from", corrupt}, 1, "corrupt BTF"},
		{"not BTF", []string{"--from", text}, 1, "not BTF"},
		{"truncated to a file", []string{"--from", truncated, "-O", existing}, 1, "corrupt BTF"},
		{"split without base", []string{"--from", btfTestdata("khtest.btf")}, 1, "needs its base"},
		{"module without base", []string{"--from", btfTestdata("khtest.ko"), "-O", filepath.Join(dir, "new.h")}, 1, "needs its base"},
		{"wrong base", []string{"--from", btfTestdata("khtest.btf"), "--base", btfTestdata("go", "enums.btf")}, 1, "does not match"},
		{"bad base", []string{"--from", btfTestdata("khtest.btf"), "--base", text}, 1, "base BTF"},
		{"no such module", []string{"--module", "kh_no_such_module"}, 1, "has no BTF"},
		{"bad module name", []string{"--module", "../x"}, 1, "invalid module name"},
		{"from and module", []string{"--from", text, "--module", "x"}, 2, "exclusive"},
		{"base alone", []string{"--base", text}, 2, "--base"},
		{"split-only without split", []string{"--split-only"}, 2, "--split-only"},
		{"unsorted and v7.1", []string{"--unsorted", "--bpftool-v7.1"}, 2, "exclusive"},
		{"json without file", []string{"-o", "json"}, 2, "-o json"},
		{"bad format", []string{"-o", "yaml"}, 2, "output format"},
		{"argument", []string{"extra"}, 2, "takes no arguments"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, errOut, code := kh(t, append([]string{"btf"}, tc.args...)...)
			if code != tc.code || out != "" || !strings.Contains(errOut, tc.msg) || !strings.HasPrefix(errOut, "kh: ") {
				t.Fatalf("exit %d (want %d), stdout %d bytes, stderr %q (want %q)", code, tc.code, len(out), errOut, tc.msg)
			}
			if tc.code == 1 && strings.Count(errOut, "\n") != 1 {
				t.Errorf("error is not one line: %q", errOut)
			}
		})
	}
	if got := readFile(t, existing); got != "keep me\n" {
		t.Errorf("failed run changed the -O file: %q", got)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") || e.Name() == "new.h" {
			t.Errorf("failed run left %s", e.Name())
		}
	}
}
