package btf

import (
	"encoding/binary"
	"flag"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ebtf "github.com/cilium/ebpf/btf"
)

var update = flag.Bool("update", false, "rewrite testdata/btf/go/*.btf (then run testdata/btf/gen.sh for the expected headers)")

// goCases are BTF inputs built in Go, for the rules that clang 14 cannot
// produce from C (ENUM64, enum signedness, top-level anonymous enums,
// GCC's quirks, 4-byte pointers, legacy bitfields, big-endian BTF). Each
// is written to testdata/btf/go/NAME.btf; NAME.h is bpftool's output.
var goCases = map[string]func() []byte{
	"enums":      func() []byte { return mustMarshal(enumTypes(), binary.LittleEndian) },
	"enums_be":   func() []byte { return mustMarshal(enumTypes(), binary.BigEndian) },
	"gcc_quirks": func() []byte { return mustMarshal(gccTypes(), binary.LittleEndian) },
	"ptr32":      func() []byte { return mustMarshal(ptr32Types(), binary.LittleEndian) },
	"names":      func() []byte { return mustMarshal(nameTypes(), binary.LittleEndian) },
	"protos":     func() []byte { return mustMarshal(protoTypes(), binary.LittleEndian) },
	"raw_kinds":  rawKinds,
}

func mustMarshal(types []ebtf.Type, bo binary.ByteOrder) []byte {
	raw, err := MarshalTypes(types, bo)
	if err != nil {
		panic(err)
	}
	return raw
}

var (
	tInt   = &ebtf.Int{Name: "int", Size: 4, Encoding: ebtf.Signed}
	tUint  = &ebtf.Int{Name: "unsigned int", Size: 4}
	tChar  = &ebtf.Int{Name: "char", Size: 1, Encoding: ebtf.Signed | ebtf.Char}
	tLong  = &ebtf.Int{Name: "long int", Size: 8, Encoding: ebtf.Signed}
	tULong = &ebtf.Int{Name: "long unsigned int", Size: 8}
)

func neg(v int64) uint64 { return uint64(v) }

func enumTypes() []ebtf.Type {
	big32 := &ebtf.Enum{Name: "big_u32", Size: 4, Values: []ebtf.EnumValue{{Name: "U_MAX", Value: math.MaxUint32}, {Name: "U_MID", Value: 1 << 31}, {Name: "U_ZERO"}}}
	neg32 := &ebtf.Enum{Name: "neg32", Size: 4, Signed: true, Values: []ebtf.EnumValue{{Name: "N_NEG", Value: neg(-1)}, {Name: "N_MIN", Value: neg(math.MinInt32)}, {Name: "N_POS", Value: 5}}}
	big64 := &ebtf.Enum{Name: "big64", Size: 8, Values: []ebtf.EnumValue{{Name: "B_MAX", Value: math.MaxUint64}, {Name: "B_HI", Value: 1 << 40}, {Name: "B_LO", Value: 1}}}
	neg64 := &ebtf.Enum{Name: "neg64", Size: 8, Signed: true, Values: []ebtf.EnumValue{{Name: "S_MIN", Value: neg(math.MinInt64)}, {Name: "S_NEG", Value: neg(-5)}, {Name: "S_POS", Value: 7}}}
	tiny := &ebtf.Enum{Name: "tiny", Size: 1, Values: []ebtf.EnumValue{{Name: "T_A", Value: 255}}}
	short := &ebtf.Enum{Name: "short_e", Size: 2, Signed: true, Values: []ebtf.EnumValue{{Name: "SH_A", Value: neg(-300)}}}
	// Values whose names clash: enumerators share a namespace with
	// typedefs and with each other.
	clash1 := &ebtf.Enum{Name: "clash1", Size: 4, Values: []ebtf.EnumValue{{Name: "CLASH", Value: 1}, {Name: "my_td", Value: 2}}}
	clash2 := &ebtf.Enum{Name: "clash2", Size: 8, Values: []ebtf.EnumValue{{Name: "CLASH", Value: 3}}}
	td := &ebtf.Typedef{Name: "my_td", Type: tInt}
	anonTop := &ebtf.Enum{Size: 4, Values: []ebtf.EnumValue{{Name: "TOP_A", Value: 1}, {Name: "TOP_B", Value: 2}}}
	anonTop64 := &ebtf.Enum{Size: 8, Values: []ebtf.EnumValue{{Name: "TOP64", Value: 1 << 33}}}
	anonTd := &ebtf.Typedef{Name: "anon_enum_t", Type: &ebtf.Enum{Size: 4, Values: []ebtf.EnumValue{{Name: "AT_X"}}}}
	emptyA := &ebtf.Enum{Name: "empty32", Size: 4}
	emptyB := &ebtf.Enum{Name: "empty32", Size: 4}
	empty64A := &ebtf.Enum{Name: "empty64", Size: 8}
	empty64B := &ebtf.Enum{Name: "empty64", Size: 8}
	user := &ebtf.Struct{Name: "enum_user", Size: 24, Members: []ebtf.Member{
		{Name: "a", Type: big32},
		{Name: "anon", Type: &ebtf.Enum{Size: 4, Values: []ebtf.EnumValue{{Name: "IN_MEMBER", Value: 9}}}, Offset: 32},
		{Name: "b", Type: neg64, Offset: 64},
		{Name: "e", Type: emptyA, Offset: 128},
		{Name: "f", Type: &ebtf.Pointer{Target: empty64B}, Offset: 128},
	}}
	return []ebtf.Type{big32, neg32, big64, neg64, tiny, short, td, clash1, clash2, anonTop, anonTop64, anonTd,
		emptyA, emptyB, empty64A, empty64B, user}
}

