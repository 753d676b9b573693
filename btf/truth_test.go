package btf

import (
	"bytes"

	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"

	ebtf "github.com/cilium/ebpf/btf"
	tk "github.com/khtool/kh/internal/testkernel"
)

// The truth test: is the header right for every type? For each BTF at
// hand it writes the header (default options), then C that checks with
// _Static_assert, for every named struct and union (and every typedef
// of an anonymous one), its sizeof and _Alignof, the byte offset and the
// size of every member that is not a bitfield (members of anonymous
// members included), and the size of every named enum; it compiles that
// with clang -target bpf -g, so that a mismatch fails the build, and
// then compares the object's own BTF, which clang derives from the
// header, with the source BTF for every record with bitfields (a
// variable of each puts it there): the record's size, and every
// member's name, bit offset and bitfield width. Only what C on the BPF target
// cannot express is left out, by name: a record that holds a va_list
// (clang's BPF target has its own __builtin_va_list) and BTF with 4-byte
// pointers (BPF's are 8 bytes).

// truthGen generates the checks for one header.
type truthGen struct {
	spec  *Spec
	d     *dumper // the writer's final state: the names it printed
	first uint32  // the first type to check
	c     bytes.Buffer
	// C spelling ("struct foo___2", "foo_t") -> source type, for the
	// comparison with the object's BTF.
	records map[string]uint32
	vaMemo  map[uint32]bool

	types, members, bitfields, enums, asserts int
	excluded                                  []string
}

func (g *truthGen) assert(cond, what string) {
	g.asserts++
	fmt.Fprintf(&g.c, "_Static_assert(%s, %q);\n", cond, what)
}

// strip returns id without its modifiers.
func (g *truthGen) strip(id uint32) uint32 {
	for id != 0 {
		switch g.spec.types[id].kind() {
		case kindConst, kindVolatile, kindRestrict, kindTypeTag:
			id = g.spec.types[id].st
		default:
			return id
		}
	}
	return id
}

// hasVaList reports whether type id holds a va_list by value.
func (g *truthGen) hasVaList(id uint32) bool {
	if v, ok := g.vaMemo[id]; ok {
		return v
	}
	g.vaMemo[id] = false
	t := &g.spec.types[id]
	v := false
	switch t.kind() {
	case kindTypedef:
		n := g.spec.name(t.name)
		v = n == "__builtin_va_list" || (n == "__gnuc_va_list" && t.st == 0) || (t.st != 0 && g.hasVaList(t.st))
	case kindConst, kindVolatile, kindRestrict, kindTypeTag:
		v = t.st != 0 && g.hasVaList(t.st)
	case kindArray:
		elem, _, _ := g.spec.array(t)
		v = g.hasVaList(elem)
	case kindStruct, kindUnion:
		for i := 0; i < t.vlen() && !v; i++ {
			_, typ, _ := g.spec.member(t, i)
			v = g.hasVaList(typ)
		}
	}
	g.vaMemo[id] = v
	return v
}

// memberBits returns a member's bit offset and bitfield width (0: not a
// bitfield), from the kind flag encoding or the legacy one (an INT of
// fewer bits than its size).
func (g *truthGen) memberBits(t *rtype, i int) (name string, typ, off, width uint32) {
	nameOff, typ, raw := g.spec.member(t, i)
	name = g.spec.name(nameOff)
	if t.kflag() {
		return name, typ, raw & 0xffffff, raw >> 24
	}
	if it := &g.spec.types[g.strip(typ)]; it.kind() == kindInt {
		enc := g.spec.words[it.rest]
		bits, intOff := enc&0xff, enc>>16&0xff
		if bits != 8*it.st || intOff != 0 {
			return name, typ, raw + intOff, bits
		}
	}
	return name, typ, raw, 0
}

