package btf

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
)

// DefaultGuard is the include guard bpftool puts around vmlinux.h.
const DefaultGuard = "__VMLINUX_H__"

// Options tune WriteC. The zero value (or nil) reproduces
// `bpftool btf dump file FILE format c` of bpftool v7.7.0 (libbpf 1.7),
// except that WriteC writes every type (see WriteC).
type Options struct {
	// Guard is the include-guard macro; "" means DefaultGuard, except
	// with SplitOnly, which needs a guard of its own (see GuardFor).
	Guard string
	// SplitOnly, for split BTF, writes only the declarations that come
	// after those of the base: what the module adds to the kernel's
	// vmlinux.h. The result is meant to be included after the base's
	// header (written with the same Options but SplitOnly false, from
	// the base BTF alone) and needs its own Guard. bpftool has no such
	// mode: for split BTF it writes the base's types and the module's
	// in one header.
	SplitOnly bool
	// Unsorted writes the types in BTF ID order, as bpftool v7.7.0's
	// `format c unsorted`, instead of sorted by kind and name.
	Unsorted bool
	// Legacy writes the header as bpftool v7.1.0 to v7.4.0 did: types
	// in ID order, no __ksym, __weak and __bpf_fastcall macros and no
	// block of kfunc prototypes. The types are written as by default,
	// with mode(byte) on 1-byte enums, so the layouts are right; Debian
	// 12's bpftool v7.1.0 (built from Linux 6.1's libbpf) lacks that
	// attribute and gives wrong sizes on modern kernels.
	Legacy bool

	// dropFirst reproduces a bug of bpftool v7.5.0 to v7.7.0, whose
	// sorted dump omits the type that sorts first (tests only).
	dropFirst bool
	// libbpfBugs reproduces libbpf's layout mistakes that kh corrects
	// (see dumper.libbpfBugs; tests only).
	libbpfBugs bool
	// noEnumModes writes no mode attribute on enums, as Debian 12's
	// bpftool v7.1.0 (tests only).
	noEnumModes bool
	// bare writes the types alone, in ID order, as libbpf's btf_dump
	// does for each type (the kernel's btf_dump selftests; tests only).
	bare bool
	// done, if set, sees the writer's final state (tests only).
	done func(*dumper)
}

// GuardFor returns an include-guard macro for a header named after name
// (a module name or file name): "nf_tables" gives "__NF_TABLES_H__".
func GuardFor(name string) string {
	b := []byte("__")
	for _, c := range []byte(name) {
		switch {
		case c >= 'a' && c <= 'z':
			b = append(b, c-'a'+'A')
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
			b = append(b, c)
		default:
			b = append(b, '_')
		}
	}
	return string(append(b, "_H__"...))
}

func isIdent(s string) bool {
	for i, c := range []byte(s) {
		if c != '_' && (c < 'a' || c > 'z') && (c < 'A' || c > 'Z') && (i == 0 || c < '0' || c > '9') {
			return false
		}
	}
	return s != ""
}

// Limits that stop hostile BTF from making the writer run away: C
// declarations can grow exponentially with nested anonymous types, and
// one struct's padding can run to gigabytes. Real kernels stay far below
// them (vmlinux.h of a Linux 6.18 distribution-style kernel is 2.8 MB).
const (
	// MaxOutput is the largest header WriteC generates.
	MaxOutput = 64 << 20
	// maxDepth bounds the writer's recursion (struct nesting,
	// declaration chains).
	maxDepth = 1 << 16
	// maxStepsPerType bounds the writer's work (visits of a type while
	// ordering or emitting) per type in the Spec.
	maxStepsPerType = 1 << 10
)

// WriteC writes spec as a C header, what bpftool v7.7.0 (libbpf 1.7)
// prints for `bpftool btf dump file FILE format c`, which is how vmlinux.h
// for CO-RE BPF programs is made: byte for byte, but that WriteC also
// writes the type that sorts first, which bpftool v7.5.0 to v7.7.0 drop,
// and gets right the few layouts libbpf gets wrong (see the package
// documentation). Every type is declared after the types it needs by
// value, with forward declarations where pointers allow, and names that
// clash get ___N suffixes.
//
// The header is generated in memory first: if generation fails (a type
// cycle C cannot express, or ctx is done), nothing is written to w.
func WriteC(ctx context.Context, w io.Writer, spec *Spec, opts *Options) error {
	out, err := appendC(ctx, nil, spec, opts, MaxOutput)
	if err != nil {
		return err
	}
	if _, err := w.Write(out); err != nil {
		return fmt.Errorf("write C header: %w", err)
	}
	return nil
}

// AppendC appends the C header that WriteC writes to dst and returns the
// extended slice; on error it returns nil.
func AppendC(ctx context.Context, dst []byte, spec *Spec, opts *Options) ([]byte, error) {
	return appendC(ctx, dst, spec, opts, MaxOutput)
}

