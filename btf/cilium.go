package btf

import (
	"bytes"
	"encoding/binary"
	"fmt"

	ebtf "github.com/cilium/ebpf/btf"
)

// Cilium parses the Spec's BTF again with github.com/cilium/ebpf/btf, for
// its type-graph API (CO-RE relocations, loading BTF into the kernel).
// For split BTF the base is parsed too. Type IDs are the same in both.
//
// The C writer does not use cilium/ebpf's Spec: it folds ENUM and ENUM64
// into one Enum type, turns legacy (non-kind-flag) bitfields into member
// bitfields and hides DECL_TAG targets, all of which change what libbpf
// prints, and inflating every type of a kernel's BTF costs about as much
// time as bpftool takes for the whole header.
func (s *Spec) Cilium() (*ebtf.Spec, error) {
	if s.base == nil {
		spec, err := ebtf.LoadSpecFromReader(bytes.NewReader(s.raw))
		if err != nil {
			return nil, fmt.Errorf("cilium/ebpf: %w", err)
		}
		return spec, nil
	}
	base, err := s.base.Cilium()
	if err != nil {
		return nil, fmt.Errorf("base: %w", err)
	}
	spec, err := ebtf.LoadSplitSpecFromReader(bytes.NewReader(s.raw), base)
	if err != nil {
		return nil, fmt.Errorf("cilium/ebpf: %w", err)
	}
	return spec, nil
}

// FromTypes builds a Spec from types made in Go with
// github.com/cilium/ebpf/btf: the types are numbered from 1 in the order
// given, and the types they refer to that are not listed follow them.
// An Enum of size 8 becomes an ENUM64.
func FromTypes(types []ebtf.Type) (*Spec, error) {
	raw, err := MarshalTypes(types, binary.LittleEndian)
	if err != nil {
		return nil, err
	}
	return Parse(raw)
}

// MarshalTypes encodes types as raw BTF in byte order bo, numbered as
// FromTypes numbers them.
func MarshalTypes(types []ebtf.Type, bo binary.ByteOrder) ([]byte, error) {
	b, err := ebtf.NewBuilder(types, nil)
	if err != nil {
		return nil, fmt.Errorf("build BTF: %w", err)
	}
	raw, err := b.Marshal(nil, &ebtf.MarshalOptions{Order: bo})
	if err != nil {
		return nil, fmt.Errorf("marshal BTF: %w", err)
	}
	return raw, nil
}
