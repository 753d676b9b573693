package xz

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
)

// Limits bounds what a stream may ask of the decoder, and opts in to
// what the strict default refuses. The zero value is usable: a 64 MiB
// dictionary limit, no output cap, any check type, LZMA2 alone.
type Limits struct {
	// MaxDict is the largest LZMA2 (or LZMA) dictionary a stream may
	// declare; 0 means 64 MiB (the largest size the xz tool's presets
	// use).
	MaxDict uint32
	// MaxOutput caps the total decoded size; 0 means no cap. A Reader
	// returns at most MaxOutput bytes, then an error wrapping ErrLimit.
	MaxOutput int64
	// RequireCheck rejects streams whose check type is None (and every
	// .lzma stream, which has no check).
	RequireCheck bool
	// AllowBCJ accepts a block filter chain of one BCJ filter (x86,
	// PowerPC, ARM, ARM-Thumb, ARM64 or SPARC) before LZMA2, as the
	// kernel build writes for compressed kernel images. Without it such
	// a block is ErrUnsupported.
	AllowBCJ bool
}

// DefaultMaxDict is the dictionary limit that Limits.MaxDict == 0 means.
const DefaultMaxDict = 64 << 20

func (l Limits) maxDict() uint32 {
	if l.MaxDict == 0 {
		return DefaultMaxDict
	}
	return l.MaxDict
}

// Info describes a validated stream, as Inspect reads it from the
// stream's headers and index without decoding any LZMA2 data.
type Info struct {
	// Check is the integrity check type: "none", "crc32", "crc64" or
	// "sha256".
	Check string
	// Blocks is the number of blocks in the stream.
	Blocks int
	// UncompressedSize is the decoded size that the index records.
	UncompressedSize int64
	// CompressedSize is the size of the stream from its header to its
	// footer, without stream padding.
	CompressedSize int64
	// MaxDict is the largest LZMA2 dictionary size of any block.
	MaxDict uint32
}

// Check types of the stream flags.
const (
	checkNone   = 0x00
	checkCRC32  = 0x01
	checkCRC64  = 0x04
	checkSHA256 = 0x0a
)

var checkNames = map[byte]string{
	checkNone:   "none",
	checkCRC32:  "crc32",
	checkCRC64:  "crc64",
	checkSHA256: "sha256",
}

// checkSize returns the size of a check of the given (supported) type.
func checkSize(t byte) int {
	switch t {
	case checkCRC32:
		return 4
	case checkCRC64:
		return 8
	case checkSHA256:
		return 32
	}
	return 0
}

const (
	headerSize  = 12 // stream header and stream footer
	filterLZMA2 = 0x21
	// vliMax is the largest value a multibyte integer may encode.
	vliMax = 1<<63 - 1
	// unpaddedMin is the smallest valid Unpadded Size of a block: a
	// minimal block header (8 bytes) would already exceed it, but it is
	// the limit the format specification and liblzma use.
	unpaddedMin = 5
)

var (
	headerMagic = []byte{0xfd, '7', 'z', 'X', 'Z', 0x00}
	footerMagic = []byte{'Y', 'Z'}
)

// blockInfo locates one block inside the input, as the index and the
// block header describe it.
type blockInfo struct {
	header       int   // offset of the block header
	data         int   // offset of the compressed data
	compressed   int   // size of the compressed data (without padding)
	check        int   // offset of the check field (after block padding)
	uncompressed int64 // decoded size, from the index; -1 if not known
	dict         uint32
	filter       uint64 // BCJ filter ID before LZMA2, or 0
	filterStart  uint32 // the BCJ filter's start offset
}

// stream is the result of validating an input: its Info plus what the
// decoder needs to find every block.
type stream struct {
	info      Info
	checkType byte
	blocks    []blockInfo
	window    int64 // the window that serves every block (modeIndexed), set by NewReader
}

// MinBlockOutput is the smallest average output per block that a stream
// may have: a stream may hold at most one block per MinBlockOutput bytes
// of output, plus BlockSlack. Each block costs the decoder a fixed amount
// of work (its header, a fresh LZMA state, its check) whatever it
// holds, so without this cap a stream of tiny blocks makes decoding cost
// far more than its output: `xz --block-size=1` gives 64 blocks per KiB.
// `xz --block-size=4KiB`, the smallest block size worth using, passes.
const MinBlockOutput = 4 << 10