// appendC appends the C header for spec to out, growing out by at most
// limit bytes.
func appendC(ctx context.Context, out []byte, spec *Spec, opts *Options, limit int) ([]byte, error) {
	if opts == nil {
		opts = &Options{}
	}
	guard := opts.Guard
	if opts.SplitOnly {
		if spec.base == nil {
			return nil, fmt.Errorf("SplitOnly needs split BTF (a Spec with a base)")
		}
		if guard == "" || guard == DefaultGuard {
			return nil, fmt.Errorf("SplitOnly needs a Guard other than the base header's %s", DefaultGuard)
		}
	}
	if guard == "" {
		guard = DefaultGuard
	}
	if !isIdent(guard) {
		return nil, fmt.Errorf("include guard %q is not a C identifier", guard)
	}
	d := newDumper(spec, out)
	d.libbpfBugs = opts.libbpfBugs
	d.noEnumModes = opts.noEnumModes
	d.limit = limit
	d.outLimit = len(d.out) + limit
	if opts.bare {
		for id := uint32(1); id < uint32(len(d.types)); id++ {
			if err := d.dumpType(id); err != nil {
				return nil, err
			}
		}
		return d.out, nil
	}
	d.str("#ifndef " + guard + "\n#define " + guard + "\n\n")
	d.str("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n")
	d.str("#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n")
	d.str("#endif\n\n")
	if !opts.Legacy {
		d.str(macroBlocks)
	}
	n := uint32(len(d.types))
	first := uint32(1)
	if opts.SplitOnly {
		first = uint32(spec.firstID)
	}
	sorted := !opts.Unsorted && !opts.Legacy
	// The types to write, in order. For SplitOnly the base's come
	// first, written as the base's own header writes them (sorted
	// among themselves), to reproduce the state (names, what is
	// emitted) that the module's declarations depend on; their text is
	// dropped.
	var order []uint32
	cut := -1 // where the text kept starts (SplitOnly)
	switch {
	case sorted && opts.SplitOnly:
		order = d.sortedIDs(1, first, false)
		cut = len(order)
		order = append(order, d.sortedIDs(first, n, false)...)
	case sorted:
		order = d.sortedIDs(1, n, opts.dropFirst)
	default:
		order = make([]uint32, 0, n)
		for id := uint32(1); id < n; id++ {
			order = append(order, id)
		}
		if opts.SplitOnly {
			cut = int(first - 1)
		}
	}
	mark := len(d.out)
	for i, id := range order {
		if i%1024 == 0 {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
		}
		if i == cut {
			d.out = d.out[:mark]
		}
		if err := d.dumpType(id); err != nil {
			return nil, err
		}
	}
	if cut == len(order) {
		d.out = d.out[:mark]
	}
	if !opts.Legacy {
		if err := d.kfuncs(first); err != nil {
			return nil, err
		}
	}
	d.str("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n\n")
	d.str("#endif /* " + guard + " */\n")
	if len(d.out) > d.outLimit {
		return nil, d.tooLarge()
	}
	if opts.done != nil {
		opts.done(d)
	}
	return d.out, nil
}

// macroBlocks are the macros bpftool v7.5 and later define for the kfunc
// prototypes.
const macroBlocks = `#ifndef __ksym
#define __ksym __attribute__((section(".ksyms")))
#endif

#ifndef __weak
#define __weak __attribute__((weak))
#endif

#ifndef __bpf_fastcall
#if __has_attribute(bpf_fastcall)
#define __bpf_fastcall __attribute__((bpf_fastcall))
#else
#define __bpf_fastcall
#endif
#endif

`

// kfuncs writes bpftool's block of kfunc prototypes (dump_btf_kfuncs):
// an `extern ... __weak __ksym;` declaration for every FUNC from type
// first on that has a bpf_kfunc DECL_TAG, sorted by name, with
// __bpf_fastcall for those that also have a bpf_fastcall one.
func (d *dumper) kfuncs(first uint32) error {
	d.str("\n/* BPF kfuncs */\n#ifndef BPF_NO_KFUNC_PROTOTYPES\n")
	var kfuncs []uint32
	fastcall := map[uint32]bool{}
	for id := first; id < uint32(len(d.types)); id++ {
		t := &d.types[id]
		if t.kind() != kindDeclTag || d.words[t.rest] != 0xffffffff || d.types[t.st].kind() != kindFunc {
			continue
		}
		switch d.name(t.name) {
		case "bpf_kfunc":
			kfuncs = append(kfuncs, t.st)
		case "bpf_fastcall":
			fastcall[t.st] = true
		}
	}
	slices.SortStableFunc(kfuncs, func(a, b uint32) int {
		return strings.Compare(d.name(d.types[a].name), d.name(d.types[b].name))
	})
	for _, f := range kfuncs {
		d.str("extern ")
		if fastcall[f] {
			d.str("__bpf_fastcall ")
		}
		d.emitTypeDecl(d.types[f].st, d.name(d.types[f].name), 0)
		if d.err != nil {
			return d.err
		}
		d.str(" __weak __ksym;\n")
	}
	d.str("#endif\n\n")
	return nil
}

// Per-type state of the writer, as in libbpf's btf_dump_type_aux_state.
const (
	notOrdered = iota
	ordering
	ordered
)

const (
	notEmitted = iota
	emitting
	emitted
)

type typeState struct {
	order, emit  uint8
	fwdEmitted   bool
	nameResolved bool
	referenced   bool
}

// dumper is a port of libbpf 1.7's struct btf_dump, restricted to the C
// type writer. Comments name the libbpf function each method mirrors;
// keep the call order identical, since name de-duplication depends on
// the order in which names are first printed.
type dumper struct {
	spec  *Spec
	types []rtype
	words []uint32
	ptrSz int

	st         []typeState
	cached     map[uint32]string // de-duplicated names (name___N)
	typeNames  map[string]int    // struct/union/enum names seen
	identNames map[string]int    // typedef and enumerator names seen
	align      []int32           // btf__align_of memo, +1 (0: not computed)

	refHashes []uint64 // disambigHash(id, false), for sorting
	refHashed []bool

	queue []uint32 // emit_queue
	stack []uint32 // decl_stack

	// libbpfBugs makes the writer reproduce libbpf 1.7 where it gets a
	// layout wrong (which the truth test finds): it writes 2-byte enums
	// and 8-byte ones with 4-byte pointers without a mode attribute (4
	// bytes in C); legacy bitfields (the width in the member's INT, kind
	// flag clear) as whole integers; a bitfield that follows a
	// non-bitfield past where C would put it without padding; unions
	// whose size is not a multiple of their alignment without
	// __attribute__((packed)); and unions larger than their members
	// (release_pages_arg in Linux 6.12 and later) without padding.
	libbpfBugs  bool
	noEnumModes bool

	out      []byte
	err      error
	depth    int
	steps    int // visits left before giving up (maxStepsPerType)
	limit    int // the most bytes to generate
	outLimit int // len(out) not to exceed
}