func gccTypes() []ebtf.Type {
	var types []ebtf.Type
	for _, p := range []struct {
		name string
		size uint32
	}{{"__Poly8_t", 1}, {"__Poly16_t", 2}, {"__Poly64_t", 8}, {"__Poly128_t", 16}} {
		types = append(types, &ebtf.Int{Name: p.name, Size: p.size})
	}
	gnuc := &ebtf.Typedef{Name: "__gnuc_va_list", Type: (*ebtf.Void)(nil)}
	builtin := &ebtf.Typedef{Name: "__builtin_va_list", Type: &ebtf.Pointer{Target: tChar}}
	vaList := &ebtf.Typedef{Name: "va_list", Type: builtin}
	// GCC puts const/volatile on arrays and volatile on noreturn
	// function pointers; libbpf drops them.
	constArr := &ebtf.Typedef{Name: "const_arr_t", Type: &ebtf.Const{Type: &ebtf.Array{Type: &ebtf.Const{Type: tInt}, Index: tInt, Nelems: 4}}}
	noreturn := &ebtf.Typedef{Name: "noreturn_fn_t", Type: &ebtf.Pointer{Target: &ebtf.Volatile{Type: &ebtf.FuncProto{Return: (*ebtf.Void)(nil), Params: []ebtf.FuncParam{{Type: tInt}}}}}}
	s := &ebtf.Struct{Name: "gcc_user", Size: 56, Members: []ebtf.Member{
		{Name: "p8", Type: types[0]},
		{Name: "gva", Type: &ebtf.Pointer{Target: gnuc}, Offset: 64},
		{Name: "va", Type: vaList, Offset: 128},
		{Name: "arr", Type: constArr, Offset: 192},
		{Name: "fn", Type: noreturn, Offset: 320},
		{Name: "p128", Type: types[3], Offset: 384},
	}}
	return append(types, gnuc, builtin, vaList, constArr, noreturn, s)
}

func ptr32Types() []ebtf.Type {
	long4 := &ebtf.Int{Name: "long int", Size: 4, Encoding: ebtf.Signed}
	ll := &ebtf.Int{Name: "long long int", Size: 8, Encoding: ebtf.Signed}
	s := &ebtf.Struct{Name: "s32", Size: 40, Members: []ebtf.Member{
		{Name: "c", Type: tChar},
		{Name: "p", Type: &ebtf.Pointer{Target: tChar}, Offset: 32},
		{Name: "l", Type: long4, Offset: 96},
		{Name: "q", Type: ll, Offset: 192},
		{Name: "tail", Type: tChar, Offset: 256},
	}}
	return []ebtf.Type{long4, ll, s}
}

