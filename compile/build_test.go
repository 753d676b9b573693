package compile

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"github.com/khtool/kh/internal/shquote"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	tk "github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/kheaders"
)

// testProgram returns the path of a BPF program in testdata/tracing.
func testProgram(t *testing.T, name string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	p := filepath.Join(filepath.Dir(file), "../testdata/tracing", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatal(err)
	}
	return p
}

// needCompilers skips unless clang (and llc, for header trees) exist.
func needCompilers(t *testing.T, llc bool) {
	t.Helper()
	clang, err := findClang("")
	if err != nil {
		tk.Skip(t, "%v", err)
	}
	if llc {
		if _, err := findLLC("", clang); err != nil {
			tk.Skip(t, "%v", err)
		}
	}
}

// memberOffset returns the byte offset of a member of a struct in the
// BTF of a test kernel.
func memberOffset(t *testing.T, arch, typ, member string) uint32 {
	t.Helper()
	spec, err := btf.LoadSpec(tk.File(t, arch, "vmlinux.btf"))
	if err != nil {
		t.Fatal(err)
	}
	var st *btf.Struct
	if err := spec.TypeByName(typ, &st); err != nil {
		t.Fatal(err)
	}
	for _, m := range st.Members {
		if m.Name == member {
			return uint32(m.Offset.Bytes())
		}
	}
	t.Fatalf("%s has no member %s", typ, member)
	return 0
}

// addsConstant reports whether insns add c to a register (rX += c), the
// way a program computes &task->field.
func addsConstant(insns asm.Instructions, c int64) bool {
	for _, ins := range insns {
		if ins.OpCode.Class() == asm.ALU64Class && ins.OpCode.ALUOp() == asm.Add && ins.OpCode.Source() == asm.ImmSource && ins.Constant == c {
			return true
		}
	}
	return false
}

// checkSleepsObject loads a compiled task.bpf.c or core.bpf.c with
// cilium/ebpf (without loading it into the kernel) and checks its
// program and map.
func checkSleepsObject(t *testing.T, obj string) *ebpf.ProgramSpec {
	t.Helper()
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatalf("cilium/ebpf rejects %s: %v", obj, err)
	}
	p := spec.Programs["count_sleeps"]
	if p == nil || len(spec.Programs) != 1 {
		t.Fatalf("programs %v, want count_sleeps", spec.Programs)
	}
	if p.Type != ebpf.Kprobe || p.SectionName != "kprobe/do_nanosleep" || p.AttachTo != "do_nanosleep" || p.License != "GPL" || p.ByteOrder != binary.LittleEndian {
		t.Errorf("program: type %v section %q attach %q license %q order %v", p.Type, p.SectionName, p.AttachTo, p.License, p.ByteOrder)
	}
	m := spec.Maps["sleeps"]
	if m == nil || m.Type != ebpf.Hash || m.KeySize != 4 || m.ValueSize != 8 || m.MaxEntries != 1024 {
		t.Errorf("map sleeps: %+v", m)
	}
	if spec.Types == nil {
		t.Error("the object has no BTF")
	}
	calls := map[int64]bool{}
	for _, ins := range p.Instructions {
		if ins.IsBuiltinCall() {
			calls[ins.Constant] = true
		}
	}
	for _, h := range []asm.BuiltinFunc{asm.FnGetCurrentTask, asm.FnProbeReadKernel, asm.FnMapLookupElem, asm.FnMapUpdateElem} {
		if !calls[int64(h)] {
			t.Errorf("the program does not call %v", h)
		}
	}
	return p
}

// loadIntoKernel loads a compiled sleeps object into the running kernel
// when it is for this machine's architecture: the verifier accepts it
// (CO-RE relocations resolve against the running kernel's BTF). Nothing
// is attached.
func loadIntoKernel(t *testing.T, arch, obj string) {
	t.Helper()
	if tk.SrcArch(arch) != kernelArch(runtime.GOARCH) {
		return
	}
	tk.NeedRoot(t)
	spec, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	coll, err := ebpf.NewCollection(spec)
	if errors.Is(err, os.ErrPermission) || errors.Is(err, ebpf.ErrNotSupported) {
		tk.Skip(t, "cannot load BPF programs here: %v", err)
	}
	if err != nil {
		t.Fatalf("the kernel rejects %s: %v", obj, err)
	}
	coll.Close()
}