func (d *dumper) tooLarge() error {
	return fmt.Errorf("C header larger than %d MiB: implausible BTF", d.limit>>20)
}

func newDumper(s *Spec, out []byte) *dumper {
	if out == nil {
		// vmlinux.h is about half as large as the raw BTF.
		out = make([]byte, 0, (len(s.words)*4+len(s.strs))*5/8+4096)
	}
	d := &dumper{
		spec:     s,
		types:    s.types,
		words:    s.words,
		ptrSz:    s.ptrSize,
		st:       make([]typeState, len(s.types)),
		cached:   make(map[uint32]string),
		align:    make([]int32, len(s.types)),
		out:      out,
		steps:    maxStepsPerType * (len(s.types) + 1024),
		limit:    MaxOutput,
		outLimit: len(out) + MaxOutput,
	}
	if d.ptrSz == 0 {
		d.ptrSz = 8 // sizeof(void *) of the 64-bit bpftool we match
	}
	d.st[0].order = ordered
	d.st[0].emit = emitted
	nTypes, nIdents := d.markReferenced()
	d.typeNames = make(map[string]int, nTypes)
	d.identNames = make(map[string]int, nIdents)
	return d
}

func (d *dumper) str(s string) { d.out = append(d.out, s...) }

const tabs = "\t\t\t\t\t\t\t\t\t\t\t\t\t"

// pfx is libbpf's pfx(): lvl tabs, at most 13.
func (d *dumper) pfx(lvl int) {
	if lvl > len(tabs) {
		lvl = len(tabs)
	}
	d.str(tabs[:lvl])
}

func (d *dumper) name(off uint32) string { return d.spec.name(off) }

// enter accounts for one more level of recursion and one more step; it
// returns false (with d.err set) once a limit is exceeded.
func (d *dumper) enter() bool {
	d.depth++
	d.steps--
	if d.err == nil {
		switch {
		case d.depth > maxDepth:
			d.err = fmt.Errorf("types nest deeper than %d levels", maxDepth)
		case d.steps < 0:
			d.err = fmt.Errorf("too much work: type graph too convoluted (nested anonymous types?)")
		case len(d.out) > d.outLimit:
			d.err = d.tooLarge()
		}
	}
	return d.err == nil
}

func (d *dumper) leave() { d.depth-- }

// dumpType is btf_dump__dump_type.
func (d *dumper) dumpType(id uint32) error {
	d.queue = d.queue[:0]
	if d.orderType(id, false) < 0 {
		return d.err
	}
	for _, q := range d.queue {
		d.emitType(q, 0)
		if d.err != nil {
			return d.err
		}
	}
	if len(d.out) > d.outLimit {
		return d.tooLarge()
	}
	return nil
}

// markReferenced is btf_dump_mark_referenced: a type referenced by any
// other is not a top-level anonymous enum. It also counts the names that
// may go into typeNames and identNames, to size them.
func (d *dumper) markReferenced() (nTypes, nIdents int) {
	for id := 1; id < len(d.types); id++ {
		t := &d.types[id]
		switch t.kind() {
		case kindStruct, kindUnion, kindInt:
			nTypes++
		case kindEnum, kindEnum64:
			nTypes++
			nIdents += t.vlen()
		case kindTypedef:
			nIdents++
		}
		switch t.kind() {
		case kindVolatile, kindConst, kindRestrict, kindPtr, kindTypedef, kindFunc, kindVar, kindDeclTag, kindTypeTag:
			d.st[t.st].referenced = true
		case kindArray:
			elem, index, _ := d.spec.array(t)
			d.st[index].referenced = true
			d.st[elem].referenced = true
		case kindStruct, kindUnion, kindDatasec:
			for i, n := 0, t.vlen(); i < n; i++ {
				w := d.words[int(t.rest)+3*i:]
				if t.kind() == kindDatasec {
					d.st[w[0]].referenced = true
				} else {
					d.st[w[1]].referenced = true
				}
			}
		case kindFuncProto:
			for i, n := 0, t.vlen(); i < n; i++ {
				_, p := d.spec.param(t, i)
				d.st[p].referenced = true
			}
		}
	}
	return nTypes, nIdents
}

// orderType is btf_dump_order_type: a topological sort that queues the
// definitions type id needs. It returns 1 for a strong link (the type
// must be defined first), 0 for a weak one (a forward declaration is
// enough) and -1 on error (d.err).
func (d *dumper) orderType(id uint32, throughPtr bool) int {
	st := &d.st[id]
	if st.order == ordered {
		return 1
	}
	t := &d.types[id]
	if st.order == ordering {
		if k := t.kind(); (k == kindStruct || k == kindUnion) && throughPtr && t.name != 0 {
			return 0
		}
		d.err = fmt.Errorf("unsatisfiable type cycle, id:[%d]", id)
		return -1
	}
	if !d.enter() {
		return -1
	}
	r := d.orderKind(id, t, st, throughPtr)
	d.leave()
	return r
}

