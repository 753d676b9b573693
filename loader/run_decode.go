package loader

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/cilium/ebpf/btf"
)

// Record types
//
// A ring buffer or perf event array carries records of any layout; BTF
// does not say which. kh decodes the records of map M with the first of:
//
//  1. the type named in StreamOptions.RecordTypes[M] (kh run --record M=TYPE),
//  2. a struct or union named M (a typedef of one also counts),
//  3. a struct or union named "event" (or a typedef "event").
//
// The type must be in the object's BTF, so the program must mention it
// somewhere BTF records: a global such as
//
//	struct event *unused_event __attribute__((unused));
//
// does. Records shorter than the type are printed as hex.

// Field is one decoded member of a struct or union.
type Field struct {
	Name  string
	Value any
}

// Fields is a decoded struct or union: its members in declaration order.
// Values are int64, uint64, float64, bool, string (char arrays, and
// pointers as "0x..." hex), []any (arrays) or Fields.
type Fields []Field

// Get returns the value of the member called name, or nil.
func (f Fields) Get(name string) any {
	for _, x := range f {
		if x.Name == name {
			return x.Value
		}
	}
	return nil
}

// MarshalJSON writes the fields as a JSON object in declaration order.
func (f Fields) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, x := range f {
		if i > 0 {
			b.WriteByte(',')
		}
		k, err := json.Marshal(x.Name)
		if err != nil {
			return nil, err
		}
		v, err := json.Marshal(x.Value)
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// String formats the fields as "name=value name=value".
func (f Fields) String() string {
	var b strings.Builder
	for i, x := range f {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(x.Name)
		b.WriteByte('=')
		b.WriteString(formatValue(x.Value))
	}
	return b.String()
}

// formatValue formats a decoded value for text output.
func formatValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case Fields:
		return "{" + v.String() + "}"
	case []any:
		parts := make([]string, len(v))
		for i, e := range v {
			parts[i] = formatValue(e)
		}
		return "[" + strings.Join(parts, " ") + "]"
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	}
	return fmt.Sprint(v)
}

// recordDecoder decodes the records of one map.
type recordDecoder struct {
	name string // type name, for Event.Type
	typ  btf.Type
	size int
}

// findRecordType picks the type of map's records by the convention
// above. override, when not empty, names it explicitly; it must exist.
func findRecordType(spec *btf.Spec, mapName, override string) (*recordDecoder, error) {
	if spec == nil {
		if override != "" {
			return nil, errors.New("the object has no BTF")
		}
		return nil, nil
	}
	names := []string{mapName, "event"}
	if override != "" {
		names = []string{override}
	}
	for _, n := range names {
		types, err := spec.AnyTypesByName(n)
		if err != nil {
			continue
		}
		for _, t := range types {
			switch btf.UnderlyingType(t).(type) {
			case *btf.Struct, *btf.Union:
			default:
				if override == "" {
					continue
				}
			}
			size, err := btf.Sizeof(t)
			if err != nil {
				return nil, fmt.Errorf("record type %s: %w", n, err)
			}
			return &recordDecoder{name: n, typ: t, size: size}, nil
		}
	}
	if override != "" {
		return nil, fmt.Errorf("record type %s: not in the object's BTF", override)
	}
	return nil, nil
}

// decode decodes one record; it fails when the record is too short.
func (d *recordDecoder) decode(raw []byte) (any, error) {
	if len(raw) < d.size {
		return nil, fmt.Errorf("record of %d bytes is shorter than %s (%d bytes)", len(raw), d.name, d.size)
	}
	return decodeValue(d.typ, raw[:d.size], 0)
}

// maxDecodeDepth bounds nesting (and cycles through hostile BTF).
const maxDecodeDepth = 32