// kernelArch maps a GOARCH to SRCARCH for the test architectures.
func kernelArch(goarch string) string {
	return map[string]string{"amd64": "x86", "arm64": "arm64"}[goarch]
}

// TestBuildHeaderTrees compiles task.bpf.c, which includes real kernel
// headers, against the x86_64 and the arm64 test kernels' trees on this
// host, and checks that the objects are valid BPF whose task_struct
// offsets are those of each kernel (from its BTF): the arm64 build really
// used the arm64 headers.
func TestBuildHeaderTrees(t *testing.T) {
	needCompilers(t, true)
	other := map[string]string{"x86_64": "arm64", "arm64": "x86_64"}
	for _, arch := range tk.Arches {
		t.Run(arch, func(t *testing.T) {
			tree := testTree(t, arch)
			out := filepath.Join(t.TempDir(), "task.bpf.o")
			var diag bytes.Buffer
			if err := Build(context.Background(), tree, testProgram(t, "task.bpf.c"), out, Options{Stderr: &diag}); err != nil {
				t.Fatalf("%v\n%s", err, diag.String())
			}
			if diag.Len() != 0 {
				t.Errorf("diagnostics from a clean program:\n%s", diag.String())
			}
			p := checkSleepsObject(t, out)
			loadIntoKernel(t, arch, out)
			off := memberOffset(t, arch, "task_struct", "tgid")
			if !addsConstant(p.Instructions, int64(off)) {
				t.Errorf("no rX += %d (task_struct.tgid in the %s kernel):\n%v", off, arch, p.Instructions)
			}
			if o := memberOffset(t, other[arch], "task_struct", "tgid"); o != off && addsConstant(p.Instructions, int64(o)) {
				t.Errorf("the %s object uses the %s offset %d", arch, other[arch], o)
			}
		})
	}
}

// TestBuildCORE compiles core.bpf.c against BTF trees made from both test
// kernels' BTF: clang -target bpfel, with a CO-RE relocation for the
// task_struct access.
func TestBuildCORE(t *testing.T) {
	needCompilers(t, false)
	for _, arch := range tk.Arches {
		t.Run(arch, func(t *testing.T) {
			tree := testBTFTree(t, arch)
			out := filepath.Join(t.TempDir(), "core.bpf.o")
			var diag bytes.Buffer
			// No llc is needed for a BTF tree.
			if err := Build(context.Background(), tree, testProgram(t, "core.bpf.c"), out, Options{Stderr: &diag, LLC: "/nonexistent/llc"}); err != nil {
				t.Fatalf("%v\n%s", err, diag.String())
			}
			p := checkSleepsObject(t, out)
			loadIntoKernel(t, arch, out)
			// The relocated instruction holds the local offset, from
			// vmlinux.h: that of the tree's kernel.
			off := memberOffset(t, arch, "task_struct", "tgid")
			var relos []string
			for _, ins := range p.Instructions {
				if r := btf.CORERelocationMetadata(&ins); r != nil {
					relos = append(relos, r.String())
					if ins.Constant != int64(off) {
						t.Errorf("relocated %v, want the constant %d (task_struct.tgid)", ins, off)
					}
				}
			}
			if len(relos) != 1 || !strings.Contains(relos[0], "byte_off") || !strings.Contains(relos[0], `"task_struct"`) {
				t.Errorf("CO-RE relocations %q, want one byte_off of task_struct", relos)
			}
		})
	}
}

