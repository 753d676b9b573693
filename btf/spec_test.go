package btf

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ebtf "github.com/cilium/ebpf/btf"
)

func readTestdata(t *testing.T, parts ...string) []byte {
	t.Helper()
	data, err := os.ReadFile(testdata(parts...))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestParseErrors(t *testing.T) {
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	exeData, err := os.ReadFile(exe) // an ELF file without .BTF
	if err != nil {
		t.Fatal(err)
	}
	good := readTestdata(t, "go", "names.btf")
	withVersion := func(v byte) []byte {
		b := bytes.Clone(good)
		b[2] = v
		return b
	}
	loop := newRaw()
	loop.add("a_t", info(kindTypedef, 0, false), 2)
	loop.add("b_t", info(kindTypedef, 0, false), 1)
	unknownKind := newRaw()
	unknownKind.add("x", info(25, 0, false), 0)
	memberFunc := newRaw()
	proto := memberFunc.add("", info(kindFuncProto, 0, false), 0)
	fn := memberFunc.add("f", info(kindFunc, 0, false), proto)
	memberFunc.add("s", info(kindStruct, 1, false), 4, memberFunc.str("m"), fn, 0)
	badRef := newRaw()
	badRef.add("p", info(kindPtr, 0, false), 7)
	badName := newRaw()
	badName.add("int", info(kindInt, 0, false), 4, 32)
	badName.words[0] = 9999
	funcNotProto := newRaw()
	i := funcNotProto.add("int", info(kindInt, 0, false), 4, 32)
	funcNotProto.add("f", info(kindFunc, 0, false), i)
	voidParam := newRaw()
	voidParam.add("", info(kindFuncProto, 2, false), 0, 0, 0, 0, 0)

	for _, tc := range []struct {
		name string
		data []byte
		want error
	}{
		{"empty", nil, ErrNotBTF},
		{"one byte", []byte{0x9f}, ErrNotBTF},
		{"text", []byte("#ifndef __VMLINUX_H__\n"), ErrNotBTF},
		{"elf without .BTF", exeData, ErrNotBTF},
		{"truncated ELF", exeData[:100], ErrCorrupt},
		{"header only", good[:10], ErrCorrupt},
		{"truncated", good[:len(good)-10], ErrCorrupt},
		{"version 2", withVersion(2), ErrUnsupported},
		{"reference loop", loop.bytes(binary.LittleEndian), ErrCorrupt},
		{"unknown kind", unknownKind.bytes(binary.LittleEndian), ErrUnsupported},
		{"member is a function", memberFunc.bytes(binary.LittleEndian), ErrCorrupt},
		{"dangling reference", badRef.bytes(binary.LittleEndian), ErrNeedBase},
		{"name out of range", badName.bytes(binary.LittleEndian), ErrCorrupt},
		{"FUNC of an INT", funcNotProto.bytes(binary.LittleEndian), ErrCorrupt},
		{"void parameter before the last", voidParam.bytes(binary.LittleEndian), ErrCorrupt},
		{"split BTF without base", readTestdata(t, "khtest.btf"), ErrNeedBase},
		{"module without base", readTestdata(t, "khtest.ko"), ErrNeedBase},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.data)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Parse = %v, %v; want error %v", s, err, tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestLoadErrors(t *testing.T) {
	dir := t.TempDir()
	obj := readTestdata(t, "c", "funcs.o")
	for name, tc := range map[string]struct {
		data []byte
		want error
	}{
		"truncated ELF":   {obj[:len(obj)/2], ErrCorrupt},
		"ELF header only": {obj[:64], ErrCorrupt},
		"empty":           {nil, ErrNotBTF},
	} {
		p := filepath.Join(dir, strings.ReplaceAll(name, " ", "_"))
		if err := os.WriteFile(p, tc.data, 0o644); err != nil {
			t.Fatal(err)
		}
		if s, err := Load(p); !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), p+": ") {
			t.Errorf("%s: Load = %v, %v; want %v prefixed with the path", name, s, err, tc.want)
		}
	}
	if _, err := Load(dir); err == nil {
		t.Error("Load of a directory succeeded")
	}
	if _, err := LoadModule("../vmlinux", nil); err == nil {
		t.Error("LoadModule accepted a path")
	}
	if _, err := LoadModule("x", nil); !errors.Is(err, ErrNeedBase) {
		t.Errorf("LoadModule without base: %v", err)
	}
}