// BlockSlack is how many blocks a stream may hold beyond one per
// MinBlockOutput bytes of output (a small stream, a short last block).
const BlockSlack = 16

// maxBlocks returns how many blocks a stream of out bytes of output may
// hold.
func maxBlocks(out int64) int64 { return out/MinBlockOutput + BlockSlack }

// tooManyBlocks is the error for a stream with more blocks than
// maxBlocks allows.
func tooManyBlocks(blocks, out int64) error {
	return newError(ErrLimit, "%d blocks for %d bytes of output: at most one block per %s (plus %d) is allowed", blocks, out, sizeString(MinBlockOutput), BlockSlack)
}

// Inspect validates data as a single xz stream, optionally followed by
// stream padding, without decoding any LZMA2 data: the stream header and
// footer, the index, and every block header, against the limits lim.
// It returns what the headers and the index say about the stream.
// Errors wrap ErrFormat, ErrCorrupt, ErrTruncated, ErrLimit or
// ErrUnsupported.
func Inspect(data []byte, lim Limits) (Info, error) {
	s, err := inspect(data, lim)
	if err != nil {
		return Info{}, err
	}
	return s.info, nil
}

func inspect(data []byte, lim Limits) (*stream, error) {
	checkType, err := parseStreamHeader(data, lim)
	if err != nil {
		return nil, err
	}
	// Strip stream padding: whole groups of four zero bytes. A footer
	// ends in "YZ", so the padding is unambiguous.
	end := len(data)
	for end >= 4 && binary.LittleEndian.Uint32(data[end-4:end]) == 0 {
		end -= 4
	}
	s, err := parseStream(data[:end], checkType, lim)
	if err == nil {
		return s, nil
	}
	// The input does not end in a valid stream. If a complete stream
	// ends earlier, what follows it is trailing data; report that rather
	// than the symptom at the end of the input.
	if e := findStreamEnd(data, checkType, lim); e > 0 {
		if allZero(data[e:]) {
			return nil, corruptf("stream padding of %d bytes is not a multiple of four", len(data)-e)
		}
		return nil, corruptf("trailing data after the stream")
	}
	return nil, err
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// findStreamEnd looks for the end of a complete, valid stream that starts
// at offset 0 and ends before the end of data. It returns that end, or 0.
// It is only used to explain why an input is invalid.
func findStreamEnd(data []byte, checkType byte, lim Limits) int {
	// The smallest stream is a header, an empty index (8 bytes) and a
	// footer; streams are a multiple of four bytes long. Only a few
	// candidates with a valid footer get a full parse, so that an input
	// full of crafted footers cannot make this quadratic.
	budget := 8
	for e := 2*headerSize + 8; e < len(data) && budget > 0; e += 4 {
		f := data[e-headerSize : e]
		if f[10] != 'Y' || f[11] != 'Z' || crc32.ChecksumIEEE(f[4:10]) != binary.LittleEndian.Uint32(f[0:4]) {
			continue
		}
		budget--
		if _, err := parseStream(data[:e], checkType, lim); err == nil {
			return e
		}
	}
	return 0
}

// parseStreamHeader checks the stream header at the start of data, and
// its check type against lim, and returns the check type.
func parseStreamHeader(data []byte, lim Limits) (byte, error) {
	n := min(len(data), len(headerMagic))
	if !bytes.Equal(data[:n], headerMagic[:n]) {
		return 0, newError(ErrFormat, "not an xz stream (bad magic)")
	}
	if len(data) < headerSize {
		return 0, errTruncated()
	}
	flags := data[6:8]
	if crc32.ChecksumIEEE(flags) != binary.LittleEndian.Uint32(data[8:12]) {
		return 0, corruptf("stream header CRC32 mismatch")
	}
	if flags[0] != 0 || flags[1]&0xf0 != 0 {
		return 0, newError(ErrUnsupported, "unsupported stream flags %#02x %#02x", flags[0], flags[1])
	}
	t := flags[1] & 0x0f
	if _, ok := checkNames[t]; !ok {
		return 0, newError(ErrUnsupported, "unsupported check type %#x", t)
	}
	if lim.RequireCheck && t == checkNone {
		return 0, newError(ErrLimit, "stream has no integrity check (check type none)")
	}
	return t, nil
}

// parseStream validates data as exactly one stream (no padding after it)
// whose header has already been checked.
func parseStream(data []byte, checkType byte, lim Limits) (*stream, error) {
	if len(data) < 2*headerSize {
		return nil, errTruncated()
	}
	footer := data[len(data)-headerSize:]
	if !bytes.Equal(footer[10:12], footerMagic) {
		// A stream cut short ends anywhere; a stream whose footer magic
		// was damaged is rarer. Call it what it most likely is.
		return nil, errTruncated()
	}
	if crc32.ChecksumIEEE(footer[4:10]) != binary.LittleEndian.Uint32(footer[0:4]) {
		return nil, corruptf("stream footer CRC32 mismatch")
	}
	if !bytes.Equal(footer[8:10], data[6:8]) {
		return nil, corruptf("stream footer flags differ from the stream header's")
	}
	indexSize := (int64(binary.LittleEndian.Uint32(footer[4:8])) + 1) * 4
	indexEnd := len(data) - headerSize
	if indexSize > int64(indexEnd-headerSize) {
		return nil, corruptf("index size %d (from the stream footer) exceeds the stream", indexSize)
	}
	indexStart := indexEnd - int(indexSize)
	recs, err := parseIndex(data[indexStart:indexEnd])
	if err != nil {
		return nil, err
	}

	s := &stream{
		checkType: checkType,
		info: Info{
			Check:          checkNames[checkType],
			Blocks:         len(recs),
			CompressedSize: int64(len(data)),
		},
		blocks: make([]blockInfo, len(recs)),
	}
	// The blocks must fill the space between the header and the index
	// exactly. Sum first, so a lying index cannot send us past the input.
	var blocksSize, total uint64
	for _, r := range recs {
		blocksSize += (r.unpadded + 3) &^ 3 // both are < 2^63: no overflow
		if blocksSize > uint64(indexStart-headerSize) {
			return nil, corruptf("index records more block data than the stream holds")
		}
		total += r.uncompressed
		if total > vliMax {
			return nil, corruptf("index records an uncompressed size beyond 2^63")
		}
	}
	if blocksSize != uint64(indexStart-headerSize) {
		return nil, corruptf("index records %d bytes of blocks, the stream holds %d", blocksSize, indexStart-headerSize)
	}
	s.info.UncompressedSize = int64(total)
	if lim.MaxOutput > 0 && s.info.UncompressedSize > lim.MaxOutput {
		return nil, newError(ErrLimit, "uncompressed size %d exceeds the %d byte limit", total, lim.MaxOutput)
	}

	off := headerSize
	csize := checkSize(checkType)
	for i, r := range recs {
		b, err := parseBlockHeader(data[off:off+int(r.unpadded)], csize, r, lim)
		if err != nil {
			return nil, blockError(i+1, err)
		}
		b.header += off
		b.data += off
		b.check += off
		s.blocks[i] = b
		s.info.MaxDict = max(s.info.MaxDict, b.dict)
		off += int((r.unpadded + 3) &^ 3)
	}
	return s, nil
}

type indexRecord struct {
	unpadded, uncompressed uint64
}

// parseIndex validates the index field (indicator to CRC32 inclusive).
func parseIndex(idx []byte) ([]indexRecord, error) {
	if len(idx) < 8 || idx[0] != 0 {
		return nil, corruptf("index not found where the stream footer says")
	}
	body := idx[:len(idx)-4]
	if crc32.ChecksumIEEE(body) != binary.LittleEndian.Uint32(idx[len(idx)-4:]) {
		return nil, corruptf("index CRC32 mismatch")
	}
	pos := 1
	count, n := readVLI(body[pos:])
	if n <= 0 {
		return nil, corruptf("index: bad record count")
	}
	pos += n
	// Every record takes at least two bytes.
	if count > uint64(len(body)-pos)/2 {
		return nil, corruptf("index: record count %d does not fit the index size", count)
	}
	// Before anything is allocated for the records: their output, and
	// the cap on the number of blocks for it.
	var total uint64
	for i, q := uint64(0), pos; i < count; i++ {
		_, n := readVLI(body[q:])
		if n <= 0 {
			return nil, corruptf("index: bad record %d", i+1)
		}
		q += n
		c, n := readVLI(body[q:])
		if n <= 0 {
			return nil, corruptf("index: bad record %d", i+1)
		}
		q += n
		if total += c; c > vliMax || total > vliMax {
			return nil, corruptf("index records an uncompressed size beyond 2^63")
		}
	}
	if int64(count) > maxBlocks(int64(total)) {
		return nil, tooManyBlocks(int64(count), int64(total))
	}
	recs := make([]indexRecord, count)
	for i := range recs {
		u, n := readVLI(body[pos:])
		if n <= 0 {
			return nil, corruptf("index: bad record %d", i+1)
		}
		pos += n
		c, n := readVLI(body[pos:])
		if n <= 0 {
			return nil, corruptf("index: bad record %d", i+1)
		}
		pos += n
		if u < unpaddedMin || u > vliMax&^3 {
			return nil, corruptf("index: record %d: invalid unpadded size %d", i+1, u)
		}
		recs[i] = indexRecord{unpadded: u, uncompressed: c}
	}
	if pos > len(body) || len(body)-pos > 3 || (pos+4-1)/4*4 != len(body) {
		return nil, corruptf("index: size does not match its records")
	}
	if !allZero(body[pos:]) {
		return nil, corruptf("index: nonzero padding")
	}
	return recs, nil
}

// readVLI decodes an xz multibyte integer from the start of b. It
// returns the value and its length, or a length <= 0 if b holds no valid
// integer (truncated, longer than nine bytes, or not minimally encoded).
func readVLI(b []byte) (uint64, int) {
	var v uint64
	for i := 0; i < 9; i++ {
		if i >= len(b) {
			return 0, 0
		}
		c := b[i]
		v |= uint64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			if c == 0 && i > 0 {
				return 0, -1 // not minimal
			}
			return v, i + 1
		}
	}
	return 0, -1
}