// TestBuildErrors checks each way a build fails: a one-line error of the
// right kind, the compilers' diagnostics on Stderr, and no output file
// (or the previous one untouched).
func TestBuildErrors(t *testing.T) {
	needCompilers(t, true)
	tree := testTree(t, "x86_64")
	ctx := context.Background()
	dir := t.TempDir()
	out := filepath.Join(dir, "prog.bpf.o")
	noOutput := func(t *testing.T) {
		t.Helper()
		if ents, _ := os.ReadDir(dir); len(ents) != 0 {
			t.Errorf("a failed build left files: %v", ents)
		}
	}

	t.Run("missing source", func(t *testing.T) {
		err := Build(ctx, tree, filepath.Join(dir, "nope.bpf.c"), out, Options{})
		if !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%v", err)
		}
		noOutput(t)
	})
	t.Run("source is a directory", func(t *testing.T) {
		if err := Build(ctx, tree, t.TempDir(), out, Options{}); err == nil || !strings.Contains(err.Error(), "not a regular file") {
			t.Errorf("%v", err)
		}
		noOutput(t)
	})
	t.Run("output is the source", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "p.c")
		os.WriteFile(src, []byte("int x;\n"), 0o644)
		if err := Build(ctx, tree, src, src, Options{}); err == nil || !strings.Contains(err.Error(), "is the source file") {
			t.Errorf("%v", err)
		}
		if b, _ := os.ReadFile(src); string(b) != "int x;\n" {
			t.Errorf("source overwritten: %q", b)
		}
	})
	t.Run("compile error", func(t *testing.T) {
		var diag bytes.Buffer
		src := testProgram(t, "broken.bpf.c")
		err := Build(ctx, tree, src, out, Options{Stderr: &diag})
		var ce *CompileError
		if !errors.As(err, &ce) || ce.Tool != "clang" {
			t.Fatalf("%v", err)
		}
		msg := err.Error()
		if !strings.Contains(msg, "clang failed (exit status 1): "+src+":7:9: error: use of undeclared identifier 'no_such_variable'") || strings.Contains(msg, "\n") {
			t.Errorf("error %q", msg)
		}
		if !strings.Contains(diag.String(), "1 error generated") || ce.Diagnostics != diag.String() {
			t.Errorf("diagnostics %q / %q", diag.String(), ce.Diagnostics)
		}
		noOutput(t)
	})
	t.Run("inline asm", func(t *testing.T) {
		err := Build(ctx, tree, testProgram(t, "current.bpf.c"), out, Options{})
		var ce *CompileError
		if !errors.As(err, &ce) || ce.Tool != "llc" || !strings.Contains(err.Error(), "bpf_get_current_task") {
			t.Fatalf("%v", err)
		}
		noOutput(t)
	})
	t.Run("previous output kept", func(t *testing.T) {
		prev := filepath.Join(t.TempDir(), "p.o")
		os.WriteFile(prev, []byte("previous"), 0o600)
		if err := Build(ctx, tree, testProgram(t, "broken.bpf.c"), prev, Options{}); err == nil {
			t.Fatal("built a broken program")
		}
		if b, _ := os.ReadFile(prev); string(b) != "previous" {
			t.Errorf("output replaced by a failed build: %q", b)
		}
		if ents, _ := os.ReadDir(filepath.Dir(prev)); len(ents) != 1 {
			t.Errorf("temporary files left: %v", ents)
		}
	})
	t.Run("no clang", func(t *testing.T) {
		t.Setenv("PATH", t.TempDir())
		var mt *MissingToolError
		if err := Build(ctx, tree, testProgram(t, "task.bpf.c"), out, Options{}); !errors.As(err, &mt) || mt.Tool != "clang" || mt.Package != "clang" {
			t.Errorf("%v", err)
		}
		noOutput(t)
	})
	t.Run("named clang missing", func(t *testing.T) {
		if err := Build(ctx, tree, testProgram(t, "task.bpf.c"), out, Options{Clang: "/nonexistent/clang"}); err == nil || !strings.Contains(err.Error(), `clang "/nonexistent/clang"`) {
			t.Errorf("%v", err)
		}
		noOutput(t)
	})
	t.Run("no llc", func(t *testing.T) {
		// A clang (a wrapper script) whose directory has no llc, and no
		// llc in $PATH.
		bin := t.TempDir()
		clang, _ := findClang("")
		wrapper := filepath.Join(bin, "myclang")
		os.WriteFile(wrapper, []byte("#!/bin/sh\nexec "+clang+" \"$@\"\n"), 0o755)
		t.Setenv("PATH", bin)
		var mt *MissingToolError
		if err := Build(ctx, tree, testProgram(t, "task.bpf.c"), out, Options{Clang: wrapper}); !errors.As(err, &mt) || mt.Tool != "llc" || mt.Package != "llvm" {
			t.Errorf("%v", err)
		}
		noOutput(t)
	})
	t.Run("unknown arch", func(t *testing.T) {
		var ua *UnknownArchError
		if err := Build(ctx, tree, testProgram(t, "task.bpf.c"), out, Options{Arch: "pdp11"}); !errors.As(err, &ua) {
			t.Errorf("%v", err)
		}
		noOutput(t)
	})
	t.Run("cancelled", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		cancel()
		if err := Build(cctx, tree, testProgram(t, "task.bpf.c"), out, Options{}); !errors.Is(err, context.Canceled) {
			t.Errorf("%v", err)
		}
		noOutput(t)
	})
}

