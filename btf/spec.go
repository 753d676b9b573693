package btf

import (
	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/bits"
	"os"
	"strconv"
	"strings"
	"unsafe"

	"github.com/khtool/kh/internal/decompress"
)

// KernelPath is where a running kernel exposes its own (vmlinux) BTF.
const KernelPath = "/sys/kernel/btf/vmlinux"

// ModulePath returns where a running kernel exposes the split BTF of the
// loaded module name; its base is KernelPath.
func ModulePath(name string) string { return "/sys/kernel/btf/" + name }

// MaxInput caps the size of an input file and of a decompressed one. A
// vmlinux ELF with full DWARF is a few hundred MiB; its BTF is a few MiB.
const MaxInput = 1 << 30

// Errors that callers may want to tell apart (test with errors.Is).
var (
	// ErrNotBTF means the data is neither raw BTF nor an ELF file with a
	// .BTF section.
	ErrNotBTF = errors.New("not BTF")
	// ErrCorrupt means the data looks like BTF but is truncated or
	// malformed.
	ErrCorrupt = errors.New("corrupt BTF")
	// ErrNeedBase means the data is split BTF (a module's) that was
	// parsed without the base BTF it extends.
	ErrNeedBase = errors.New("split BTF needs its base BTF")
	// ErrBaseMismatch means split BTF does not fit the base it was given.
	ErrBaseMismatch = errors.New("split BTF does not match its base BTF")
	// ErrUnsupported means the data is BTF in a format newer than kh
	// reads: another version, header fields or kinds it does not know.
	ErrUnsupported = errors.New("unsupported BTF format")
)

// TypeID identifies a type within a Spec. ID 0 is void; a split Spec's
// own types follow its base's.
type TypeID uint32

// BTF kinds (include/uapi/linux/btf.h).
const (
	kindUnkn      = 0
	kindInt       = 1
	kindPtr       = 2
	kindArray     = 3
	kindStruct    = 4
	kindUnion     = 5
	kindEnum      = 6
	kindFwd       = 7
	kindTypedef   = 8
	kindVolatile  = 9
	kindConst     = 10
	kindRestrict  = 11
	kindFunc      = 12
	kindFuncProto = 13
	kindVar       = 14
	kindDatasec   = 15
	kindFloat     = 16
	kindDeclTag   = 17
	kindTypeTag   = 18
	kindEnum64    = 19
	numKinds      = 20
)

var kindNames = [numKinds]string{"UNKN", "INT", "PTR", "ARRAY", "STRUCT", "UNION", "ENUM", "FWD", "TYPEDEF",
	"VOLATILE", "CONST", "RESTRICT", "FUNC", "FUNC_PROTO", "VAR", "DATASEC", "FLOAT", "DECL_TAG", "TYPE_TAG", "ENUM64"}

const (
	btfMagic  = 0xeb9f
	headerLen = 24
	// layoutHeaderLen is the header with layout_off and layout_len.
	layoutHeaderLen = 32
	maxStrOff       = 0x7fffffff
	maxTypeID       = 1<<31 - 1
	wordsInHdr      = 3
)

// rtype is one decoded btf_type header. rest indexes the Spec's words at
// the kind-specific data that follows the header (members, params, ...).
type rtype struct {
	name uint32
	info uint32
	st   uint32 // size or type, depending on kind
	rest uint32
}

func (t *rtype) kind() int { return infoKind(t.info) }
func (t *rtype) vlen() int { return infoVlen(t.info) }

// infoKind and infoVlen decode a btf_type info word: since Linux 7.1
// (libbpf after v1.7, UAPI commit "Extend BTF UAPI vlen, kinds to use
// unused bits") the kind has 7 bits (24-30) and vlen 24 (0-23); before,
// 5 and 16, with the bits between unused and required to be zero, so
// the wider decoding reads older BTF the same.
func infoKind(info uint32) int { return int(info>>24) & 0x7f }
func infoVlen(info uint32) int { return int(info & 0xffffff) }
func (t *rtype) kflag() bool   { return t.info>>31 != 0 }