func nameTypes() []ebtf.Type {
	dup1 := &ebtf.Struct{Name: "dup", Size: 4, Members: []ebtf.Member{{Name: "a", Type: tInt}}}
	dup2 := &ebtf.Struct{Name: "dup", Size: 8, Members: []ebtf.Member{{Name: "b", Type: tLong}}}
	dupU := &ebtf.Union{Name: "dup", Size: 4, Members: []ebtf.Member{{Name: "c", Type: tInt}}}
	dupE := &ebtf.Enum{Name: "dup", Size: 4, Values: []ebtf.EnumValue{{Name: "DUP_E"}}}
	dupF := &ebtf.Fwd{Name: "dup", Kind: ebtf.FwdStruct}
	dupT := &ebtf.Typedef{Name: "dup", Type: dup2}
	fwdU := &ebtf.Fwd{Name: "only_fwd", Kind: ebtf.FwdUnion}
	user := &ebtf.Struct{Name: "name_user", Size: 32, Members: []ebtf.Member{
		{Name: "d1", Type: &ebtf.Pointer{Target: dup1}},
		{Name: "d2", Type: dupT, Offset: 64},
		{Name: "f", Type: &ebtf.Pointer{Target: dupF}, Offset: 128},
		{Name: "u", Type: &ebtf.Pointer{Target: fwdU}, Offset: 192},
	}}
	return []ebtf.Type{user, dupU, dup2, dupE, dup1, dupF, dupT, fwdU}
}

func protoTypes() []ebtf.Type {
	noParams := &ebtf.FuncProto{Return: tInt}
	voidParam := &ebtf.FuncProto{Return: tInt, Params: []ebtf.FuncParam{{Type: (*ebtf.Void)(nil)}}}
	varargs := &ebtf.FuncProto{Return: (*ebtf.Void)(nil), Params: []ebtf.FuncParam{{Name: "fmt", Type: &ebtf.Pointer{Target: &ebtf.Const{Type: tChar}}}, {Type: (*ebtf.Void)(nil)}}}
	named := &ebtf.FuncProto{Return: tLong, Params: []ebtf.FuncParam{{Name: "a", Type: tInt}, {Name: "b", Type: &ebtf.Pointer{Target: tULong}}}}
	anonStruct := &ebtf.Struct{Size: 4, Members: []ebtf.Member{{Name: "x", Type: tInt}}}
	retAnon := &ebtf.FuncProto{Return: &ebtf.Pointer{Target: anonStruct}, Params: []ebtf.FuncParam{{Name: "arg", Type: tUint}}}
	fn := &ebtf.Func{Name: "some_func", Type: named, Linkage: ebtf.GlobalFunc}
	return []ebtf.Type{
		&ebtf.Typedef{Name: "no_params_t", Type: &ebtf.Pointer{Target: noParams}},
		&ebtf.Typedef{Name: "void_param_t", Type: &ebtf.Pointer{Target: voidParam}},
		&ebtf.Typedef{Name: "varargs_t", Type: &ebtf.Pointer{Target: varargs}},
		&ebtf.Typedef{Name: "named_fn_t", Type: named},
		&ebtf.Typedef{Name: "ret_anon_t", Type: &ebtf.Pointer{Target: retAnon}},
		&ebtf.Typedef{Name: "fn_arr_t", Type: &ebtf.Array{Type: &ebtf.Pointer{Target: named}, Index: tInt, Nelems: 3}},
		fn,
	}
}