// isAnonRecord reports whether id (without modifiers) is an anonymous
// struct or union, and returns it.
func (g *truthGen) isAnonRecord(id uint32) (uint32, bool) {
	id = g.strip(id)
	t := &g.spec.types[id]
	return id, id != 0 && (t.kind() == kindStruct || t.kind() == kindUnion) && t.name == 0
}

// members checks the members of record id, at bit offset base within the
// checked type cT, reached through the member designator prefix.
func (g *truthGen) checkMembers(cT string, id uint32, base uint32, prefix string) {
	t := &g.spec.types[id]
	for i := 0; i < t.vlen(); i++ {
		name, typ, off, width := g.memberBits(t, i)
		if name == "" {
			if anon, ok := g.isAnonRecord(typ); ok {
				g.checkMembers(cT, anon, base+off, prefix)
			}
			continue // unnamed padding
		}
		g.members++
		if width != 0 {
			g.bitfields++ // checked through the object's BTF
			continue
		}
		if g.hasVaList(typ) {
			continue
		}
		designator := prefix + name
		what := cT + "." + designator
		if (base+off)%8 != 0 {
			g.assert("0", fmt.Sprintf("%s: BTF puts it at bit %d, not on a byte", what, base+off))
			continue
		}
		g.assert(fmt.Sprintf("__builtin_offsetof(%s, %s) == %d", cT, designator, (base+off)/8), fmt.Sprintf("%s: offset %d", what, (base+off)/8))
		if sz := g.d.resolveSize(typ); sz >= 0 {
			g.assert(fmt.Sprintf("sizeof(((%s *)0)->%s) == %d", cT, designator, sz), fmt.Sprintf("%s: size %d", what, sz))
		}
		if anon, ok := g.isAnonRecord(typ); ok {
			g.checkMembers(cT, anon, base+off, designator+".")
		}
	}
}

// generate writes the checks of every type from g.first on.
func (g *truthGen) generate() {
	n := uint32(len(g.spec.types))
	for id := g.first; id < n; id++ {
		t := &g.spec.types[id]
		var cT string
		rec := id
		switch t.kind() {
		case kindStruct, kindUnion:
			if t.name == 0 {
				continue // checked where it is used
			}
			name, ok := g.d.printedName(id)
			if !ok {
				g.assert("0", fmt.Sprintf("type %d (%s) was not written", id, g.spec.name(t.name)))
				continue
			}
			cT = map[int]string{kindStruct: "struct ", kindUnion: "union "}[t.kind()] + name
		case kindTypedef:
			target := g.strip(t.st)
			tt := &g.spec.types[target]
			if target == 0 || tt.name != 0 {
				continue
			}
			name, ok := g.d.printedName(id)
			if !ok {
				continue // __builtin_va_list
			}
			switch tt.kind() {
			case kindStruct, kindUnion:
				cT, rec = name, target
			case kindEnum, kindEnum64:
				g.enums++
				g.assert(fmt.Sprintf("sizeof(%s) == %d", name, tt.st), fmt.Sprintf("%s: size %d", name, tt.st))
				continue
			default:
				continue
			}
		case kindEnum, kindEnum64:
			if t.name == 0 || t.vlen() == 0 {
				continue // anonymous: checked as members; no values: incomplete
			}
			name, _ := g.d.printedName(id)
			g.enums++
			g.assert(fmt.Sprintf("sizeof(enum %s) == %d", name, t.st), fmt.Sprintf("enum %s: size %d", name, t.st))
			continue
		default:
			continue
		}
		if g.hasVaList(rec) {
			g.excluded = append(g.excluded, cT+" (va_list)")
			continue
		}
		if g.overlap(rec) {
			g.excluded = append(g.excluded, cT+" (overlapping members)")
			continue
		}
		g.types++
		rt := &g.spec.types[rec]
		g.assert(fmt.Sprintf("sizeof(%s) == %d", cT, rt.st), fmt.Sprintf("%s: size %d", cT, rt.st))
		if a := g.align(rec); a > 0 {
			g.assert(fmt.Sprintf("_Alignof(%s) == %d", cT, a), fmt.Sprintf("%s: alignment %d", cT, a))
		}
		bitfields := g.bitfields
		g.checkMembers(cT, rec, 0, "")
		if g.bitfields > bitfields {
			// A variable of the record puts its definition into the
			// object's BTF, for its bitfields. (The assertions cover
			// the rest; compiling with -g every record would take
			// twenty times as long.)
			g.records[cT] = rec
			fmt.Fprintf(&g.c, "%s __kh_v%d;\n", cT, id)
		}
	}
}