// Spec is parsed BTF: types numbered from 1 (0 is void) and their names.
// A split Spec (a kernel module's BTF) extends a base Spec (the kernel's):
// its type IDs and string offsets continue where the base's end, and it
// sees all of the base's types. A Spec is immutable and safe for
// concurrent use.
type Spec struct {
	// types and words cover the base's types too (copied), so that one
	// flat table serves every ID: types[id], types[0] is void.
	types []rtype
	words []uint32
	// strs is the base's string section followed by this one's.
	strs    string
	baseStr uint32 // length of the base's strings (0 without a base)
	firstID TypeID // first ID of this Spec's own types
	base    *Spec
	raw     []byte // this Spec's own raw BTF (as found, any byte order)
	elfPtr  int    // pointer size from the ELF class, 0 for raw BTF
	ptrSize int    // pointer size libbpf would assume (4 or 8; 0: unknown)
}

// Base returns the base Spec of split BTF, or nil.
func (s *Spec) Base() *Spec { return s.base }

// NumTypes returns the number of types, the base's included and void not:
// valid IDs run from 1 to NumTypes.
func (s *Spec) NumTypes() int { return len(s.types) - 1 }

// FirstID returns the ID of the Spec's first own type: 1, or for split
// BTF the ID after the base's last type.
func (s *Spec) FirstID() TypeID { return s.firstID }

// PointerSize returns the size of a pointer the BTF describes, in bytes:
// from the ELF class when the BTF came from an ELF file, else from the
// size of the "long" integer type, as libbpf guesses it; 0 if unknown.
func (s *Spec) PointerSize() int { return s.ptrSize }

// RawBTF returns the Spec's own BTF blob as it was read (for split BTF,
// without the base). It must not be modified.
func (s *Spec) RawBTF() []byte { return s.raw }

// Load reads BTF from path: raw BTF (such as /sys/kernel/btf/vmlinux),
// or an ELF file with a .BTF section (vmlinux, a BPF object), possibly
// compressed with gzip, xz or zstd.
func Load(path string) (*Spec, error) {
	return LoadSplit(path, nil)
}

// LoadSplit reads split BTF from path (raw, such as
// /sys/kernel/btf/MODULE, or a kernel module's .BTF section) on top of
// base. With a nil base it is Load.
func LoadSplit(path string, base *Spec) (*Spec, error) {
	s, err := loadFile(path, base)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// LoadKernel reads the running kernel's BTF from KernelPath.
func LoadKernel() (*Spec, error) { return Load(KernelPath) }

// LoadModule reads the split BTF of the loaded kernel module name on top
// of base, which is normally LoadKernel's result.
func LoadModule(name string, base *Spec) (*Spec, error) {
	if name == "" || strings.ContainsAny(name, "/\x00") || name == "." || name == ".." {
		return nil, fmt.Errorf("invalid module name %q", name)
	}
	if base == nil {
		return nil, fmt.Errorf("module %s: %w", name, ErrNeedBase)
	}
	return LoadSplit(ModulePath(name), base)
}

// loadFile reads the BTF in file path. Of an ELF file (a vmlinux with
// DWARF can be hundreds of MiB) it reads only the .BTF section.
func loadFile(path string, base *Spec) (*Spec, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return nil, errors.New("is a directory")
	}
	var magic [4]byte
	n, err := io.ReadFull(f, magic[:])
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		return nil, err
	}
	if n == len(magic) && string(magic[:]) == elf.ELFMAG && fi.Mode().IsRegular() {
		raw, ptr, err := elfBTF(f, fi.Size())
		if err != nil {
			return nil, err
		}
		return parseBTF(raw, ptr, base)
	}
	// Raw BTF (sysfs files report their size), or a compressed file:
	// read it all, with a cap.
	if fi.Size() > MaxInput {
		return nil, fmt.Errorf("larger than %d bytes", MaxInput)
	}
	buf := bytes.NewBuffer(make([]byte, 0, max(fi.Size(), 0)+bytes.MinRead))
	buf.Write(magic[:n])
	if _, err := buf.ReadFrom(io.LimitReader(f, MaxInput+1-int64(n))); err != nil {
		return nil, fmt.Errorf("read: %w", err)
	}
	if buf.Len() > MaxInput {
		return nil, fmt.Errorf("larger than %d bytes", MaxInput)
	}
	return ParseSplit(buf.Bytes(), base)
}

// Parse parses BTF data: raw BTF or an ELF file with a .BTF section,
// possibly compressed with gzip, xz or zstd. Data is not copied; it must
// not be modified afterwards.
func Parse(data []byte) (*Spec, error) {
	return ParseSplit(data, nil)
}