// orderKind is the body of orderType, by kind.
func (d *dumper) orderKind(id uint32, t *rtype, st *typeState, throughPtr bool) int {
	switch t.kind() {
	case kindInt, kindFloat:
		st.order = ordered
		return 0
	case kindPtr:
		r := d.orderType(t.st, true)
		st.order = ordered
		return r
	case kindArray:
		elem, _, _ := d.spec.array(t)
		return d.orderType(elem, false)
	case kindStruct, kindUnion:
		if throughPtr && t.name != 0 {
			return 0
		}
		st.order = ordering
		for i, n := 0, t.vlen(); i < n; i++ {
			_, typ, _ := d.spec.member(t, i)
			if d.orderType(typ, false) < 0 {
				return -1
			}
		}
		if t.name != 0 {
			d.queue = append(d.queue, id)
		}
		st.order = ordered
		return 1
	case kindEnum, kindEnum64, kindFwd:
		if t.name != 0 || !st.referenced {
			d.queue = append(d.queue, id)
		}
		st.order = ordered
		return 1
	case kindTypedef:
		strong := d.orderType(t.st, throughPtr)
		if strong < 0 {
			return strong
		}
		if throughPtr && strong == 0 {
			return 0
		}
		d.queue = append(d.queue, id)
		st.order = ordered
		return 1
	case kindVolatile, kindConst, kindRestrict, kindTypeTag:
		return d.orderType(t.st, throughPtr)
	case kindFuncProto:
		r := d.orderType(t.st, throughPtr)
		if r < 0 {
			return r
		}
		strong := r > 0
		for i, n := 0, t.vlen(); i < n; i++ {
			_, p := d.spec.param(t, i)
			r = d.orderType(p, throughPtr)
			if r < 0 {
				return r
			}
			if r > 0 {
				strong = true
			}
		}
		if strong {
			return 1
		}
		return 0
	case kindFunc, kindVar, kindDatasec, kindDeclTag:
		st.order = ordered
		return 0
	default:
		d.err = fmt.Errorf("type %d: unexpected kind %d", id, t.kind())
		return -1
	}
}

// isBlacklisted is btf_dump_is_blacklisted: __builtin_va_list is the
// compiler's own.
func (d *dumper) isBlacklisted(id uint32) bool {
	t := &d.types[id]
	return t.name != 0 && d.name(t.name) == "__builtin_va_list"
}

// emitType is btf_dump_emit_type: it writes the definition of type id
// and, first, whatever forward declarations it needs. contID is the
// struct or union being defined (0 at top level).
func (d *dumper) emitType(id, contID uint32) {
	st := &d.st[id]
	topLevel := contID == 0
	if st.emit == emitted {
		return
	}
	if !d.enter() {
		return
	}
	d.emitKind(id, contID, st, topLevel)
	d.leave()
}

// emitKind is the body of emitType.
func (d *dumper) emitKind(id, contID uint32, st *typeState, topLevel bool) {
	t := &d.types[id]
	kind := t.kind()
	if st.emit == emitting {
		if st.fwdEmitted {
			return
		}
		switch kind {
		case kindStruct, kindUnion:
			// Referring to the struct we are part of needs no
			// forward declaration.
			if id == contID {
				return
			}
			if t.name == 0 {
				return // anonymous struct/union loop
			}
			d.emitStructFwd(id, t)
			d.str(";\n\n")
			st.fwdEmitted = true
		case kindTypedef:
			// For a typedef, fwdEmitted means the definition was
			// written, usable through pointers only.
			if !d.isBlacklisted(id) {
				d.emitTypedefDef(id, t, 0)
				d.str(";\n\n")
			}
			st.fwdEmitted = true
		}
		return
	}

	switch kind {
	case kindInt:
		d.emitMissingAliases(id, t)
		st.emit = emitted
	case kindEnum, kindEnum64:
		if topLevel {
			d.emitEnumDef(id, t, 0)
			d.str(";\n\n")
		}
		st.emit = emitted
	case kindPtr, kindVolatile, kindConst, kindRestrict, kindTypeTag:
		d.emitType(t.st, contID)
	case kindArray:
		elem, _, _ := d.spec.array(t)
		d.emitType(elem, contID)
	case kindFwd:
		d.emitFwdDef(id, t)
		d.str(";\n\n")
		st.emit = emitted
	case kindTypedef:
		st.emit = emitting
		d.emitType(t.st, id)
		// Someone may have needed the typedef as a forward declaration
		// (through a pointer) meanwhile and had it written.
		if !st.fwdEmitted && !d.isBlacklisted(id) {
			d.emitTypedefDef(id, t, 0)
			d.str(";\n\n")
		}
		st.emit = emitted
	case kindStruct, kindUnion:
		st.emit = emitting
		// A top-level or anonymous struct has its members spelled out,
		// so their types need their forward declarations first.
		if topLevel || t.name == 0 {
			newCont := id
			if t.name == 0 {
				newCont = contID
			}
			for i, n := 0, t.vlen(); i < n; i++ {
				_, typ, _ := d.spec.member(t, i)
				d.emitType(typ, newCont)
			}
		} else if !st.fwdEmitted && id != contID {
			d.emitStructFwd(id, t)
			d.str(";\n\n")
			st.fwdEmitted = true
		}
		if topLevel {
			d.emitStructDef(id, t, 0)
			d.str(";\n\n")
			st.emit = emitted
		} else {
			st.emit = notEmitted
		}
	case kindFuncProto:
		d.emitType(t.st, contID)
		for i, n := 0, t.vlen(); i < n; i++ {
			_, p := d.spec.param(t, i)
			d.emitType(p, contID)
		}
	}
}

// alignOf is btf__align_of (memoised). 0 means unknown.
func (d *dumper) alignOf(id uint32) int {
	if a := d.align[id]; a != 0 {
		return int(a - 1)
	}
	a := d.computeAlign(id)
	d.align[id] = int32(a + 1)
	return a
}