// align is the alignment the BTF layout implies under the C ABI of the
// kernels' 64-bit targets: a scalar's is its size (a 16-byte integer's
// is 16, where libbpf's btf__align_of says 8), a record's its largest
// member's, unless a member is off its alignment or the size is not a
// multiple of it: packed, 1. 0: unknown.
func (g *truthGen) align(id uint32) int {
	t := &g.spec.types[id]
	switch t.kind() {
	case kindInt, kindEnum, kindEnum64, kindFloat:
		return int(t.st)
	case kindPtr:
		return 8
	case kindTypedef, kindVolatile, kindConst, kindRestrict, kindTypeTag:
		return g.align(t.st)
	case kindArray:
		elem, _, _ := g.spec.array(t)
		return g.align(elem)
	case kindStruct, kindUnion:
		maxAlign := 1
		for i := 0; i < t.vlen(); i++ {
			_, typ, off, width := g.memberBits(t, i)
			a := g.align(typ)
			if a <= 0 {
				return a
			}
			// A named bitfield aligns its record as its type does.
			maxAlign = max(maxAlign, a)
			if width == 0 && off%uint32(8*a) != 0 {
				return 1
			}
		}
		if t.st%uint32(maxAlign) != 0 {
			return 1
		}
		return maxAlign
	}
	return 0
}

// overlap reports whether two members of struct id overlap, which a C
// struct cannot express.
func (g *truthGen) overlap(id uint32) bool {
	t := &g.spec.types[id]
	if t.kind() != kindStruct {
		return false
	}
	end := uint32(0)
	for i := 0; i < t.vlen(); i++ {
		_, typ, off, width := g.memberBits(t, i)
		if off < end {
			return true
		}
		if width != 0 {
			end = off + width
		} else if sz := g.d.resolveSize(typ); sz >= 0 {
			end = off + uint32(sz)*8
		}
	}
	return false
}

// truthCase is one header to check.
type truthCase struct {
	name string
	spec *Spec
	opts *Options
	// pre is a header to include first (the base's, for SplitOnly).
	pre []byte
}

var assertFailed = regexp.MustCompile(`static_assert failed[^"]*"([^"]*)"`)

// checkTruth runs the truth test on one header and returns the counts,
// or an error that lists the mismatches.
func checkTruth(t *testing.T, clang string, tc truthCase) (*truthGen, error) {
	t.Helper()
	var d *dumper
	opts := Options{}
	if tc.opts != nil {
		opts = *tc.opts
	}
	opts.done = func(x *dumper) { d = x }
	header := cHeader(t, tc.spec, &opts)
	first := uint32(1)
	if opts.SplitOnly {
		first = uint32(tc.spec.firstID)
	}
	g := &truthGen{spec: tc.spec, d: d, first: first, records: map[string]uint32{}, vaMemo: map[uint32]bool{}}
	g.generate()

	dir := t.TempDir()
	if keep := os.Getenv("KH_TRUTH_DIR"); keep != "" { // to look at the generated C
		dir = filepath.Join(keep, strings.ReplaceAll(tc.name, "/", "_"))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	src := "#include \"vmlinux.h\"\n"
	if tc.pre != nil {
		src = "#include \"base.h\"\n" + src
		if err := os.WriteFile(filepath.Join(dir, "base.h"), tc.pre, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "vmlinux.h"), header, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "check.c"), append([]byte(src), g.c.Bytes()...), 0o644); err != nil {
		t.Fatal(err)
	}
	obj := filepath.Join(dir, "check.o")
	cmd := exec.Command(clang, "-target", "bpf", "-g", "-O0", "-ferror-limit=0", "-Wno-everything", "-c", "check.c", "-o", obj)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		var failed []string
		for _, m := range assertFailed.FindAllSubmatch(out, -1) {
			failed = append(failed, string(m[1]))
		}
		if len(failed) == 0 {
			return nil, fmt.Errorf("%s: clang: %v\n%.3000s", tc.name, err, out)
		}
		sort.Strings(failed)
		return nil, fmt.Errorf("%s: %d of %d checks fail, e.g.:\n%s", tc.name, len(failed), g.asserts, strings.Join(failed[:min(len(failed), 30)], "\n"))
	}
	if len(g.records) > 0 {
		if err := g.compareObject(tc.name, obj); err != nil {
			return nil, err
		}
	}
	return g, nil
}