// rawKinds covers encodings that cilium/ebpf's Builder does not write.
func rawKinds() []byte {
	b := newRaw()
	intT := b.add("int", info(kindInt, 0, false), 4, 1<<24|32)
	uintT := b.add("unsigned int", info(kindInt, 0, false), 4, 32)
	// Legacy bitfields: no kind flag, the bits live in the INT type.
	bits3 := b.add("unsigned int", info(kindInt, 0, false), 4, 3)
	b.add("legacy", info(kindStruct, 3, false), 8, b.str("a"), bits3, 0, b.str("b"), bits3, 3, b.str("c"), intT, 32)
	// An 8-byte ENUM (not ENUM64), as old pahole wrote.
	b.add("wide", info(kindEnum, 2, false), 8, b.str("W_A"), 1, b.str("W_B"), 0xffffffff)
	// A top-level anonymous enum referenced only by a DECL_TAG: libbpf
	// counts that as a reference and so does not print it.
	anon := b.add("", info(kindEnum, 1, false), 4, b.str("TAGGED_ANON"), 4)
	b.add("tag", info(kindDeclTag, 0, false), anon, 0xffffffff)
	// A kind-flag struct without bitfields, a FLOAT and a typedef of it.
	flt := b.add("double", info(kindFloat, 0, false), 8)
	b.add("kflag_nobits", info(kindStruct, 2, true), 16, b.str("x"), uintT, 0, b.str("d"), flt, 64)
	b.add("real_t", info(kindTypedef, 0, false), flt)
	// VAR and DATASEC are skipped but count as references.
	anon2 := b.add("", info(kindEnum, 1, false), 4, b.str("VAR_ANON"), 1)
	v := b.add("g", info(kindVar, 0, false), anon2, 1)
	b.add(".data", info(kindDatasec, 1, false), 4, v, 0, 4)
	return b.bytes(binary.LittleEndian)
}

func TestGoBuiltCases(t *testing.T) {
	for name, build := range goCases {
		t.Run(name, func(t *testing.T) {
			raw := build()
			btfPath := testdata("go", name+".btf")
			if *update {
				if err := os.MkdirAll(filepath.Dir(btfPath), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(btfPath, raw, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			stored, err := os.ReadFile(btfPath)
			if err != nil {
				t.Fatalf("%v (run go test -run TestGoBuiltCases -update, then testdata/btf/gen.sh)", err)
			}
			if string(stored) != string(raw) {
				t.Fatalf("%s is stale: run go test -run TestGoBuiltCases -update, then testdata/btf/gen.sh", btfPath)
			}
			want, err := os.ReadFile(strings.TrimSuffix(btfPath, ".btf") + ".h")
			if err != nil {
				t.Fatalf("%v (run testdata/btf/gen.sh)", err)
			}
			s, err := Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			sameText(t, name, cHeader(t, s, &Options{Unsorted: true, libbpfBugs: true}), want)
		})
	}
}

// TestGolden compares WriteC with bpftool's output stored in testdata:
// the C snippets compiled with clang (testdata/btf/c) and a kernel
// module's split BTF on the x86_64 test kernel.
func TestGolden(t *testing.T) {
	objs, err := filepath.Glob(testdata("c", "*.o"))
	if err != nil || len(objs) == 0 {
		t.Fatalf("no testdata/btf/c/*.o (%v): run testdata/btf/gen.sh", err)
	}
	for _, o := range objs {
		name := strings.TrimSuffix(filepath.Base(o), ".o")
		t.Run(name, func(t *testing.T) {
			want, err := os.ReadFile(strings.TrimSuffix(o, ".o") + ".h")
			if err != nil {
				t.Fatal(err)
			}
			sameText(t, name, cHeader(t, mustLoad(t, o, nil), &Options{Unsorted: true, libbpfBugs: true}), want)
		})
	}
	t.Run("khtest_split", func(t *testing.T) {
		base := mustLoad(t, filepath.Join(testkernel(t, "x86_64"), "vmlinux.btf"), nil)
		want, err := os.ReadFile(testdata("khtest.h"))
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range []string{"khtest.btf", "khtest.ko"} {
			sameText(t, f, cHeader(t, mustLoad(t, testdata(f), base), &Options{Unsorted: true, libbpfBugs: true}), want)
		}
	})
}