func (d *dumper) computeAlign(id uint32) int {
	t := &d.types[id]
	switch t.kind() {
	case kindInt, kindEnum, kindEnum64, kindFloat:
		return min(d.ptrSz, int(t.st))
	case kindPtr:
		return d.ptrSz
	case kindTypedef, kindVolatile, kindConst, kindRestrict, kindTypeTag:
		return d.alignOf(t.st)
	case kindArray:
		elem, _, _ := d.spec.array(t)
		return d.alignOf(elem)
	case kindStruct, kindUnion:
		maxAlign := 1
		for i, n := 0, t.vlen(); i < n; i++ {
			typ, off, width := d.memberBits(t, i)
			a := d.alignOf(typ)
			if a <= 0 {
				return a
			}
			maxAlign = max(maxAlign, a)
			// A member off its natural alignment: the struct is packed.
			if width == 0 && off%uint32(8*a) != 0 {
				return 1
			}
		}
		if t.st%uint32(maxAlign) != 0 {
			return 1
		}
		return maxAlign
	default:
		return 0 // void, FWD, FUNC_PROTO, ...: libbpf warns and returns 0
	}
}

// resolveSize is btf__resolve_size; negative means unknown.
func (d *dumper) resolveSize(id uint32) int64 {
	const maxResolveDepth = 32
	nelems := uint32(1)
	size := int64(-1)
	for i := 0; i < maxResolveDepth && id != 0; i++ {
		t := &d.types[id]
		switch t.kind() {
		case kindFwd:
			i = maxResolveDepth // void-like: stop
			continue
		case kindInt, kindStruct, kindUnion, kindEnum, kindEnum64, kindDatasec, kindFloat:
			size = int64(t.st)
		case kindPtr:
			size = int64(d.ptrSz)
		case kindTypedef, kindVolatile, kindConst, kindRestrict, kindVar, kindDeclTag, kindTypeTag:
			id = t.st
			continue
		case kindArray:
			elem, _, n := d.spec.array(t)
			if nelems != 0 && n > 0xffffffff/nelems {
				return -1
			}
			nelems *= n
			id = elem
			continue
		default:
			return -1
		}
		break
	}
	if size < 0 {
		return -1
	}
	if nelems != 0 && size > int64(0xffffffff/nelems) {
		return -1
	}
	return int64(nelems) * size
}

// memberBits returns the type, bit offset and bitfield width (0: not a
// bitfield) of member i of struct or union t. libbpf reads widths only
// from the kind-flag encoding; kh also reads the legacy one (kind flag
// clear, the width in the member's INT), which libbpf writes as whole
// integers.
func (d *dumper) memberBits(t *rtype, i int) (typ, off, width uint32) {
	_, typ, raw := d.spec.member(t, i)
	if t.kflag() {
		return typ, raw & 0xffffff, raw >> 24
	}
	if it := &d.types[typ]; !d.libbpfBugs && it.kind() == kindInt {
		enc := d.words[it.rest]
		if bits, o := enc&0xff, enc>>16&0xff; bits != 8*it.st || o != 0 {
			return typ, raw + o, bits
		}
	}
	return typ, raw, 0
}

// isStructPacked is btf_is_struct_packed.
func (d *dumper) isStructPacked(t *rtype) bool {
	maxAlign := 1
	for i, n := 0, t.vlen(); i < n; i++ {
		typ, off, width := d.memberBits(t, i)
		a := d.alignOf(typ)
		if a != 0 && width == 0 && off%uint32(8*a) != 0 {
			return true
		}
		maxAlign = max(a, maxAlign)
	}
	return t.st%uint32(maxAlign) != 0
}

func roundup(x, y int32) int32 {
	if y == 0 {
		return x // libbpf divides by zero here (a member of unknown alignment)
	}
	return (x + (y - 1)) / y * y
}

// emitBitPadding is btf_dump_emit_bit_padding: explicit padding from bit
// offset curOff to nextOff, as `long: 0;`-style markers.
func (d *dumper) emitBitPadding(curOff, nextOff, nextAlign int32, inBitfield bool, lvl int) {
	pads := [4]struct {
		name string
		bits int32
	}{{"long", int32(d.ptrSz) * 8}, {"int", 32}, {"short", 16}, {"char", 8}}
	if curOff >= nextOff {
		return
	}
	// Up to a line per byte of padding: refuse absurd holes before
	// writing them (this also keeps nextOff-curOff within int32).
	if gap := int64(nextOff) - int64(curOff); gap/8*int64(lvl+12) > int64(d.outLimit-len(d.out)) {
		if d.err == nil {
			d.err = fmt.Errorf("%w (padding of %d bits)", d.tooLarge(), gap)
		}
		return
	}
	var newOff, padBits int32
	var padType string
	for i := range pads {
		padBits, padType = pads[i].bits, pads[i].name
		newOff = roundup(curOff, padBits)
		if newOff <= nextOff {
			break
		}
	}
	if newOff > curOff && newOff <= nextOff {
		if inBitfield ||
			(newOff == nextOff && roundup(curOff, nextAlign*8) != newOff) ||
			(newOff != nextOff && nextOff-newOff <= newOff-curOff) {
			d.str("\n")
			d.pfx(lvl)
			d.str(padType)
			d.str(": ")
			if inBitfield {
				d.out = strconv.AppendInt(d.out, int64(newOff-curOff), 10)
			} else {
				d.str("0")
			}
			d.str(";")
		}
		curOff = newOff
	}
	for curOff != nextOff {
		bits := min(nextOff-curOff, padBits)
		if bits == padBits {
			d.padLine(lvl, padType, padBits)
			curOff += bits
			continue
		}
		// The remainder takes the smallest type that holds it.
		for i := len(pads) - 1; i >= 0; i-- {
			padType, padBits = pads[i].name, pads[i].bits
			if padBits < bits {
				continue
			}
			d.padLine(lvl, padType, bits)
			curOff += bits
			break
		}
	}
}

