package btf

import (
	"cmp"
	"slices"
	"strings"
)

// The order of bpftool v7.5 and later's sorted `format c` dump (bpftool's
// btf_type_rank, btf_type_sort_name, btf_type_disambig_hash and
// btf_type_compare in src/btf.c): types are ordered by rank, then by a
// sort name, then by their own name, then by a hash of their names and
// members', then by ID. The rank puts anonymous enums first, then named
// enums, integers and floats, named structs and unions, named function
// prototypes, and everything else; a named reference type (a typedef, a
// pointer, ...) takes the rank and the sort name of what it refers to.

const maxRank = 10

// sortRank is btf_type_rank.
func (d *dumper) sortRank(id uint32, hasName bool) int {
	for depth := 0; ; depth++ {
		t := &d.types[id]
		if t.name != 0 {
			hasName = true
		}
		if depth > maxDepth {
			return maxRank // cannot happen: check rules out loops
		}
		switch t.kind() {
		case kindEnum, kindEnum64:
			if hasName {
				return 1
			}
			return 0
		case kindInt, kindFloat:
			return 2
		case kindStruct, kindUnion:
			if hasName {
				return 3
			}
			return maxRank
		case kindFuncProto:
			if hasName {
				return 4
			}
			return maxRank
		case kindArray:
			if !hasName {
				return maxRank
			}
			id, _, _ = d.spec.array(t)
		case kindTypeTag, kindConst, kindPtr, kindVolatile, kindRestrict, kindTypedef, kindDeclTag:
			if !hasName {
				return maxRank
			}
			id = t.st
		default:
			return maxRank
		}
	}
}

// sortNameOff is btf_type_sort_name, as a string offset.
func (d *dumper) sortNameOff(id uint32) uint32 {
	fromRef := false
	for depth := 0; depth <= maxDepth; depth++ {
		t := &d.types[id]
		switch t.kind() {
		case kindEnum, kindEnum64:
			if !fromRef && t.name == 0 && t.vlen() > 0 {
				return d.words[t.rest] // the first enumerator's
			}
			return t.name
		case kindArray:
			id, _, _ = d.spec.array(t)
		case kindTypeTag, kindConst, kindPtr, kindVolatile, kindRestrict, kindTypedef, kindDeclTag:
			id = t.st
		default:
			return t.name
		}
		fromRef = true
	}
	return 0
}

// nameHash adds libbpf's str_hash (h = h*31 + c, with C's char signed
// as on x86-64) of the string at off to h.
func (d *dumper) nameHash(h uint64, off uint32) uint64 {
	if off == 0 {
		return h
	}
	var sh uint64
	strs := d.spec.strs
	for i := int(off); i < len(strs) && strs[i] != 0; i++ {
		sh = sh*31 + uint64(int64(int8(strs[i])))
	}
	return h*31 + sh
}

// disambigHash is btf_type_disambig_hash.
func (d *dumper) disambigHash(id uint32, members bool, depth int) uint64 {
	t := &d.types[id]
	h := d.nameHash(0, t.name)
	if depth > maxDepth {
		return h
	}
	switch t.kind() {
	case kindEnum, kindEnum64:
		step := 2
		if t.kind() == kindEnum64 {
			step = 3
		}
		for i, n := 0, t.vlen(); i < n; i++ {
			h = d.nameHash(h, d.words[int(t.rest)+step*i])
		}
	case kindStruct, kindUnion:
		if !members {
			break
		}
		for i, n := 0, t.vlen(); i < n; i++ {
			name, typ, _ := d.spec.member(t, i)
			h = d.nameHash(h, name)
			h = h*31 + d.refHash(typ, depth+1)
		}
	case kindTypeTag, kindConst, kindPtr, kindVolatile, kindRestrict, kindTypedef, kindDeclTag:
		h = h*31 + d.disambigHash(t.st, members, depth+1)
	case kindArray:
		elem, _, nelems := d.spec.array(t)
		h = h*31 + uint64(nelems)
		h = h*31 + d.disambigHash(elem, members, depth+1)
	}
	return h
}

// refHash is disambigHash(id, false), memoised: member types repeat.
func (d *dumper) refHash(id uint32, depth int) uint64 {
	if d.refHashes == nil {
		d.refHashes = make([]uint64, len(d.types))
		d.refHashed = make([]bool, len(d.types))
	}
	if d.refHashed[id] {
		return d.refHashes[id]
	}
	h := d.disambigHash(id, false, depth)
	d.refHashes[id], d.refHashed[id] = h, true
	return h
}