// compareObject compares the records of the compiled object's BTF with
// the source BTF: size, and every member's name, bit offset and width.
func (g *truthGen) compareObject(name, obj string) error {
	o, err := Load(obj)
	if err != nil {
		return fmt.Errorf("%s: the object's BTF: %v", name, err)
	}
	og := &truthGen{spec: o}
	found := map[string]uint32{}
	for id := 1; id < len(o.types); id++ {
		ot := &o.types[id]
		switch ot.kind() {
		case kindStruct, kindUnion:
			if ot.name != 0 {
				found[map[int]string{kindStruct: "struct ", kindUnion: "union "}[ot.kind()]+o.name(ot.name)] = uint32(id)
			}
		case kindTypedef:
			if target, ok := og.isAnonRecord(ot.st); ok {
				found[o.name(ot.name)] = target
			}
		}
	}
	var bad []string
	for cT, src := range g.records {
		oid, ok := found[cT]
		if !ok {
			bad = append(bad, cT+": not in the object's BTF")
			continue
		}
		bad = append(bad, g.compareRecord(og, cT, src, oid)...)
	}
	if len(bad) > 0 {
		sort.Strings(bad)
		return fmt.Errorf("%s: %d records differ in the compiled object's BTF, e.g.:\n%s", name, len(bad), strings.Join(bad[:min(len(bad), 30)], "\n"))
	}
	return nil
}

type truthMember struct {
	name       string
	off, width uint32
	anon       uint32 // an anonymous record member's type
}

func (g *truthGen) recordMembers(id uint32) []truthMember {
	t := &g.spec.types[id]
	var ms []truthMember
	for i := 0; i < t.vlen(); i++ {
		name, typ, off, width := g.memberBits(t, i)
		anon, isAnon := g.isAnonRecord(typ)
		if name == "" && !isAnon {
			continue // padding: C writes no member for it
		}
		m := truthMember{name: name, off: off, width: width}
		if isAnon {
			m.anon = anon
		}
		ms = append(ms, m)
	}
	return ms
}

func (g *truthGen) compareRecord(og *truthGen, what string, src, obj uint32) []string {
	st, ot := &g.spec.types[src], &og.spec.types[obj]
	if st.st != ot.st || st.kind() != ot.kind() {
		return []string{fmt.Sprintf("%s: %s of %d bytes, the object has a %s of %d", what, kindNames[st.kind()], st.st, kindNames[ot.kind()], ot.st)}
	}
	sm, om := g.recordMembers(src), og.recordMembers(obj)
	if len(sm) != len(om) {
		return []string{fmt.Sprintf("%s: %d members, the object has %d", what, len(sm), len(om))}
	}
	var bad []string
	for i := range sm {
		s, o := sm[i], om[i]
		if s.name != o.name || s.off != o.off || s.width != o.width {
			bad = append(bad, fmt.Sprintf("%s: member %d %q at bit %d width %d, the object has %q at %d width %d", what, i, s.name, s.off, s.width, o.name, o.off, o.width))
			continue
		}
		if (s.anon == 0) != (o.anon == 0) {
			bad = append(bad, fmt.Sprintf("%s.%s: anonymous in one BTF only", what, s.name))
			continue
		}
		if s.anon != 0 {
			bad = append(bad, g.compareRecord(og, what+"."+s.name+"{}", s.anon, o.anon)...)
		}
	}
	return bad
}

