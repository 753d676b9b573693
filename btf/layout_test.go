package btf

import (
	"encoding/binary"
	"errors"
	"strings"
	"testing"
)

// BTF of Linux 7.1 (libbpf after v1.7): a 32-byte header with layout_off
// and layout_len for a layout section (struct btf_layout, 4 bytes per
// kind: info_sz, elem_sz, flags) between the types and the strings, and
// info words with 24-bit vlen and 7-bit kinds (UAPI commits "btf: Add BTF
// kind layout encoding to UAPI" and "bpf: Extend BTF UAPI vlen, kinds to
// use unused bits").

// layoutSection is the layout section a 7.1 encoder writes for kinds 0
// to 19.
func layoutSection() []byte {
	sec := make([]byte, 4*numKinds)
	for k := range numKinds {
		sec[4*k], sec[4*k+1] = kindLayout[k][0], kindLayout[k][1]
	}
	return sec
}

// bytesV71 writes b's types in the 7.1 format: a header of hdrLen bytes
// (32 or more; extra is written after the 32), the types, the layout
// section, the strings.
func (b *rawBuilder) bytesV71(bo binary.ByteOrder, layout []byte, hdrLen int, extra []byte) []byte {
	types := make([]byte, 4*len(b.words))
	for i, w := range b.words {
		bo.PutUint32(types[4*i:], w)
	}
	hdr := make([]byte, hdrLen)
	bo.PutUint16(hdr, btfMagic)
	hdr[2] = 1
	bo.PutUint32(hdr[4:], uint32(hdrLen))
	bo.PutUint32(hdr[8:], 0)
	bo.PutUint32(hdr[12:], uint32(len(types)))
	bo.PutUint32(hdr[16:], uint32(len(types)+len(layout)))
	bo.PutUint32(hdr[20:], uint32(len(b.strs)))
	bo.PutUint32(hdr[24:], uint32(len(types)))
	bo.PutUint32(hdr[28:], uint32(len(layout)))
	copy(hdr[32:], extra)
	return append(append(append(hdr, types...), layout...), b.strs...)
}

// wideTypes is a struct with more members than 16 bits count, and an
// enum with more values.
func wideTypes(n int) *rawBuilder {
	b := newRaw()
	intT := b.add("int", info(kindInt, 0, false), 4, 1<<24|32)
	var members []uint32
	for i := range n {
		members = append(members, b.str("m"+itoa(i)), intT, uint32(32*i))
	}
	b.add("wide", info(kindStruct, n, false), uint32(4*n), members...)
	var vals []uint32
	for i := range n {
		vals = append(vals, b.str("W"+itoa(i)), uint32(i))
	}
	b.add("wide_e", info(kindEnum, n, false), 4, vals...)
	return b
}

func itoa(i int) string {
	var buf [20]byte
	n := len(buf)
	for {
		n--
		buf[n] = byte('0' + i%10)
		i /= 10
		if i == 0 {
			break
		}
	}
	return string(buf[n:])
}

func TestLayoutFormat(t *testing.T) {
	const n = 70000 // more than 65535: a 24-bit vlen
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		b := wideTypes(n)
		for _, tc := range []struct {
			name string
			data []byte
		}{
			{"32-byte header", b.bytesV71(bo, layoutSection(), 32, nil)},
			{"no layout section", b.bytesV71(bo, nil, 32, nil)},
			{"longer header, zero", b.bytesV71(bo, layoutSection(), 40, make([]byte, 8))},
		} {
			s, err := Parse(tc.data)
			if err != nil {
				t.Fatalf("%s %s: %v", bo, tc.name, err)
			}
			if got := s.types[2].vlen(); got != n || s.types[2].kind() != kindStruct {
				t.Fatalf("%s %s: struct has kind %d vlen %d, want STRUCT with %d members", bo, tc.name, s.types[2].kind(), got, n)
			}
			h := string(cHeader(t, s, nil))
			if !strings.Contains(h, "\tint m69999;\n};") || !strings.Contains(h, "\tW69999 = 69999,\n};") {
				t.Fatalf("%s %s: the header lacks the last member or value", bo, tc.name)
			}
		}
	}

	b := wideTypes(3)
	le := binary.LittleEndian
	badLayout := layoutSection()
	badLayout[4*kindStruct+1] = 16 // members of 16 bytes
	flags := layoutSection()
	le.PutUint16(flags[4*kindEnum+2:], 1)
	newKind := newRaw()
	newKind.add("int", info(kindInt, 0, false), 4, 1<<24|32)
	newKind.add("loc", info(20, 2, false), 0, 1, 2, 3, 4)
	withNew := append(layoutSection(), 0, 8, 0, 0) // kind 20: 8-byte elements
	misplaced := b.bytesV71(le, layoutSection(), 32, nil)
	le.PutUint32(misplaced[24:], 2) // layout_off inside the types

	for _, tc := range []struct {
		name, msg string
		data      []byte
		want      error
	}{
		{"layout disagrees", "STRUCT 0+16", b.bytesV71(le, badLayout, 32, nil), ErrUnsupported},
		{"layout flags", "flags 0x1", b.bytesV71(le, flags, 32, nil), ErrUnsupported},
		{"new kind", "kind 20", newKind.bytesV71(le, withNew, 32, nil), ErrUnsupported},
		{"new header fields", "header of 40 bytes", b.bytesV71(le, layoutSection(), 40, []byte{0, 0, 0, 0, 7}), ErrUnsupported},
		{"misplaced layout", "layout section", misplaced, ErrCorrupt},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Parse(tc.data)
			if !errors.Is(err, tc.want) || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
				t.Fatalf("Parse = %v, %v; want a one-line %v naming %q", s, err, tc.want, tc.msg)
			}
		})
	}
}