// ParseSplit parses split BTF data (raw, or an ELF file such as a kernel
// module with a .BTF section) on top of base, as Parse does. With a nil
// base it is Parse. A split Spec cannot be a base itself.
func ParseSplit(data []byte, base *Spec) (*Spec, error) {
	if f := decompress.Sniff(data); f != decompress.None {
		d, err := decompress.Decode(f, data, MaxInput)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		data = d
	}
	raw, elfPtr, err := findBTF(data)
	if err != nil {
		return nil, err
	}
	return parseBTF(raw, elfPtr, base)
}

// parseBTF parses raw BTF found in an ELF file of pointer size elfPtr (0
// for raw BTF).
func parseBTF(raw []byte, elfPtr int, base *Spec) (*Spec, error) {
	if base != nil && base.base != nil {
		return nil, errors.New("split BTF cannot serve as a base")
	}
	s, err := parseRaw(raw, base)
	if err != nil {
		return nil, err
	}
	s.elfPtr = elfPtr
	s.ptrSize = s.guessPtrSize()
	return s, nil
}

// findBTF returns the raw BTF in data (data itself, or an ELF file's .BTF
// section) and the ELF's pointer size (0 for raw BTF).
func findBTF(data []byte) ([]byte, int, error) {
	if len(data) >= 2 {
		if m := binary.LittleEndian.Uint16(data); m == btfMagic || bits.ReverseBytes16(m) == btfMagic {
			return data, 0, nil
		}
	}
	if !bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
		if len(data) < 2 {
			return nil, 0, fmt.Errorf("%w: %d bytes of data", ErrNotBTF, len(data))
		}
		return nil, 0, fmt.Errorf("%w: neither raw BTF (magic 0xeb9f) nor ELF", ErrNotBTF)
	}
	return elfBTF(bytes.NewReader(data), int64(len(data)))
}

