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

// sortName is btf_type_sort_name.
func (d *dumper) sortName(id uint32) string {
	fromRef := false
	for depth := 0; depth <= maxDepth; depth++ {
		t := &d.types[id]
		switch t.kind() {
		case kindEnum, kindEnum64:
			if !fromRef && t.name == 0 && t.vlen() > 0 {
				return d.name(d.words[t.rest]) // the first enumerator's
			}
			return d.name(t.name)
		case kindArray:
			id, _, _ = d.spec.array(t)
		case kindTypeTag, kindConst, kindPtr, kindVolatile, kindRestrict, kindTypedef, kindDeclTag:
			id = t.st
		default:
			return d.name(t.name)
		}
		fromRef = true
	}
	return ""
}

// strHash is libbpf's str_hash, h = h*31 + c, with C's char signed as
// on x86-64 (names are ASCII in practice, where it makes no difference).
func strHash(s string) uint64 {
	var h uint64
	for i := 0; i < len(s); i++ {
		h = h*31 + uint64(int64(int8(s[i])))
	}
	return h
}

func (d *dumper) nameHash(h uint64, off uint32) uint64 {
	if off == 0 {
		return h
	}
	return h*31 + strHash(d.name(off))
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
			h = h*31 + d.disambigHash(typ, false, depth+1)
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

type sortDatum struct {
	id             uint32
	rank           int32
	sortName, name string
	hash           uint64
}

// sortedIDs returns the type IDs from lo up to hi in bpftool's sorted
// order. With bug, it reproduces bpftool v7.5.0 to v7.7.0: void (ID 0)
// is sorted too and the first entry is dropped (for tests).
func (d *dumper) sortedIDs(lo, hi uint32, bug bool) []uint32 {
	if bug {
		lo = 0
	}
	if hi <= lo {
		return nil
	}
	data := make([]sortDatum, hi-lo)
	for i := range data {
		id := lo + uint32(i)
		data[i] = sortDatum{
			id:       id,
			rank:     int32(d.sortRank(id, false)),
			sortName: d.sortName(id),
			name:     d.name(d.types[id].name),
			hash:     d.disambigHash(id, true, 0),
		}
	}
	slices.SortFunc(data, func(a, b sortDatum) int {
		if a.rank != b.rank {
			return cmp.Compare(a.rank, b.rank)
		}
		if c := strings.Compare(a.sortName, b.sortName); c != 0 {
			return c
		}
		if c := strings.Compare(a.name, b.name); c != 0 {
			return c
		}
		if a.hash != b.hash {
			return cmp.Compare(a.hash, b.hash)
		}
		return cmp.Compare(a.id, b.id)
	})
	if bug {
		data = data[1:]
	}
	ids := make([]uint32, len(data))
	for i := range data {
		ids[i] = data[i].id
	}
	return ids
}