// TestTruth runs the truth test on every BTF at hand: the test kernels'
// (Linux 6.1, 6.12 and the 6.18 host's, each arch; the 6.18 one in all
// three shapes), their kheaders.ko split BTF and the khtest module's
// (--split-only, after the base's header), the hand-built BTF in
// testdata, and enums of every size.
func TestTruth(t *testing.T) {
	clang := tk.NeedTool(t, "clang")
	var cases []truthCase
	for _, arch := range []string{"x86_64", "arm64", "6.12/x86_64", "6.12/arm64", "host-6.18"} {
		dir, ok := testkernelDir(t, arch)
		if !ok {
			continue
		}
		base := mustLoad(t, filepath.Join(dir, "vmlinux.btf"), nil)
		cases = append(cases, truthCase{name: arch + "/vmlinux.btf", spec: base})
		if arch == "host-6.18" {
			// The other orders and shapes write the same layouts.
			cases = append(cases,
				truthCase{name: arch + "/vmlinux.btf --unsorted", spec: base, opts: &Options{Unsorted: true}},
				truthCase{name: arch + "/vmlinux.btf --bpftool-v7.1", spec: base, opts: &Options{Legacy: true}})
		}
		if ko := filepath.Join(dir, "kheaders.ko"); fileExists(ko) {
			split := mustLoad(t, ko, base)
			cases = append(cases, truthCase{name: arch + "/kheaders.ko", spec: split,
				opts: &Options{SplitOnly: true, Guard: "__KHEADERS_H__"}, pre: cHeader(t, base, nil)})
		}
		if arch == "x86_64" {
			split := mustLoad(t, testdata("khtest.ko"), base)
			cases = append(cases, truthCase{name: "khtest.ko split-only", spec: split,
				opts: &Options{SplitOnly: true, Guard: "__KHTEST_H__"}, pre: cHeader(t, base, nil)})
		}
	}
	var excluded []string
	for _, pattern := range []string{"c/*.o", "go/*.btf"} {
		files, _ := filepath.Glob(testdata(pattern))
		for _, f := range files {
			s := mustLoad(t, f, nil)
			switch {
			case s.PointerSize() == 4:
				excluded = append(excluded, filepath.Base(f)+" (4-byte pointers; BPF's are 8 bytes)")
				continue
			case strings.HasPrefix(filepath.Base(f), "enums"):
				excluded = append(excluded, filepath.Base(f)+" (struct enum_user: a member of an enum without values, incomplete in C, overlapping another; enum sizes are checked with enum_sizes)")
				continue
			case filepath.Base(f) == "names.btf":
				// libbpf, and so kh, write a FWD under its own
				// name, and here an enum has that name.
				excluded = append(excluded, "names.btf (a struct FWD and an enum both named dup: one tag in C)")
				continue
			}
			cases = append(cases, truthCase{name: filepath.Base(f), spec: s})
		}
	}
	sizes, err := FromTypes(enumSizeTypes())
	if err != nil {
		t.Fatal(err)
	}
	cases = append(cases, truthCase{name: "enum_sizes", spec: sizes})
	var total truthGen
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := checkTruth(t, clang, tc)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d records, %d members (%d bitfields), %d enums: %d static assertions and the object's BTF agree; excluded: %v",
				tc.name, g.types, g.members, g.bitfields, g.enums, g.asserts, g.excluded)
			total.types += g.types
			total.members += g.members
			total.bitfields += g.bitfields
			total.enums += g.enums
			total.asserts += g.asserts
			if g.types == 0 && strings.HasSuffix(tc.name, "vmlinux.btf") {
				t.Errorf("%s: nothing checked", tc.name)
			}
		})
	}
	t.Logf("all: %d records, %d members (%d bitfields), %d enums, %d static assertions; excluded inputs: %v",
		total.types, total.members, total.bitfields, total.enums, total.asserts, excluded)
}