// elfBTF reads the .BTF section of an ELF file of size bytes and returns
// it with the ELF's pointer size.
func elfBTF(r io.ReaderAt, size int64) (raw []byte, ptr int, err error) {
	// debug/elf is not hardened against every malformed file: never let
	// it take the process down.
	defer func() {
		if r := recover(); r != nil {
			raw, ptr, err = nil, 0, fmt.Errorf("%w: malformed ELF file (%v)", ErrCorrupt, r)
		}
	}()
	f, err := elf.NewFile(r)
	if err != nil {
		return nil, 0, fmt.Errorf("%w: ELF: %v", ErrCorrupt, err)
	}
	switch f.Class {
	case elf.ELFCLASS32:
		ptr = 4
	case elf.ELFCLASS64:
		ptr = 8
	}
	sec := f.Section(".BTF")
	if sec == nil {
		return nil, 0, fmt.Errorf("%w: ELF file has no .BTF section", ErrNotBTF)
	}
	if sec.Type == elf.SHT_NOBITS {
		return nil, 0, fmt.Errorf("%w: ELF .BTF section has no data", ErrCorrupt)
	}
	if sec.Flags&elf.SHF_COMPRESSED == 0 {
		if sec.Offset > uint64(size) || sec.Size > uint64(size)-sec.Offset {
			return nil, 0, fmt.Errorf("%w: ELF .BTF section lies outside the file", ErrCorrupt)
		}
		raw = make([]byte, sec.Size)
		if _, err := sec.ReadAt(raw, 0); err != nil {
			return nil, 0, fmt.Errorf("%w: ELF .BTF section: %v", ErrCorrupt, err)
		}
		return raw, ptr, nil
	}
	raw, err = io.ReadAll(io.LimitReader(sec.Open(), MaxInput+1))
	if err != nil {
		return nil, 0, fmt.Errorf("%w: ELF .BTF section: %v", ErrCorrupt, err)
	}
	if len(raw) > MaxInput {
		return nil, 0, fmt.Errorf("ELF .BTF section is larger than %d bytes", MaxInput)
	}
	return raw, ptr, nil
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

// parseRaw parses a raw BTF blob: header, string section, type section.
// The checks follow libbpf's btf_new() and then the kernel's verifier
// where that keeps the C writer safe (references in range, no loops).
func parseRaw(raw []byte, base *Spec) (*Spec, error) {
	if len(raw) < headerLen {
		return nil, corrupt("%d bytes is too short for a BTF header", len(raw))
	}
	var bo binary.ByteOrder = binary.LittleEndian
	switch binary.LittleEndian.Uint16(raw) {
	case btfMagic:
	case bits.ReverseBytes16(btfMagic):
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%w: bad magic %#04x", ErrNotBTF, binary.LittleEndian.Uint16(raw))
	}
	if v := raw[2]; v != 1 {
		return nil, fmt.Errorf("%w: BTF version %d (kh reads version 1)", ErrUnsupported, v)
	}
	if f := raw[3]; f != 0 {
		return nil, fmt.Errorf("%w: BTF header flags %#x (version 1 defines none)", ErrUnsupported, f)
	}
	hdrLen := bo.Uint32(raw[4:])
	if hdrLen < headerLen || uint64(hdrLen) > uint64(len(raw)) {
		return nil, corrupt("header length %d out of range (data is %d bytes)", hdrLen, len(raw))
	}
	// The 32-byte header of Linux 7.1 adds the layout section (struct
	// btf_layout per kind). A longer header is only understood if what
	// follows is zero, as libbpf does.
	var hdr [layoutHeaderLen]byte
	copy(hdr[:], raw[:min(hdrLen, layoutHeaderLen)])
	for i := uint32(layoutHeaderLen); i < hdrLen; i++ {
		if raw[i] != 0 {
			return nil, fmt.Errorf("%w: BTF header of %d bytes with data at byte %d (kh reads the 24-byte header and the 32-byte one with a layout section)", ErrUnsupported, hdrLen, i)
		}
	}
	typeOff, typeLen := bo.Uint32(hdr[8:]), bo.Uint32(hdr[12:])
	strOff, strLen := bo.Uint32(hdr[16:]), bo.Uint32(hdr[20:])
	layoutOff, layoutLen := bo.Uint32(hdr[24:]), bo.Uint32(hdr[28:])
	meta := uint64(len(raw)) - uint64(hdrLen)
	if uint64(strOff)+uint64(strLen) > meta {
		return nil, corrupt("string section (%d+%d) beyond the end of the data (%d bytes): truncated?", strOff, strLen, meta)
	}
	if uint64(typeOff)+uint64(typeLen) > uint64(strOff) {
		return nil, corrupt("type section (%d+%d) overlaps the string section at %d", typeOff, typeLen, strOff)
	}
	if typeOff%4 != 0 || typeLen%4 != 0 {
		return nil, corrupt("type section (%d+%d) is not 4-byte aligned", typeOff, typeLen)
	}
	if layoutLen != 0 {
		// The layout section sits between the types and the strings.
		if layoutOff%4 != 0 || layoutLen%4 != 0 || uint64(layoutOff) < uint64(typeOff)+uint64(typeLen) ||
			uint64(layoutOff)+uint64(layoutLen) > uint64(strOff) {
			return nil, corrupt("layout section (%d+%d) is misaligned or not between the types (%d+%d) and the strings (%d)",
				layoutOff, layoutLen, typeOff, typeLen, strOff)
		}
		if err := checkLayout(raw[hdrLen:][layoutOff:layoutOff+layoutLen], bo); err != nil {
			return nil, err
		}
	}
	body := raw[hdrLen:]
	strSec := body[strOff : strOff+strLen]
	typeSec := body[typeOff : typeOff+typeLen]

	s := &Spec{base: base, raw: raw, firstID: 1}
	if base == nil {
		if strLen == 0 || strSec[strLen-1] != 0 {
			return nil, corrupt("string section is empty or not NUL-terminated")
		}
		if strSec[0] != 0 {
			return nil, fmt.Errorf("%w: it looks like a module's (its string section does not start with an empty string)", ErrNeedBase)
		}
		// The data is not modified (Parse's contract, and loadFile's
		// buffer is its own): the strings need no copy.
		s.strs = unsafe.String(&strSec[0], len(strSec))
	} else {
		if strLen > 0 && strSec[strLen-1] != 0 {
			return nil, corrupt("string section is not NUL-terminated")
		}
		s.baseStr = uint32(len(base.strs))
		s.strs = base.strs + string(strSec)
		s.firstID = TypeID(len(base.types))
	}
	if uint64(len(s.strs)) > maxStrOff {
		return nil, corrupt("string sections too large")
	}

	// The type section is a sequence of 32-bit words in every kind.
	nw := len(typeSec) / 4
	var words []uint32
	var baseWords int
	if base != nil {
		baseWords = len(base.words)
		words = make([]uint32, baseWords+nw)
		copy(words, base.words)
	} else {
		words = make([]uint32, nw)
	}
	own := words[baseWords:]
	if bo == binary.LittleEndian {
		for i := range own {
			own[i] = binary.LittleEndian.Uint32(typeSec[4*i:])
		}
	} else {
		for i := range own {
			own[i] = binary.BigEndian.Uint32(typeSec[4*i:])
		}
	}
	s.words = words

	// Count the types first to size the table exactly.
	n := 0
	for i := 0; i < nw; n++ {
		if nw-i < wordsInHdr {
			return nil, corrupt("type %d: truncated header", int(s.firstID)+n)
		}
		sz, err := restWords(own[i+1])
		if err != nil {
			return nil, fmt.Errorf("%w: type %d has BTF kind %d; kh reads kinds 1 to %d (%s), those of Linux 7.1",
				ErrUnsupported, int(s.firstID)+n, infoKind(own[i+1]), numKinds-1, kindNames[numKinds-1])
		}
		i += wordsInHdr
		if sz > nw-i {
			return nil, corrupt("type %d (%s): data runs past the end of the type section", int(s.firstID)+n, kindName(infoKind(own[i-2])))
		}
		i += sz
	}
	if uint64(s.firstID)+uint64(n) > maxTypeID {
		return nil, corrupt("too many types")
	}
	first := 1
	if base != nil {
		first = len(base.types)
	}
	s.types = make([]rtype, first+n)
	if base != nil {
		copy(s.types, base.types)
	}
	for i, id := 0, first; i < nw; id++ {
		t := &s.types[id]
		t.name, t.info, t.st = own[i], own[i+1], own[i+2]
		i += wordsInHdr
		t.rest = uint32(baseWords + i)
		sz, _ := restWords(t.info)
		i += sz
	}
	if err := s.check(); err != nil {
		if base != nil {
			return nil, fmt.Errorf("%w: %v", ErrBaseMismatch, err)
		}
		if errors.Is(err, errRefRange) {
			return nil, fmt.Errorf("%w (%v)", ErrNeedBase, err)
		}
		return nil, fmt.Errorf("%w: %v", ErrCorrupt, err)
	}
	return s, nil
}

// restWords returns how many 32-bit words of kind-specific data follow a
// type header with the given info word.
func restWords(info uint32) (int, error) {
	vlen := infoVlen(info)
	switch k := infoKind(info); k {
	case kindFwd, kindConst, kindVolatile, kindRestrict, kindPtr, kindTypedef, kindFunc, kindFloat, kindTypeTag:
		return 0, nil
	case kindInt, kindVar, kindDeclTag:
		return 1, nil
	case kindEnum, kindFuncProto:
		return 2 * vlen, nil
	case kindArray:
		return 3, nil
	case kindStruct, kindUnion, kindDatasec, kindEnum64:
		return 3 * vlen, nil
	default:
		return 0, fmt.Errorf("%w %d", errUnknownKind, k)
	}
}

// kindLayout is the size of the data after a btf_type of each kind: a
// fixed part and one per vlen element (struct btf_layout's info_sz and
// elem_sz).
var kindLayout = [numKinds][2]uint8{
	kindInt: {4, 0}, kindArray: {12, 0}, kindStruct: {0, 12}, kindUnion: {0, 12}, kindEnum: {0, 8},
	kindFuncProto: {0, 8}, kindVar: {4, 0}, kindDatasec: {0, 12}, kindDeclTag: {4, 0}, kindEnum64: {0, 12},
}

// checkLayout checks the layout section of Linux 7.1's BTF (4 bytes per
// kind: info_sz, elem_sz, flags): every kind kh knows must be laid out
// as kh reads it. A kind kh does not know is refused where a type uses it.
func checkLayout(sec []byte, bo binary.ByteOrder) error {
	for k := 1; k < numKinds && 4*k+4 <= len(sec); k++ {
		l := sec[4*k:]
		if l[0] != kindLayout[k][0] || l[1] != kindLayout[k][1] {
			return fmt.Errorf("%w: the layout section gives kind %s %d+%d bytes per type and element, kh reads %d+%d",
				ErrUnsupported, kindNames[k], l[0], l[1], kindLayout[k][0], kindLayout[k][1])
		}
		if f := bo.Uint16(l[2:]); f != 0 {
			return fmt.Errorf("%w: the layout section gives kind %s flags %#x (none are defined)", ErrUnsupported, kindNames[k], f)
		}
	}
	return nil
}

// errUnknownKind is a kind newer than kh knows (BTF_KIND_ENUM64, 19, is
// the last one in Linux 7.1).
var errUnknownKind = errors.New("unknown BTF kind")

func kindName(k int) string {
	if k >= 0 && k < numKinds {
		return kindNames[k]
	}
	return "kind " + strconv.Itoa(k)
}

// Accessors for the kind-specific data of type t.
func (s *Spec) member(t *rtype, i int) (name, typ, off uint32) {
	w := s.words[int(t.rest)+3*i:]
	return w[0], w[1], w[2]
}

func (s *Spec) param(t *rtype, i int) (name, typ uint32) {
	w := s.words[int(t.rest)+2*i:]
	return w[0], w[1]
}

func (s *Spec) array(t *rtype) (elem, index, nelems uint32) {
	w := s.words[t.rest:]
	return w[0], w[1], w[2]
}

// name returns the string at offset off ("" when out of range, which
// check rules out for every offset a type uses).
func (s *Spec) name(off uint32) string {
	if off == 0 || off >= uint32(len(s.strs)) {
		return ""
	}
	str := s.strs[off:]
	if i := strings.IndexByte(str, 0); i >= 0 {
		return str[:i]
	}
	return str
}

var errRefRange = errors.New("type ID out of range")

// check validates this Spec's own types: string offsets and type IDs in
// range, references to kinds that make sense, and no reference loop that
// does not pass through a struct or union (the kernel rejects those, and
// libbpf's writer would recurse forever on them).
func (s *Spec) check() error {
	n := uint32(len(s.types))
	strOK := func(off uint32) bool {
		if off >= uint32(len(s.strs)) {
			return false
		}
		if s.base == nil || off == 0 || off == s.baseStr {
			return true
		}
		// Split BTF built on another base points into the middle of
		// strings: every name starts a string in BTF that tools write.
		return s.strs[off-1] == 0
	}
	for id := uint32(s.firstID); id < n; id++ {
		t := &s.types[id]
		k := t.kind()
		// ref checks a reference to type r; it returns a problem or "".
		ref := func(r uint32, void bool) string {
			if r >= n {
				return "out"
			}
			if r == 0 {
				if !void {
					return "is void"
				}
				return ""
			}
			switch s.types[r].kind() {
			case kindFunc, kindVar, kindDatasec, kindDeclTag:
				return "refers to a " + kindNames[s.types[r].kind()]
			}
			return ""
		}
		fail := func(what string, r uint32, problem string) error {
			if problem == "out" {
				return fmt.Errorf("type %d (%s): %s refers to type %d of %d: %w", id, kindNames[k], what, r, n-1, errRefRange)
			}
			return fmt.Errorf("type %d (%s): %s %s (type %d)", id, kindNames[k], what, problem, r)
		}
		if !strOK(t.name) {
			return fmt.Errorf("type %d (%s): name offset %d out of range", id, kindNames[k], t.name)
		}
		vlen := t.vlen()
		switch k {
		case kindUnkn:
			return fmt.Errorf("type %d: invalid kind 0", id)
		case kindInt, kindFloat, kindFwd:
		case kindPtr, kindTypedef, kindVolatile, kindConst, kindRestrict, kindTypeTag:
			if p := ref(t.st, true); p != "" {
				return fail("target", t.st, p)
			}
		case kindVar:
			if p := ref(t.st, false); p != "" {
				return fail("type", t.st, p)
			}
		case kindArray:
			elem, index, _ := s.array(t)
			if p := ref(elem, false); p != "" {
				return fail("element", elem, p)
			}
			if p := ref(index, true); p != "" {
				return fail("index", index, p)
			}
		case kindStruct, kindUnion:
			for i := 0; i < vlen; i++ {
				name, typ, _ := s.member(t, i)
				if !strOK(name) {
					return fmt.Errorf("type %d (%s): member %d: name offset %d out of range", id, kindNames[k], i, name)
				}
				if p := ref(typ, false); p != "" {
					return fail(fmt.Sprintf("member %d", i), typ, p)
				}
			}
		case kindFuncProto:
			if p := ref(t.st, true); p != "" {
				return fail("return type", t.st, p)
			}
			for i := 0; i < vlen; i++ {
				name, typ := s.param(t, i)
				if !strOK(name) {
					return fmt.Errorf("type %d (%s): parameter %d: name offset %d out of range", id, kindNames[k], i, name)
				}
				if p := ref(typ, i == vlen-1); p != "" {
					return fail(fmt.Sprintf("parameter %d", i), typ, p)
				}
			}
		case kindEnum, kindEnum64:
			step := 2
			if k == kindEnum64 {
				step = 3
			}
			for i := 0; i < vlen; i++ {
				if name := s.words[int(t.rest)+step*i]; !strOK(name) {
					return fmt.Errorf("type %d (%s): value %d: name offset %d out of range", id, kindNames[k], i, name)
				}
			}
		case kindDatasec:
			for i := 0; i < vlen; i++ {
				v := s.words[int(t.rest)+3*i]
				if v >= n || v == 0 {
					return fail(fmt.Sprintf("variable %d", i), v, "out")
				}
				if vk := s.types[v].kind(); vk != kindVar && vk != kindFunc {
					return fail(fmt.Sprintf("variable %d", i), v, "is a "+kindNames[vk])
				}
			}
		case kindFunc:
			if t.st >= n || t.st == 0 {
				return fail("prototype", t.st, "out")
			}
			if pk := s.types[t.st].kind(); pk != kindFuncProto {
				return fail("prototype", t.st, "is a "+kindNames[pk])
			}
		case kindDeclTag:
			if t.st >= n || t.st == 0 {
				return fail("target", t.st, "out")
			}
		}
	}
	return s.checkLoops()
}

// checkLoops rejects reference cycles among the types that are not
// structs or unions (pointers, typedefs, modifiers, arrays, prototypes):
// C cannot express them and the writer would not terminate.
func (s *Spec) checkLoops() error {
	n := len(s.types)
	const (
		white = iota
		grey
		black
	)
	color := make([]uint8, n)
	// Base types were checked when the base was parsed; they cannot
	// refer to this Spec's types.
	for id := 1; id < int(s.firstID); id++ {
		color[id] = black
	}
	type frame struct {
		id  uint32
		nxt int // next edge to follow
	}
	var stack []frame
	edges := func(id uint32, i int) (uint32, bool) {
		t := &s.types[id]
		switch t.kind() {
		case kindPtr, kindTypedef, kindVolatile, kindConst, kindRestrict, kindTypeTag, kindFunc, kindVar, kindDeclTag:
			return t.st, i == 0
		case kindArray:
			elem, _, _ := s.array(t)
			return elem, i == 0
		case kindFuncProto:
			if i == 0 {
				return t.st, true
			}
			if i-1 < t.vlen() {
				_, p := s.param(t, i-1)
				return p, true
			}
		}
		return 0, false
	}
	for root := int(s.firstID); root < n; root++ {
		if color[root] != white {
			continue
		}
		color[root] = grey
		stack = append(stack[:0], frame{id: uint32(root)})
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			next, ok := edges(f.id, f.nxt)
			if !ok {
				color[f.id] = black
				stack = stack[:len(stack)-1]
				continue
			}
			f.nxt++
			switch color[next] {
			case grey:
				return fmt.Errorf("type %d (%s): reference loop", next, kindNames[s.types[next].kind()])
			case white:
				color[next] = grey
				stack = append(stack, frame{id: next})
			}
		}
	}
	return nil
}

// guessPtrSize is libbpf's btf__pointer_size(): the ELF class if the BTF
// came from an ELF file, else the base's, else the size of a "long".
func (s *Spec) guessPtrSize() int {
	if s.elfPtr > 0 {
		return s.elfPtr
	}
	if s.base != nil && s.base.elfPtr > 0 {
		return s.base.elfPtr
	}
	for id := 1; id < len(s.types); id++ {
		t := &s.types[id]
		if t.kind() != kindInt || (t.st != 4 && t.st != 8) {
			continue
		}
		switch s.name(t.name) {
		case "long", "long int", "int long", "unsigned long", "long unsigned", "unsigned long int",
			"unsigned int long", "long unsigned int", "long int unsigned", "int unsigned long", "int long unsigned":
			return int(t.st)
		}
	}
	return 0
}