func (d *dumper) padLine(lvl int, typ string, bits int32) {
	d.str("\n")
	d.pfx(lvl)
	d.str(typ)
	d.str(": ")
	d.out = strconv.AppendInt(d.out, int64(bits), 10)
	d.str(";")
}

// emitStructFwd is btf_dump_emit_struct_fwd.
func (d *dumper) emitStructFwd(id uint32, t *rtype) {
	if t.kind() == kindStruct {
		d.str("struct")
	} else {
		d.str("union")
	}
	if t.name != 0 {
		d.str(" ")
	}
	d.str(d.typeName(id))
}

// emitStructDef is btf_dump_emit_struct_def.
func (d *dumper) emitStructDef(id uint32, t *rtype, lvl int) {
	if !d.enter() {
		return
	}
	d.emitStructBody(id, t, lvl)
	d.leave()
}

func (d *dumper) emitStructBody(id uint32, t *rtype, lvl int) {
	isStruct := t.kind() == kindStruct
	align := d.alignOf(id)
	// libbpf never packs a union (one whose size is not a multiple of
	// its alignment needs it as much as a struct does).
	packed := (isStruct || !d.libbpfBugs) && d.isStructPacked(t)

	d.emitStructFwd(id, t)
	d.str(" {")
	var off, end int32
	prevBitfield := false
	for i, n := 0, t.vlen(); i < n; i++ {
		name, _, _ := d.spec.member(t, i)
		typ, rawOff, width := d.memberBits(t, i)
		mSz, mOff := int32(width), int32(rawOff)
		mAlign := int32(1)
		if !packed {
			mAlign = int32(d.alignOf(typ))
		}
		inBitfield := prevBitfield && mSz != 0
		// A bitfield after a non-bitfield goes where it fits, not to
		// its type's alignment: libbpf's implicit padding (int: 0)
		// is wrong when it must go further; explicit bits are right.
		if mSz != 0 && !prevBitfield && !d.libbpfBugs && isStruct && d.bitfieldPos(off, mSz, typ, packed) != mOff {
			inBitfield = true
		}
		d.emitBitPadding(off, mOff, mAlign, inBitfield, lvl+1)
		d.str("\n")
		d.pfx(lvl + 1)
		d.emitTypeDecl(typ, d.name(name), lvl+1)
		if mSz != 0 {
			d.str(": ")
			d.out = strconv.AppendInt(d.out, int64(mSz), 10)
			off = mOff + mSz
			prevBitfield = true
		} else {
			sz := int32(max(0, d.resolveSize(typ)))
			off = mOff + sz*8
			prevBitfield = false
		}
		end = max(end, off)
		d.str(";")
	}
	if isStruct {
		d.emitBitPadding(off, int32(t.st*8), int32(align), false, lvl+1)
	} else if !d.libbpfBugs {
		// A union as large as its largest member, rounded up to its
		// alignment: one unnamed bitfield makes up a shortfall of up
		// to 8 bytes (it adds no alignment).
		a := int32(max(align, 1))
		if packed {
			a = 1
		}
		if bits := int32(t.st * 8); bits > roundup(end, 8*a) && bits <= 64 {
			pad := map[bool]string{true: "long", false: "int"}[bits > 32]
			d.padLine(lvl+1, pad, bits)
		}
	}
	// `struct empty {}` stays on one line.
	if t.vlen() != 0 || t.st != 0 {
		d.str("\n")
		d.pfx(lvl)
		d.str("}")
	} else {
		d.str("}")
	}
	if packed {
		d.str(" __attribute__((packed))")
	}
}

// bitfieldPos is where C puts a bitfield of width bits and type typ that
// follows a member ending at bit off: there, if it fits in the storage
// unit of its type (or the struct is packed), else at the next unit.
func (d *dumper) bitfieldPos(off, width int32, typ uint32, packed bool) int32 {
	unit := int32(d.resolveSize(typ) * 8)
	if packed || unit <= 0 || off/unit == (off+width-1)/unit {
		return off
	}
	return roundup(off, unit)
}

// GCC's typedefs to its internal __PolyX_t types (Arm SIMD intrinsics)
// get aliases to standard types (btf_dump_emit_missing_aliases).
var missingBaseTypes = [...][2]string{
	{"__Poly8_t", "unsigned char"},
	{"__Poly16_t", "unsigned short"},
	{"__Poly64_t", "unsigned long long"},
	{"__Poly128_t", "unsigned __int128"},
}

func (d *dumper) emitMissingAliases(id uint32, t *rtype) {
	name := d.typeName(id)
	for _, m := range missingBaseTypes {
		if name == m[0] {
			d.str("typedef " + m[1] + " " + name + ";\n\n")
			break
		}
	}
}

// emitEnumFwd is btf_dump_emit_enum_fwd.
func (d *dumper) emitEnumFwd(id uint32) {
	d.str("enum ")
	d.str(d.typeName(id))
}