// TestTruthFails checks that the truth test catches each layout mistake
// of libbpf that kh corrects, and Debian 12 bpftool v7.1.0's missing
// mode(byte): with libbpf's behaviour reproduced, it must fail, naming
// the type.
func TestTruthFails(t *testing.T) {
	clang := tk.NeedTool(t, "clang")
	sizes, err := FromTypes(enumSizeTypes())
	if err != nil {
		t.Fatal(err)
	}
	bugs := &Options{libbpfBugs: true}
	cases := []struct {
		tc   truthCase
		want string
	}{
		{truthCase{name: "enum_sizes", spec: sizes, opts: bugs}, "enum e2_1: size 2"},
		{truthCase{name: "raw_kinds.btf", spec: mustLoad(t, testdata("go", "raw_kinds.btf"), nil), opts: bugs}, "struct legacy"},
		{truthCase{name: "bitfields.o", spec: mustLoad(t, testdata("c", "bitfields.o"), nil), opts: bugs}, "struct bf2"},
		{truthCase{name: "packed.o", spec: mustLoad(t, testdata("c", "packed.o"), nil), opts: bugs}, "union pu: size 5"},
	}
	if dir, ok := testkernelDir(t, "6.12/x86_64"); ok {
		s := mustLoad(t, filepath.Join(dir, "vmlinux.btf"), nil)
		cases = append(cases,
			struct {
				tc   truthCase
				want string
			}{truthCase{name: "6.12 libbpf", spec: s, opts: bugs}, "release_pages_arg: size 8"},
			struct {
				tc   truthCase
				want string
			}{truthCase{name: "6.12 v7.1.0", spec: s, opts: &Options{libbpfBugs: true, noEnumModes: true}}, "enum blk_integrity_checksum: size 1"})
	}
	for _, c := range cases {
		t.Run(c.tc.name, func(t *testing.T) {
			_, err := checkTruth(t, clang, c.tc)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("the truth test gives %v; want a failure naming %q", err, c.want)
			}
		})
	}
}

// enumSizeTypes are enums of every size in a struct, for the mode
// attributes (libbpf has none for 2 bytes).
func enumSizeTypes() []ebtf.Type {
	var members []ebtf.Member
	var off ebtf.Bits
	for i, sz := range []uint32{1, 2, 4, 8, 1, 2, 8} {
		e := &ebtf.Enum{Name: fmt.Sprintf("e%d_%d", sz, i), Size: sz, Signed: i > 3,
			Values: []ebtf.EnumValue{{Name: fmt.Sprintf("E%d_%d", sz, i), Value: 1}}}
		off = (off + ebtf.Bits(8*sz) - 1) / ebtf.Bits(8*sz) * ebtf.Bits(8*sz)
		members = append(members, ebtf.Member{Name: fmt.Sprintf("m%d", i), Type: e, Offset: off})
		off += ebtf.Bits(8 * sz)
	}
	big := &ebtf.Enum{Name: "e8_64", Size: 8, Values: []ebtf.EnumValue{{Name: "E8_64", Value: 1 << 40}}}
	members = append(members, ebtf.Member{Name: "big", Type: big, Offset: (off + 63) / 64 * 64})
	return []ebtf.Type{&ebtf.Struct{Name: "enum_sizes", Size: uint32((off+63)/64*8 + 8), Members: members}}
}