// filterNames names the filter IDs of the xz format, for error messages.
var filterNames = map[uint64]string{
	0x03: "delta",
	0x04: "BCJ-x86",
	0x05: "BCJ-PowerPC",
	0x06: "BCJ-IA64",
	0x07: "BCJ-ARM",
	0x08: "BCJ-ARM-Thumb",
	0x09: "BCJ-SPARC",
	0x0a: "BCJ-ARM64",
	0x0b: "BCJ-RISC-V",
	0x21: "LZMA2",
}

func filterName(id uint64) string {
	if n, ok := filterNames[id]; ok {
		return n
	}
	return fmt.Sprintf("%#x", id)
}

// dictString renders an LZMA2 dictionary size; the largest encodable
// size, 4 GiB - 1, reads as 4 GiB as the xz tool prints it.
func dictString(d uint32) string {
	if d == 1<<32-1 {
		return "4 GiB"
	}
	return sizeString(uint64(d))
}

// blockHeader is what a block header says.
type blockHeader struct {
	size         int   // of the header itself
	compressed   int64 // -1 if the header does not say
	uncompressed int64 // -1 if the header does not say
	dict         uint32
	filter       uint64 // BCJ filter ID before LZMA2, or 0
	filterStart  uint32
}

// parseBlockHeader validates the block header at the start of blk, the
// block's unpadded extent (header, compressed data, padding and check,
// less the final padding) as the index records it. Offsets in the
// result are relative to blk.
func parseBlockHeader(blk []byte, csize int, r indexRecord, lim Limits) (blockInfo, error) {
	if blk[0] == 0 {
		return blockInfo{}, corruptf("index indicator where a block header should be")
	}
	hsize := (int(blk[0]) + 1) * 4
	if hsize+csize >= len(blk) {
		return blockInfo{}, corruptf("block header size %d does not fit the block size %d from the index", hsize, len(blk))
	}
	h, err := parseHeaderFields(blk[:hsize], lim)
	if err != nil {
		return blockInfo{}, err
	}
	compressed := len(blk) - hsize - csize
	if h.compressed >= 0 && h.compressed != int64(compressed) {
		return blockInfo{}, corruptf("block header says compressed size %d, the index %d", h.compressed, compressed)
	}
	if h.uncompressed >= 0 && uint64(h.uncompressed) != r.uncompressed {
		return blockInfo{}, corruptf("block header says uncompressed size %d, the index %d", h.uncompressed, r.uncompressed)
	}
	padded := (hsize + compressed + 3) &^ 3
	return blockInfo{
		header:       0,
		data:         hsize,
		compressed:   compressed,
		check:        padded,
		uncompressed: int64(r.uncompressed),
		dict:         h.dict,
		filter:       h.filter,
		filterStart:  h.filterStart,
	}, nil
}