// decodeValue decodes data as typ, in the host's byte order.
func decodeValue(typ btf.Type, data []byte, depth int) (any, error) {
	if depth > maxDecodeDepth {
		return nil, errors.New("type nested too deeply")
	}
	switch t := btf.UnderlyingType(typ).(type) {
	case *btf.Int:
		if int(t.Size) > len(data) {
			return nil, errors.New("short data")
		}
		return decodeInt(t, data[:t.Size]), nil
	case *btf.Enum:
		if int(t.Size) > len(data) {
			return nil, errors.New("short data")
		}
		u := readUint(data[:t.Size])
		for _, v := range t.Values {
			if v.Value == u || (t.Signed && int64(v.Value) == signExtend(u, int(t.Size))) {
				return v.Name, nil
			}
		}
		if t.Signed {
			return signExtend(u, int(t.Size)), nil
		}
		return u, nil
	case *btf.Pointer:
		if len(data) < 8 {
			return nil, errors.New("short data")
		}
		return fmt.Sprintf("%#x", readUint(data[:8])), nil
	case *btf.Float:
		switch t.Size {
		case 4:
			return float64(math.Float32frombits(binary.NativeEndian.Uint32(data))), nil
		case 8:
			return math.Float64frombits(binary.NativeEndian.Uint64(data)), nil
		}
		return fmt.Sprintf("%x", data[:t.Size]), nil
	case *btf.Array:
		elemSize, err := btf.Sizeof(t.Type)
		if err != nil {
			return nil, err
		}
		n := int(t.Nelems)
		if elemSize*n > len(data) {
			return nil, errors.New("short data")
		}
		if el, ok := btf.UnderlyingType(t.Type).(*btf.Int); ok && el.Size == 1 && (el.Encoding == btf.Char || el.Name == "char") {
			s := data[:n]
			if i := bytes.IndexByte(s, 0); i >= 0 {
				s = s[:i]
			}
			return string(s), nil
		}
		out := make([]any, n)
		for i := range n {
			v, err := decodeValue(t.Type, data[i*elemSize:(i+1)*elemSize], depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	case *btf.Struct:
		return decodeMembers(t.Members, data, depth)
	case *btf.Union:
		return decodeMembers(t.Members, data, depth)
	}
	return fmt.Sprintf("%x", data), nil
}

// decodeMembers decodes the members of a struct or union. Members of
// anonymous struct or union members are lifted into the parent, as C
// names them.
func decodeMembers(members []btf.Member, data []byte, depth int) (Fields, error) {
	var out Fields
	for _, m := range members {
		off := int(m.Offset / 8)
		if m.BitfieldSize > 0 {
			v, err := decodeBitfield(m, data)
			if err != nil {
				return nil, fmt.Errorf("member %s: %w", m.Name, err)
			}
			out = append(out, Field{m.Name, v})
			continue
		}
		size, err := btf.Sizeof(m.Type)
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", m.Name, err)
		}
		if off+size > len(data) {
			return nil, fmt.Errorf("member %s: outside the record", m.Name)
		}
		v, err := decodeValue(m.Type, data[off:off+size], depth+1)
		if err != nil {
			return nil, fmt.Errorf("member %s: %w", m.Name, err)
		}
		if m.Name == "" {
			if f, ok := v.(Fields); ok {
				out = append(out, f...)
				continue
			}
		}
		out = append(out, Field{m.Name, v})
	}
	return out, nil
}

// decodeBitfield extracts a bitfield member (little-endian bit numbering,
// as on every architecture kh supports).
func decodeBitfield(m btf.Member, data []byte) (any, error) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		return nil, errors.New("bitfields on big-endian hosts are not decoded")
	}
	start := int(m.Offset / 8)
	shift := uint(m.Offset % 8)
	bits := uint(m.BitfieldSize)
	if bits > 64 || shift+bits > 64 {
		return nil, errors.New("bitfield too wide")
	}
	end := start + int((shift+bits+7)/8)
	if end > len(data) {
		return nil, errors.New("outside the record")
	}
	var buf [8]byte
	copy(buf[:], data[start:end])
	u := binary.LittleEndian.Uint64(buf[:]) >> shift
	if bits < 64 {
		u &= 1<<bits - 1
	}
	if it, ok := btf.UnderlyingType(m.Type).(*btf.Int); ok && it.Encoding == btf.Signed && bits < 64 && u&(1<<(bits-1)) != 0 {
		return int64(u | ^(1<<bits - 1)), nil
	}
	if it, ok := btf.UnderlyingType(m.Type).(*btf.Int); ok && it.Encoding == btf.Bool {
		return u != 0, nil
	}
	return u, nil
}

// decodeInt decodes an integer of 1, 2, 4 or 8 bytes (wider ones as hex).
func decodeInt(t *btf.Int, data []byte) any {
	if t.Size > 8 {
		return fmt.Sprintf("%x", data)
	}
	u := readUint(data)
	switch {
	case t.Encoding == btf.Bool:
		return u != 0
	case t.Encoding == btf.Signed:
		return signExtend(u, int(t.Size))
	}
	return u
}

// readUint reads 1, 2, 4 or 8 bytes in the host's byte order.
func readUint(b []byte) uint64 {
	switch len(b) {
	case 1:
		return uint64(b[0])
	case 2:
		return uint64(binary.NativeEndian.Uint16(b))
	case 4:
		return uint64(binary.NativeEndian.Uint32(b))
	case 8:
		return binary.NativeEndian.Uint64(b)
	}
	var buf [8]byte
	copy(buf[:], b)
	return binary.NativeEndian.Uint64(buf[:])
}

// signExtend interprets the low size bytes of u as a signed integer.
func signExtend(u uint64, size int) int64 {
	if size >= 8 {
		return int64(u)
	}
	shift := 64 - 8*uint(size)
	return int64(u<<shift) >> shift
}