// emitEnumDef is btf_dump_emit_enum_def with its enum32/enum64 value
// writers.
func (d *dumper) emitEnumDef(id uint32, t *rtype, lvl int) {
	vlen := t.vlen()
	d.str("enum")
	if t.name != 0 {
		d.str(" ")
	}
	d.str(d.typeName(id))
	if vlen == 0 {
		return
	}
	d.str(" {")
	signed := t.kflag()
	is64 := t.kind() == kindEnum64
	step := 2
	if is64 {
		step = 3
	}
	for i := 0; i < vlen; i++ {
		w := d.words[int(t.rest)+step*i:]
		name := d.name(w[0])
		// Enumerators share a namespace with typedefs.
		dup := d.nameDups(d.identNames, name)
		d.str("\n")
		d.pfx(lvl + 1)
		d.str(name)
		if dup > 1 {
			d.str("___")
			d.out = strconv.AppendInt(d.out, int64(dup), 10)
		}
		d.str(" = ")
		switch {
		case !is64 && signed:
			d.out = strconv.AppendInt(d.out, int64(int32(w[1])), 10)
		case !is64:
			d.out = strconv.AppendUint(d.out, uint64(w[1]), 10)
		case signed:
			d.out = strconv.AppendInt(d.out, int64(uint64(w[2])<<32|uint64(w[1])), 10)
			d.str("LL")
		default:
			d.out = strconv.AppendUint(d.out, uint64(w[2])<<32|uint64(w[1]), 10)
			d.str("ULL")
		}
		d.str(",")
	}
	d.str("\n")
	d.pfx(lvl)
	d.str("}")
	d.str(d.enumMode(t))
}

// enumMode is the attribute that gives an enum of t's size that size in
// C, where C would otherwise make it an int: libbpf's mode(byte) for 1
// byte and mode(word) for 8 on a 64-bit target (an ENUM, or an ENUM64
// whose values all fit in 32 bits). libbpf has nothing for 2 bytes, nor
// for 8 bytes with 4-byte pointers, and so gets those sizes wrong; kh
// writes mode(HI) and mode(DI) there (no kernel BTF we know has such
// enums, so the kernels' headers stay byte-identical to bpftool's).
func (d *dumper) enumMode(t *rtype) string {
	if d.noEnumModes {
		return ""
	}
	switch t.st {
	case 1:
		return " __attribute__((mode(byte)))"
	case 2:
		if d.libbpfBugs {
			return ""
		}
		return " __attribute__((mode(HI)))"
	case 8:
		if t.kind() == kindEnum64 {
			for i, n := 0, t.vlen(); i < n; i++ {
				if d.words[int(t.rest)+3*i+2] != 0 {
					return "" // a 64-bit value makes it 8 bytes
				}
			}
		}
		if d.ptrSz == 8 {
			return " __attribute__((mode(word)))"
		}
		if d.libbpfBugs {
			return ""
		}
		return " __attribute__((mode(DI)))"
	}
	return ""
}

// emitFwdDef is btf_dump_emit_fwd_def.
func (d *dumper) emitFwdDef(id uint32, t *rtype) {
	name := d.typeName(id)
	if t.kflag() {
		d.str("union ")
	} else {
		d.str("struct ")
	}
	d.str(name)
}

// emitTypedefDef is btf_dump_emit_typedef_def.
func (d *dumper) emitTypedefDef(id uint32, t *rtype, lvl int) {
	name := d.identName(id)
	// Old GCC emits __gnuc_va_list as a typedef of void.
	if t.st == 0 && name == "__gnuc_va_list" {
		d.str("typedef __builtin_va_list __gnuc_va_list")
		return
	}
	d.str("typedef ")
	d.emitTypeDecl(t.st, name, lvl)
}

// emitTypeDecl is btf_dump_emit_type_decl: it writes the declaration of
// fname with type id in C syntax, going down the chain of pointers,
// modifiers, arrays and prototypes to a named type and writing it back
// up in C's inside-out order.
func (d *dumper) emitTypeDecl(id uint32, fname string, lvl int) {
	if !d.enter() {
		return
	}
	start := len(d.stack)
loop:
	for {
		d.stack = append(d.stack, id)
		if id == 0 {
			break
		}
		t := &d.types[id]
		switch t.kind() {
		case kindPtr, kindVolatile, kindConst, kindRestrict, kindFuncProto, kindTypeTag:
			id = t.st
		case kindArray:
			id, _, _ = d.spec.array(t)
		default:
			// INT, ENUM, ENUM64, FWD, STRUCT, UNION, TYPEDEF, FLOAT
			// end the chain (as does anything unexpected).
			break loop
		}
	}
	v := declView{start: start, cnt: len(d.stack) - start}
	d.emitTypeChain(&v, fname, lvl)
	d.stack = d.stack[:start]
	d.leave()
}

// declView is a frame of the shared declaration stack (libbpf's
// id_stack), as indices so that the stack may grow meanwhile.
type declView struct{ start, cnt int }

func (v *declView) top(d *dumper) uint32 { return d.stack[v.start+v.cnt-1] }

// emitMods is btf_dump_emit_mods: leading const/volatile/restrict.
func (d *dumper) emitMods(v *declView) {
	for v.cnt > 0 {
		switch d.types[v.top(d)].kind() {
		case kindVolatile:
			d.str("volatile ")
		case kindConst:
			d.str("const ")
		case kindRestrict:
			d.str("restrict ")
		default:
			return
		}
		v.cnt--
	}
}

// dropMods is btf_dump_drop_mods.
func (d *dumper) dropMods(v *declView) {
	for v.cnt > 0 {
		id := v.top(d)
		if id == 0 {
			return
		}
		switch d.types[id].kind() {
		case kindVolatile, kindConst, kindRestrict, kindTypeTag:
			v.cnt--
		default:
			return
		}
	}
}

// emitName is btf_dump_emit_name.
func (d *dumper) emitName(name string, lastWasPtr bool) {
	if name != "" && !lastWasPtr {
		d.str(" ")
	}
	d.str(name)
}