// parseHeaderFields validates one whole block header h (its size is in
// its first byte) on its own: CRC32, flags, sizes, filter chain,
// padding, dictionary size against lim.
func parseHeaderFields(h []byte, lim Limits) (blockHeader, error) {
	hsize := len(h)
	if crc32.ChecksumIEEE(h[:hsize-4]) != binary.LittleEndian.Uint32(h[hsize-4:]) {
		return blockHeader{}, corruptf("block header CRC32 mismatch")
	}
	flags := h[1]
	if flags&0x3c != 0 {
		return blockHeader{}, newError(ErrUnsupported, "block header has reserved flag bits set (%#02x)", flags)
	}
	res := blockHeader{size: hsize, compressed: -1, uncompressed: -1}
	pos := 2
	body := h[:hsize-4]
	if flags&0x40 != 0 {
		v, n := readVLI(body[pos:])
		if n <= 0 || v == 0 || v > vliMax {
			return blockHeader{}, corruptf("block header has an invalid compressed size")
		}
		pos += n
		res.compressed = int64(v)
	}
	if flags&0x80 != 0 {
		v, n := readVLI(body[pos:])
		if n <= 0 || v > vliMax {
			return blockHeader{}, corruptf("block header has an invalid uncompressed size")
		}
		pos += n
		res.uncompressed = int64(v)
	}
	nfilters := int(flags&3) + 1
	only, chain := "only LZMA2", "only LZMA2 alone"
	if lim.AllowBCJ {
		only = "only LZMA2, after at most one BCJ filter"
		chain = only
	}
	for i := 0; i < nfilters; i++ {
		id, n := readVLI(body[pos:])
		if n <= 0 {
			return blockHeader{}, corruptf("block header has an invalid filter ID")
		}
		pos += n
		psize, n := readVLI(body[pos:])
		if n <= 0 || psize > uint64(len(body)-pos-n) {
			return blockHeader{}, corruptf("block header has invalid filter properties")
		}
		pos += n
		props := body[pos : pos+int(psize)]
		pos += int(psize)
		last := i == nfilters-1
		switch {
		case lim.AllowBCJ && !last && i == 0 && bcjSupported(id):
			if len(props) != 0 && len(props) != 4 {
				return blockHeader{}, corruptf("invalid %s properties", filterName(id))
			}
			res.filter = id
			if len(props) == 4 {
				res.filterStart = binary.LittleEndian.Uint32(props)
			}
		case id != filterLZMA2:
			return blockHeader{}, newError(ErrUnsupported, "unsupported filter %s (%s)", filterName(id), only)
		case !last || nfilters > 2 || nfilters == 2 && !lim.AllowBCJ:
			return blockHeader{}, newError(ErrUnsupported, "unsupported filter chain of %d filters (%s)", nfilters, chain)
		default:
			if len(props) != 1 || props[0] > 40 {
				return blockHeader{}, corruptf("invalid LZMA2 properties")
			}
			res.dict = lzma2Dict(props[0])
		}
	}
	if !allZero(body[pos:]) {
		return blockHeader{}, corruptf("block header padding is not zero")
	}
	if res.dict > lim.maxDict() {
		return blockHeader{}, newError(ErrLimit, "dictionary size %s exceeds the %s limit", dictString(res.dict), dictString(lim.maxDict()))
	}
	return res, nil
}

// lzma2Dict decodes the LZMA2 dictionary size property (0..40).
func lzma2Dict(p byte) uint32 {
	if p == 40 {
		return 1<<32 - 1
	}
	return (2 | uint32(p)&1) << (p/2 + 11)
}