// sortKey holds a type's sort key as integers: rank and the first 7
// bytes of its sort name, and the first 8 of its own name (names hold no
// NUL, so zero padding keeps the order). Only names longer than their
// prefix need the strings compared.
type sortKey struct {
	k1, k2       uint64
	id           uint32
	long1, long2 bool // the sort name, own name is longer than its prefix
}

// prefix returns the first n bytes of the string at off, big-endian in
// the top bytes of a word, and whether the string is longer.
func (d *dumper) prefix(off uint32, n int) (uint64, bool) {
	if off == 0 {
		return 0, false
	}
	var k uint64
	strs := d.spec.strs[off:]
	for j := 0; j < len(strs); j++ {
		c := strs[j]
		if c == 0 {
			return k, false
		}
		if j == n {
			return k, true
		}
		k |= uint64(c) << (8 * (7 - j))
	}
	return k, false
}

// sortedIDs returns the type IDs from lo up to hi in bpftool's sorted
// order, but for the kinds whose dump writes nothing and changes nothing
// (FUNC, VAR, DATASEC, DECL_TAG: half of a kernel's types). With bug, it
// reproduces bpftool v7.5.0 to v7.7.0: every type is sorted, void (ID 0)
// too, and the first entry is dropped (for tests).
func (d *dumper) sortedIDs(lo, hi uint32, bug bool) []uint32 {
	if bug {
		lo = 0
	}
	if hi <= lo {
		return nil
	}
	n := int(hi - lo)
	keys := make([]sortKey, 0, n)
	var trivial []uint32
	sortNames := make([]uint32, n)
	hashes := make([]uint64, n)
	hashed := make([]bool, n)
	for i := range n {
		id := lo + uint32(i)
		if !bug {
			switch d.types[id].kind() {
			case kindFunc, kindVar, kindDatasec, kindDeclTag:
				continue
			}
		}
		sn := d.sortNameOff(id)
		own := d.types[id].name
		rank := d.sortRank(id, false)
		p1, long1 := d.prefix(sn, 7)
		p2, long2 := d.prefix(own, 8)
		if rank == maxRank && p1 == 0 && p2 == 0 {
			h := d.disambigHash(id, true, 0)
			if h == 0 {
				// Most prototypes and pointers: all equal but for
				// the ID, so in ID order, before the other types of
				// rank 10.
				trivial = append(trivial, id)
				continue
			}
			hashes[i], hashed[i] = h, true
		}
		sortNames[i] = sn
		keys = append(keys, sortKey{
			k1: uint64(rank)<<56 | p1>>8, k2: p2, id: id,
			long1: long1, long2: long2,
		})
	}
	// The hash breaks ties of names only: computed when needed.
	hash := func(id uint32) uint64 {
		i := id - lo
		if !hashed[i] {
			hashes[i], hashed[i] = d.disambigHash(id, true, 0), true
		}
		return hashes[i]
	}
	slices.SortFunc(keys, func(a, b sortKey) int {
		if a.k1 != b.k1 {
			return cmp.Compare(a.k1, b.k1)
		}
		if a.long1 || b.long1 {
			if c := strings.Compare(d.name(sortNames[a.id-lo]), d.name(sortNames[b.id-lo])); c != 0 {
				return c
			}
		}
		if a.k2 != b.k2 {
			return cmp.Compare(a.k2, b.k2)
		}
		if a.long2 || b.long2 {
			if c := strings.Compare(d.name(d.types[a.id].name), d.name(d.types[b.id].name)); c != 0 {
				return c
			}
		}
		if ha, hb := hash(a.id), hash(b.id); ha != hb {
			return cmp.Compare(ha, hb)
		}
		return cmp.Compare(a.id, b.id)
	})
	ids := make([]uint32, 0, len(keys)+len(trivial))
	at, _ := slices.BinarySearchFunc(keys, uint64(maxRank)<<56, func(k sortKey, t uint64) int { return cmp.Compare(k.k1, t) })
	for _, k := range keys[:at] {
		ids = append(ids, k.id)
	}
	ids = append(ids, trivial...)
	for _, k := range keys[at:] {
		ids = append(ids, k.id)
	}
	if bug {
		ids = ids[1:]
	}
	return ids
}