func TestFirstError(t *testing.T) {
	for _, tc := range []struct {
		diag  string
		first string
		n     int
	}{
		{"a.c:1:1: warning: w\na.c:2:1: error: e1\n  x\n  ^\na.c:3:1: error: e2\n2 errors generated.\n", "a.c:2:1: error: e1", 2},
		{"something odd\nlast line\n\n", "last line", 0},
		{"", "", 0},
	} {
		if first, n := firstError(tc.diag); first != tc.first || n != tc.n {
			t.Errorf("firstError(%q) = %q, %d", tc.diag, first, n)
		}
	}
	e := &CompileError{Tool: "clang", Source: "p.c", Err: errors.New("exit status 1"), Diagnostics: "x.h:1:1: error: e1\np.c:2:1: error: e2\n"}
	if got := e.Error(); got != "p.c: clang failed (exit status 1): x.h:1:1: error: e1 (and 1 more errors)" {
		t.Errorf("%s", got)
	}
}

// The header tree a Build needs is in the tree, not in Build's kind of
// tree check: a headers Kind with BTF files fails cleanly.
func TestBuildWrongKindLayout(t *testing.T) {
	tree := &kheaders.Tree{Manifest: kheaders.Manifest{Path: t.TempDir(), Kind: kheaders.KindHeaders, Arch: "x86"}}
	if err := Build(context.Background(), tree, "x.c", filepath.Join(t.TempDir(), "x.o"), Options{}); err == nil || !strings.Contains(err.Error(), "not a kernel header tree") {
		t.Errorf("%v", err)
	}
}

// BenchmarkBuild times Build of task.bpf.c against the x86_64 test
// kernel's tree ("kh") and, as the reference, the same clang | llc
// pipeline run by sh with the flags of CFlags ("clang|llc"): the
// difference is Build's own cost (planning, clang -print-resource-dir,
// the atomic write).
func BenchmarkBuild(b *testing.B) {
	clang, err := findClang("")
	if err != nil {
		b.Skip(err)
	}
	llc, err := findLLC("", clang)
	if err != nil {
		b.Skip(err)
	}
	archive := tk.File(b, "x86_64", "kheaders.tar.xz")
	d, err := os.MkdirTemp("/dev/shm", "kh-tracing-bench-")
	if err != nil {
		b.Skip(err)
	}
	os.Chmod(d, 0o755)
	cache := filepath.Join(d, "cache")
	defer func() {
		kheaders.Clean(context.Background(), kheaders.Options{CacheDir: cache}, true)
		os.RemoveAll(d)
	}()
	tree, err := kheaders.Fetch(context.Background(), kheaders.Options{From: archive, CacheDir: cache})
	if err != nil {
		b.Fatal(err)
	}
	_, file, _, _ := runtime.Caller(0)
	src := filepath.Join(filepath.Dir(file), "../testdata/tracing/task.bpf.c")
	out := filepath.Join(b.TempDir(), "task.bpf.o")
	b.Run("kh", func(b *testing.B) {
		for b.Loop() {
			if err := Build(context.Background(), tree, src, out, Options{}); err != nil {
				b.Fatal(err)
			}
		}
	})
	flags, _ := CFlags(tree, "")
	res, err := exec.Command(clang, "-print-resource-dir").Output()
	if err != nil {
		b.Fatal(err)
	}
	pipeline := clang + " " + shquote.Join(flags) + " -isystem " + strings.TrimSpace(string(res)) + "/include -O2 -g -emit-llvm -c -o - " + src + " | " + llc + " -march=bpfel -filetype=obj -o " + out
	b.Run("clang|llc", func(b *testing.B) {
		for b.Loop() {
			if o, err := exec.Command("sh", "-ec", pipeline).CombinedOutput(); err != nil {
				b.Fatalf("%v\n%s", err, o)
			}
		}
	})
}