func TestBaseMismatch(t *testing.T) {
	split := readTestdata(t, "khtest.btf")
	for _, base := range []string{"enums.btf", "names.btf"} {
		b := mustLoad(t, testdata("go", base), nil)
		if s, err := ParseSplit(split, b); !errors.Is(err, ErrBaseMismatch) {
			t.Errorf("khtest.btf on %s: %v, %v; want ErrBaseMismatch", base, s, err)
		}
	}
	if dir, ok := testkernelDir(t, "arm64"); ok {
		b := mustLoad(t, filepath.Join(dir, "vmlinux.btf"), nil)
		if s, err := ParseSplit(split, b); !errors.Is(err, ErrBaseMismatch) {
			t.Errorf("x86_64 module on the arm64 kernel: %v, %v; want ErrBaseMismatch", s, err)
		}
		split2 := mustLoad(t, testdata("khtest.btf"), mustLoad(t, filepath.Join(testkernel(t, "x86_64"), "vmlinux.btf"), nil))
		if _, err := ParseSplit(split, split2); err == nil {
			t.Error("split BTF accepted as a base")
		}
	}
}

// TestSplitOnTinyBase builds split BTF by hand on a small base.
func TestSplitOnTinyBase(t *testing.T) {
	base := mustLoad(t, testdata("go", "names.btf"), nil)
	b := newSplitRaw(base)
	intID, err := typeIDByName(base, "int")
	if err != nil {
		t.Fatal(err)
	}
	s := b.add("added", info(kindStruct, 1, false), 4, b.str("x"), intID, 0)
	b.add("added_t", info(kindTypedef, 0, false), s)
	split, err := ParseSplit(b.bytes(binary.LittleEndian), base)
	if err != nil {
		t.Fatal(err)
	}
	if split.FirstID() != TypeID(base.NumTypes()+1) || split.NumTypes() != base.NumTypes()+2 || split.Base() != base {
		t.Fatalf("FirstID %d NumTypes %d, base has %d", split.FirstID(), split.NumTypes(), base.NumTypes())
	}
	want := "struct added {\n\tint x;\n};\n\ntypedef struct added added_t;\n\n"
	got := string(cHeader(t, split, &Options{SplitOnly: true, Guard: "__ADDED_H__", Legacy: true}))
	if !strings.Contains(got, "#define __ADDED_H__\n") || !strings.Contains(got, "#endif\n\n"+want+"#ifndef") {
		t.Errorf("SplitOnly Legacy header:\n%s\nwant body:\n%s", got, want)
	}
	for _, o := range []Options{{}, {Unsorted: true}} {
		o.SplitOnly, o.Guard = true, "__ADDED_H__"
		got := string(cHeader(t, split, &o))
		if !strings.Contains(got, macroBlocks+want+"\n/* BPF kfuncs */\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n#endif\n\n#ifndef") {
			t.Errorf("SplitOnly header (%+v):\n%s\nwant body:\n%s", o, got, want)
		}
	}
}

func typeIDByName(s *Spec, name string) (uint32, error) {
	for id := 1; id <= s.NumTypes(); id++ {
		if s.name(s.types[id].name) == name {
			return uint32(id), nil
		}
	}
	return 0, errors.New("no type " + name)
}

// TestSplitOnly checks that the full header for split BTF in BTF ID
// order and without bpftool v7.5's additions (Legacy) is the base's
// header with the SplitOnly body appended, for the x86_64 test kernel's
// kheaders.ko and the khtest module. (Sorted, the base's types and the
// module's interleave; the truth test compiles those headers.)
func TestSplitOnly(t *testing.T) {
	dir := testkernel(t, "x86_64")
	base := mustLoad(t, filepath.Join(dir, "vmlinux.btf"), nil)
	legacy := &Options{Legacy: true}
	baseH := cHeader(t, base, legacy)
	body := func(h []byte, guard string) string {
		s := string(h)
		head := "#ifndef " + guard + "\n#define " + guard + "\n\n#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n#endif\n\n"
		foot := "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n#endif /* " + guard + " */\n"
		if !strings.HasPrefix(s, head) || !strings.HasSuffix(s, foot) {
			t.Fatalf("header for guard %s lacks bpftool's head or foot", guard)
		}
		return s[len(head) : len(s)-len(foot)]
	}
	for _, f := range []string{testdata("khtest.btf"), filepath.Join(dir, "kheaders.ko")} {
		split := mustLoad(t, f, base)
		full := cHeader(t, split, legacy)
		only := cHeader(t, split, &Options{SplitOnly: true, Guard: GuardFor("khtest"), Legacy: true})
		if got, want := body(baseH, DefaultGuard)+body(only, "__KHTEST_H__"), body(full, DefaultGuard); got != want {
			t.Errorf("%s: base body + split body (%d bytes) != full body (%d bytes)", f, len(got), len(want))
		}
	}
	if _, err := appendC(context.Background(), nil, base, &Options{SplitOnly: true, Guard: "__X_H__"}, MaxOutput); err == nil {
		t.Error("SplitOnly accepted BTF without a base")
	}
	split := mustLoad(t, testdata("khtest.btf"), base)
	if _, err := appendC(context.Background(), nil, split, &Options{SplitOnly: true}, MaxOutput); err == nil {
		t.Error("SplitOnly accepted the default guard")
	}
}