// emitTypeChain is btf_dump_emit_type_chain.
func (d *dumper) emitTypeChain(v *declView, fname string, lvl int) {
	if !d.enter() {
		return
	}
	d.emitChain(v, fname, lvl)
	d.leave()
}

// emitChain is the body of emitTypeChain.
func (d *dumper) emitChain(v *declView, fname string, lvl int) {
	// lastWasPtr avoids a space between stars: `int ***`. It starts
	// true for a lone pointer in a prototype: `(*fname)`.
	lastWasPtr := true
	for v.cnt > 0 {
		v.cnt--
		id := d.stack[v.start+v.cnt]
		if id == 0 {
			d.emitMods(v)
			d.str("void")
			lastWasPtr = false
			continue
		}
		t := &d.types[id]
		kind := t.kind()
		switch kind {
		case kindInt, kindFloat:
			d.emitMods(v)
			d.str(d.name(t.name))
		case kindStruct, kindUnion:
			d.emitMods(v)
			if t.name == 0 {
				d.emitStructDef(id, t, lvl) // inline anonymous struct
			} else {
				d.emitStructFwd(id, t)
			}
		case kindEnum, kindEnum64:
			d.emitMods(v)
			if t.name == 0 {
				d.emitEnumDef(id, t, lvl) // inline anonymous enum
			} else {
				d.emitEnumFwd(id)
			}
		case kindFwd:
			d.emitMods(v)
			d.emitFwdDef(id, t)
		case kindTypedef:
			d.emitMods(v)
			d.str(d.identName(id))
		case kindPtr:
			if lastWasPtr {
				d.str("*")
			} else {
				d.str(" *")
			}
		case kindVolatile:
			d.str(" volatile")
		case kindConst:
			d.str(" const")
		case kindRestrict:
			d.str(" restrict")
		case kindTypeTag:
			d.emitMods(v)
			// A tag with the kind flag is an attribute of its own
			// (libbpf 1.6): address_space(1) for BPF arena pointers.
			if t.kflag() {
				d.str(" __attribute__((")
				d.str(d.name(t.name))
				d.str("))")
			} else {
				d.str(" __attribute__((btf_type_tag(\"")
				d.str(d.name(t.name))
				d.str("\")))")
			}
		case kindArray:
			_, _, nelems := d.spec.array(t)
			// Qualifiers on arrays (a GCC quirk) are dropped.
			d.dropMods(v)
			if v.cnt == 0 {
				d.emitName(fname, lastWasPtr)
				d.arrayDim(nelems)
				return
			}
			next := v.top(d)
			multidim := next != 0 && d.types[next].kind() == kindArray
			if fname != "" && !lastWasPtr {
				d.str(" ")
			}
			if !multidim {
				d.str("(")
			}
			d.emitTypeChain(v, fname, lvl)
			if !multidim {
				d.str(")")
			}
			d.arrayDim(nelems)
			return
		case kindFuncProto:
			// GCC's volatile on noreturn function pointers is dropped.
			d.dropMods(v)
			if v.cnt > 0 {
				d.str(" (")
				d.emitTypeChain(v, fname, lvl)
				d.str(")")
			} else {
				d.emitName(fname, lastWasPtr)
			}
			d.str("(")
			vlen := t.vlen()
			if vlen == 0 {
				d.str("void)")
				return
			}
			if _, p0 := d.spec.param(t, 0); vlen == 1 && p0 == 0 {
				d.str("void)")
				return
			}
			for i := 0; i < vlen; i++ {
				if i > 0 {
					d.str(", ")
				}
				name, p := d.spec.param(t, i)
				// A trailing void parameter means varargs.
				if i == vlen-1 && p == 0 {
					d.str("...")
					break
				}
				d.emitTypeDecl(p, d.name(name), lvl)
			}
			d.str(")")
			return
		default:
			return
		}
		lastWasPtr = kind == kindPtr
	}
	d.emitName(fname, lastWasPtr)
}

func (d *dumper) arrayDim(n uint32) {
	d.str("[")
	d.out = strconv.AppendUint(d.out, uint64(n), 10)
	d.str("]")
}

// nameDups is btf_dump_name_dups: it counts one more use of name.
func (d *dumper) nameDups(m map[string]int, name string) int {
	n := m[name] + 1
	m[name] = n
	return n
}

// resolveName is btf_dump_resolve_name: the name type id is printed
// under, with a ___N suffix for the Nth type of that name.
func (d *dumper) resolveName(id uint32, m map[string]int) string {
	t := &d.types[id]
	if t.name == 0 {
		return ""
	}
	orig := d.name(t.name)
	st := &d.st[id]
	if st.nameResolved {
		if c, ok := d.cached[id]; ok {
			return c
		}
		return orig
	}
	if k := t.kind(); k == kindFwd || (k == kindEnum && t.vlen() == 0) {
		st.nameResolved = true
		return orig
	}
	if dup := d.nameDups(m, orig); dup > 1 {
		c := orig + "___" + strconv.Itoa(dup)
		if len(c) > 255 { // libbpf's 256-byte buffer
			c = c[:255]
		}
		d.cached[id] = c
		st.nameResolved = true
		return c
	}
	st.nameResolved = true
	return orig
}

func (d *dumper) typeName(id uint32) string { return d.resolveName(id, d.typeNames) }

// printedName returns the name type id was written under (with its ___N
// suffix), if it was written.
func (d *dumper) printedName(id uint32) (string, bool) {
	t := &d.types[id]
	if t.name == 0 || !d.st[id].nameResolved {
		return "", false
	}
	if c, ok := d.cached[id]; ok {
		return c, true
	}
	return d.name(t.name), true
}
func (d *dumper) identName(id uint32) string { return d.resolveName(id, d.identNames) }