func TestGuardCheck(t *testing.T) {
	s := mustLoad(t, testdata("go", "names.btf"), nil)
	for _, g := range []string{"X Y", "1ABC", "A\n#define", "__A-B__"} {
		if _, err := AppendC(context.Background(), nil, s, &Options{Guard: g}); err == nil {
			t.Errorf("guard %q accepted", g)
		}
	}
	if _, err := AppendC(context.Background(), nil, s, &Options{Guard: "_A1"}); err != nil {
		t.Error(err)
	}
}

func TestGuardFor(t *testing.T) {
	for in, want := range map[string]string{"nf_tables": "__NF_TABLES_H__", "khtest.ko": "__KHTEST_KO_H__", "a-b9": "__A_B9_H__"} {
		if got := GuardFor(in); got != want {
			t.Errorf("GuardFor(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestWriteErrors checks that generation errors write nothing.
func TestWriteErrors(t *testing.T) {
	// struct a { struct { struct a x; } *p; }: the anonymous struct must
	// be defined inline, so a is needed by value inside itself.
	b := newRaw()
	b.add("a", info(kindStruct, 1, false), 8, b.str("p"), 2, 0)
	b.add("", info(kindPtr, 0, false), 3)
	b.add("", info(kindStruct, 1, false), 8, b.str("x"), 1, 0)
	s, err := Parse(b.bytes(binary.LittleEndian))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteC(context.Background(), &buf, s, nil); err == nil || !strings.Contains(err.Error(), "cycle") || buf.Len() != 0 {
		t.Fatalf("WriteC = %v with %d bytes written; want a type cycle error and nothing written", err, buf.Len())
	}

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	big := mustLoad(t, testdata("go", "enums.btf"), nil)
	// Make a Spec large enough for the writer to look at ctx.
	var types []ebtf.Type
	for range 3000 {
		types = append(types, &ebtf.Struct{Name: "s", Size: 4, Members: []ebtf.Member{{Name: "x", Type: tInt}}})
	}
	if big, err = FromTypes(types); err != nil {
		t.Fatal(err)
	}
	buf.Reset()
	if err := WriteC(ctx, &buf, big, nil); !errors.Is(err, context.Canceled) || buf.Len() != 0 {
		t.Fatalf("WriteC with a cancelled context = %v, %d bytes; want context.Canceled and nothing", err, buf.Len())
	}
}

func TestCompressedAndFromTypes(t *testing.T) {
	raw := readTestdata(t, "go", "enums.btf")
	want := readTestdata(t, "go", "enums.h")
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(raw)
	zw.Close()
	s, err := Parse(gz.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	unsorted := &Options{Unsorted: true, libbpfBugs: true}
	sameText(t, "gzip", cHeader(t, s, unsorted), want)
	if s, err = FromTypes(enumTypes()); err != nil {
		t.Fatal(err)
	}
	sameText(t, "FromTypes", cHeader(t, s, unsorted), want)
	if !bytes.Equal(s.RawBTF(), raw) {
		t.Error("RawBTF differs from the marshalled types")
	}
}

// TestCilium cross-checks the parser with cilium/ebpf's: same type IDs,
// names and kinds.
func TestCilium(t *testing.T) {
	check := func(t *testing.T, s *Spec) {
		cs, err := s.Cilium()
		if err != nil {
			t.Fatal(err)
		}
		for id := 1; id <= s.NumTypes(); id++ {
			typ, err := cs.TypeByID(ebtf.TypeID(id))
			if err != nil {
				t.Fatalf("cilium/ebpf: type %d: %v", id, err)
			}
			rt := &s.types[id]
			if rt.kind() == kindDeclTag {
				continue // cilium/ebpf folds DECL_TAGs into their targets
			}
			got := typ.TypeName()
			if tt, ok := typ.(*ebtf.TypeTag); ok {
				got = tt.Value // cilium/ebpf has no name for a TYPE_TAG
			}
			if want := s.name(rt.name); got != want {
				t.Fatalf("type %d: name %q, cilium/ebpf says %q", id, want, got)
			}
			if !kindMatches(rt.kind(), typ) {
				t.Fatalf("type %d: kind %s, cilium/ebpf says %T", id, kindNames[rt.kind()], typ)
			}
		}
		if _, err := cs.TypeByID(ebtf.TypeID(s.NumTypes() + 1)); err == nil {
			t.Fatalf("cilium/ebpf has more than %d types", s.NumTypes())
		}
	}
	files, _ := filepath.Glob(testdata("c", "*.o"))
	more, _ := filepath.Glob(testdata("go", "*.btf"))
	for _, f := range append(files, more...) {
		if filepath.Base(f) == "raw_kinds.btf" {
			continue // cilium/ebpf rejects a DECL_TAG on an enum
		}
		t.Run(filepath.Base(f), func(t *testing.T) { check(t, mustLoad(t, f, nil)) })
	}
	t.Run("khtest", func(t *testing.T) {
		base := mustLoad(t, filepath.Join(testkernel(t, "x86_64"), "vmlinux.btf"), nil)
		check(t, mustLoad(t, testdata("khtest.btf"), base))
	})
}

func kindMatches(kind int, typ ebtf.Type) bool {
	switch typ.(type) {
	case *ebtf.Int:
		return kind == kindInt
	case *ebtf.Pointer:
		return kind == kindPtr
	case *ebtf.Array:
		return kind == kindArray
	case *ebtf.Struct:
		return kind == kindStruct
	case *ebtf.Union:
		return kind == kindUnion
	case *ebtf.Enum:
		return kind == kindEnum || kind == kindEnum64
	case *ebtf.Fwd:
		return kind == kindFwd
	case *ebtf.Typedef:
		return kind == kindTypedef
	case *ebtf.Volatile:
		return kind == kindVolatile
	case *ebtf.Const:
		return kind == kindConst
	case *ebtf.Restrict:
		return kind == kindRestrict
	case *ebtf.Func:
		return kind == kindFunc
	case *ebtf.FuncProto:
		return kind == kindFuncProto
	case *ebtf.Var:
		return kind == kindVar
	case *ebtf.Datasec:
		return kind == kindDatasec
	case *ebtf.Float:
		return kind == kindFloat
	case *ebtf.TypeTag:
		return kind == kindTypeTag
	}
	return false
}

// TestTruncationsAndFlips feeds every prefix and every single-byte
// corruption of small BTF to Parse and WriteC: errors are fine, panics
// and hangs are not.
func TestTruncationsAndFlips(t *testing.T) {
	for _, f := range []string{"go/names.btf", "go/raw_kinds.btf", "c/funcs.o"} {
		data := readTestdata(t, strings.Split(f, "/")...)
		try := func(d []byte) {
			if s, err := Parse(d); err == nil {
				// A flipped size can ask for megabytes of padding:
				// a lower limit than MaxOutput keeps this quick.
				_, _ = appendC(context.Background(), nil, s, nil, 64<<10)
			}
		}
		for n := range len(data) {
			try(data[:n])
		}
		for i := range data {
			for _, x := range []byte{0x01, 0x80, 0xff} {
				d := bytes.Clone(data)
				d[i] ^= x
				try(d)
			}
		}
	}
}

func FuzzParseWriteC(f *testing.F) {
	for _, p := range []string{"go/names.btf", "go/enums.btf", "go/raw_kinds.btf", "go/protos.btf"} {
		data, err := os.ReadFile(testdata(strings.Split(p, "/")...))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Parse(data)
		if err != nil {
			return
		}
		_, _ = appendC(context.Background(), nil, s, nil, 64<<10)
	})
}
