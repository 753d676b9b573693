package decompress

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
)

// stepSize is how much output one decoding step produces at most; a
// reader that only needs a prefix of the output stops within a step of it.
const stepSize = 1 << 20

// lzmaReader reads a legacy .lzma stream (lzma2 false) or a raw LZMA2
// stream (lzma2 true) from memory.
type lzmaReader struct {
	d     lzmaDecoder
	lzma2 bool
	size  int64 // .lzma: declared uncompressed size, -1 if unknown

	// LZMA2 chunk state.
	chunkLeft  int  // output bytes left in the current LZMA chunk
	inChunk    bool // an LZMA chunk is being decoded
	chunkInEnd int
	needDict   bool // the next chunk must reset the dictionary
	needProps  bool
	needState  bool

	done bool
	rpos int // next output byte Read returns
	err  error
}

// newLZMAReader reads a .lzma stream: a 13-byte header (properties,
// dictionary size, uncompressed size or -1), then LZMA data.
func newLZMAReader(data []byte, max int64) (*lzmaReader, error) {
	if len(data) < 13 {
		return nil, fmt.Errorf("%w: header truncated", errLZMACorrupt)
	}
	r := &lzmaReader{size: int64(binary.LittleEndian.Uint64(data[5:13]))}
	if err := r.d.setProps(data[0]); err != nil {
		return nil, err
	}
	if r.size >= 0 && r.size > max {
		return nil, ErrTooLarge
	}
	r.d.in, r.d.inPos, r.d.inEnd = data, 13, len(data)
	r.d.max = int(min(max, int64(maxInt)))
	r.d.resetState()
	if err := r.d.initRange(); err != nil {
		return nil, err
	}
	if r.size >= 0 {
		// The size is declared: allocate once (it is within max).
		if err := r.d.grow(int(r.size)); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// newLZMA2Reader reads raw LZMA2 chunks starting at data[0].
func newLZMA2Reader(data []byte, max int64) *lzmaReader {
	r := &lzmaReader{lzma2: true, needDict: true, needProps: true, needState: true}
	r.d.in, r.d.inEnd = data, len(data)
	r.d.max = int(min(max, int64(maxInt)))
	return r
}

const maxInt = int(^uint(0) >> 1)

// step decodes up to n more output bytes, or finds the end of the stream.
func (r *lzmaReader) step(n int) error {
	if r.lzma2 {
		return r.step2(n)
	}
	d := &r.d
	limit := len(d.out) + n
	if r.size >= 0 && int64(limit) >= r.size {
		limit = int(r.size)
	}
	if r.size >= 0 && len(d.out) == limit {
		r.done = true
		return nil
	}
	if limit > d.max {
		limit = d.max
		if len(d.out) == limit {
			return ErrTooLarge
		}
	}
	if err := d.grow(limit - len(d.out)); err != nil {
		return err
	}
	err := d.decode(limit, true)
	if d.eos {
		r.done = true
		if r.size >= 0 && int64(len(d.out)) != r.size {
			return fmt.Errorf("%w: end marker after %d of %d bytes", errLZMACorrupt, len(d.out), r.size)
		}
	}
	return err
}

func (r *lzmaReader) step2(n int) error {
	d := &r.d
	if !r.inChunk {
		if d.inPos >= len(d.in) {
			return fmt.Errorf("%w: LZMA2 stream truncated", errLZMACorrupt)
		}
		c := d.in[d.inPos]
		switch {
		case c == 0x00:
			d.inPos++
			r.done = true
			return nil
		case c == 0x01 || c == 0x02:
			if len(d.in)-d.inPos < 3 {
				return fmt.Errorf("%w: LZMA2 chunk header truncated", errLZMACorrupt)
			}
			size := int(binary.BigEndian.Uint16(d.in[d.inPos+1:])) + 1
			d.inPos += 3
			if c == 0x01 {
				d.dictStart, r.needDict = len(d.out), false
			} else if r.needDict {
				return fmt.Errorf("%w: LZMA2 stream does not start with a dictionary reset", errLZMACorrupt)
			}
			if len(d.in)-d.inPos < size {
				return fmt.Errorf("%w: LZMA2 chunk truncated", errLZMACorrupt)
			}
			if err := d.grow(size); err != nil {
				return err
			}
			d.out = append(d.out, d.in[d.inPos:d.inPos+size]...)
			d.inPos += size
			r.needState = true // the next LZMA chunk must reset the state
			return nil
		case c >= 0x80:
			if len(d.in)-d.inPos < 5 {
				return fmt.Errorf("%w: LZMA2 chunk header truncated", errLZMACorrupt)
			}
			reset := (c >> 5) & 3
			usize := int(c&0x1f)<<16 + int(binary.BigEndian.Uint16(d.in[d.inPos+1:])) + 1
			csize := int(binary.BigEndian.Uint16(d.in[d.inPos+3:])) + 1
			d.inPos += 5
			if reset == 3 {
				d.dictStart, r.needDict = len(d.out), false
			} else if r.needDict {
				return fmt.Errorf("%w: LZMA2 stream does not start with a dictionary reset", errLZMACorrupt)
			}
			if reset >= 2 {
				if d.inPos >= len(d.in) {
					return fmt.Errorf("%w: LZMA2 chunk header truncated", errLZMACorrupt)
				}
				if err := d.setProps(d.in[d.inPos]); err != nil {
					return err
				}
				if d.lc+d.lp > 4 {
					return fmt.Errorf("%w: LZMA2 lc+lp > 4", errLZMACorrupt)
				}
				d.inPos++
				r.needProps = false
			} else if r.needProps {
				return fmt.Errorf("%w: LZMA2 chunk without properties", errLZMACorrupt)
			}
			if reset >= 1 {
				d.resetState()
				r.needState = false
			} else if r.needState {
				return fmt.Errorf("%w: LZMA2 chunk without state reset", errLZMACorrupt)
			}
			if len(d.in)-d.inPos < csize {
				return fmt.Errorf("%w: LZMA2 chunk truncated", errLZMACorrupt)
			}
			r.chunkInEnd = d.inPos + csize
			d.inEnd = r.chunkInEnd
			if err := d.initRange(); err != nil {
				return err
			}
			r.chunkLeft, r.inChunk = usize, true
		default:
			return fmt.Errorf("%w: bad LZMA2 control byte %#x", errLZMACorrupt, c)
		}
	}
	k := min(r.chunkLeft, n)
	if err := d.grow(k); err != nil {
		return err
	}
	start := len(d.out)
	err := d.decode(start+k, false)
	r.chunkLeft -= len(d.out) - start
	if err != nil {
		return err
	}
	if r.chunkLeft == 0 {
		if d.inPos != r.chunkInEnd || !d.rangeFinished() || d.pendLen != 0 {
			return fmt.Errorf("%w: LZMA2 chunk size mismatch", errLZMACorrupt)
		}
		r.inChunk = false
	}
	return nil
}

// Read implements io.Reader.
func (r *lzmaReader) Read(p []byte) (int, error) {
	for r.rpos == len(r.d.out) {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		r.err = r.step(max(stepSize, len(p)))
	}
	n := copy(p, r.d.out[r.rpos:])
	r.rpos += n
	return n, nil
}

// xzReader reads an .xz stream as the kernel build writes it: LZMA2,
// optionally behind one BCJ filter (x86, PowerPC, ARM, ARM-Thumb, SPARC).
// Block checks (CRC32, CRC64, SHA-256) are verified; the index is not
// read (a kernel image is followed by its size, not by what xz expects).
type xzReader struct {
	data  []byte
	pos   int // next block header in data
	check byte

	blk      *lzmaReader // current block, decoded by a goroutine (produce)
	decoded  chan decodedPart
	stop     chan struct{} // closed by Close: the producer must end
	part     decodedPart   // the latest part received
	blkStart int           // input offset of the current block header
	filter   *bcj
	hash     hash.Hash
	fpos     int // next output byte of the block to filter and return

	stage      []byte // filtered output waiting for Read
	spos, send int
	max        int64
	total      int64 // output bytes of finished blocks
	done       bool
	err        error
}

var errXZCorrupt = errors.New("corrupt xz data")

func newXZReader(data []byte, max int64) (*xzReader, error) {
	if len(data) < 12 || Sniff(data) != XZ {
		return nil, fmt.Errorf("%w: no stream header", errXZCorrupt)
	}
	if data[6] != 0 || data[7]&0xF0 != 0 || crc32.ChecksumIEEE(data[6:8]) != binary.LittleEndian.Uint32(data[8:12]) {
		return nil, fmt.Errorf("%w: bad stream header", errXZCorrupt)
	}
	return &xzReader{data: data, pos: 12, check: data[7], max: max, stage: make([]byte, 0, 256<<10), stop: make(chan struct{})}, nil
}

// xzVarint reads an xz multibyte integer.
func xzVarint(b []byte) (uint64, int, bool) {
	var v uint64
	for i := 0; i < len(b) && i < 9; i++ {
		v |= uint64(b[i]&0x7F) << (7 * i)
		if b[i]&0x80 == 0 {
			if i > 0 && b[i] == 0 {
				return 0, 0, false
			}
			return v, i + 1, true
		}
	}
	return 0, 0, false
}

// nextBlock parses the block header at r.pos; done is set at the index.
func (r *xzReader) nextBlock() error {
	d := r.data
	if r.pos >= len(d) {
		return fmt.Errorf("%w: truncated before the index", errXZCorrupt)
	}
	if d[r.pos] == 0 { // index indicator: no more blocks
		r.done = true
		return nil
	}
	hs := (int(d[r.pos]) + 1) * 4
	if len(d)-r.pos < hs {
		return fmt.Errorf("%w: block header truncated", errXZCorrupt)
	}
	h := d[r.pos : r.pos+hs]
	if crc32.ChecksumIEEE(h[:hs-4]) != binary.LittleEndian.Uint32(h[hs-4:]) {
		return fmt.Errorf("%w: block header checksum mismatch", errXZCorrupt)
	}
	flags := h[1]
	if flags&0x3C != 0 {
		return fmt.Errorf("%w: unsupported block flags %#x", errXZCorrupt, flags)
	}
	p := 2
	for _, bit := range []byte{0x40, 0x80} { // compressed, uncompressed size
		if flags&bit != 0 {
			_, n, ok := xzVarint(h[p : hs-4])
			if !ok {
				return fmt.Errorf("%w: bad block header", errXZCorrupt)
			}
			p += n
		}
	}
	nf := int(flags&3) + 1
	r.filter = nil
	var dictByte byte
	for i := range nf {
		id, n, ok := xzVarint(h[p : hs-4])
		if !ok {
			return fmt.Errorf("%w: bad filter flags", errXZCorrupt)
		}
		p += n
		psize, n, ok := xzVarint(h[p : hs-4])
		if !ok || psize > uint64(hs-4-p-n) {
			return fmt.Errorf("%w: bad filter flags", errXZCorrupt)
		}
		p += n
		props := h[p : p+int(psize)]
		p += int(psize)
		last := i == nf-1
		switch {
		case last && id == 0x21 && psize == 1:
			dictByte = props[0]
		case !last && r.filter == nil && isBCJ(id) && (psize == 0 || psize == 4):
			f := &bcj{id: id}
			if psize == 4 {
				f.pos = binary.LittleEndian.Uint32(props)
			}
			r.filter = f
		default:
			return fmt.Errorf("xz: unsupported filter chain (filter %#x); the kernel uses LZMA2 with at most one BCJ filter", id)
		}
	}
	if dictByte > 40 {
		return fmt.Errorf("%w: bad LZMA2 dictionary size", errXZCorrupt)
	}
	for _, b := range h[p : hs-4] {
		if b != 0 {
			return fmt.Errorf("%w: nonzero block header padding", errXZCorrupt)
		}
	}
	r.blkStart = r.pos
	r.pos += hs
	r.blk = newLZMA2Reader(d[r.pos:], r.max-r.total)
	r.fpos = 0
	r.part = decodedPart{}
	r.decoded = make(chan decodedPart, 2)
	go produce(r.blk, r.decoded, r.stop)
	switch r.check {
	case 0x01:
		r.hash = crc32.NewIEEE()
	case 0x04:
		r.hash = crc64.New(crc64.MakeTable(crc64.ECMA))
	case 0x0A:
		r.hash = sha256.New()
	default:
		r.hash = nil
	}
	return nil
}

// endBlock checks the block padding and check after the LZMA2 data.
func (r *xzReader) endBlock() error {
	r.pos += r.blk.d.inPos
	for (r.pos-r.blkStart)%4 != 0 {
		if r.pos >= len(r.data) || r.data[r.pos] != 0 {
			return fmt.Errorf("%w: bad block padding", errXZCorrupt)
		}
		r.pos++
	}
	csize := 0 // check sizes by type, from the xz format: 0, 4, 8, 16, 32, 64
	if r.check != 0 {
		csize = 4 << ((r.check - 1) / 3)
	}
	if len(r.data)-r.pos < csize {
		return fmt.Errorf("%w: block check truncated", errXZCorrupt)
	}
	if r.hash != nil {
		want := r.data[r.pos : r.pos+csize]
		got := r.hash.Sum(nil)
		if r.check == 0x01 || r.check == 0x04 { // stored little-endian
			for i, j := 0, len(got)-1; i < j; i, j = i+1, j-1 {
				got[i], got[j] = got[j], got[i]
			}
		}
		if string(got) != string(want) {
			return fmt.Errorf("xz: block checksum mismatch")
		}
	}
	r.pos += csize
	r.total += int64(len(r.blk.d.out))
	r.blk = nil
	return nil
}

// Read implements io.Reader.
func (r *xzReader) Read(p []byte) (int, error) {
	for r.spos == r.send {
		if r.err != nil {
			return 0, r.err
		}
		if r.done {
			return 0, io.EOF
		}
		r.err = r.fill()
	}
	n := copy(p, r.stage[r.spos:r.send])
	r.spos += n
	return n, nil
}

// decodedPart tells the reader how far the producer has decoded a block.
// out is a snapshot of the decoder's output slice: the bytes in it never
// change, and the producer only writes beyond its length (or into a new
// array when the buffer grows), so the reader may use it freely.
type decodedPart struct {
	out  []byte
	done bool
	err  error
}

// produce decodes block b step by step and reports each step on parts,
// until the block ends, fails, or stop is closed. Decoding LZMA2 on one
// core while the reader filters, checks and returns the output on another
// makes a kernel image about a tenth faster to search.
func produce(b *lzmaReader, parts chan<- decodedPart, stop <-chan struct{}) {
	for {
		err := b.step(stepSize)
		select {
		case parts <- decodedPart{out: b.d.out, done: b.done, err: err}:
		case <-stop:
			return
		}
		if err != nil || b.done {
			return
		}
	}
}

// Close stops the decoding goroutine.
func (r *xzReader) Close() {
	if r.stop != nil {
		close(r.stop)
		r.stop = nil
	}
}

// fill filters the next piece of decoded output into r.stage.
func (r *xzReader) fill() error {
	if r.stop == nil {
		return fmt.Errorf("xz: reader closed")
	}
	if r.blk == nil {
		if err := r.nextBlock(); err != nil || r.done {
			return err
		}
	}
	for !r.part.done && r.part.err == nil && len(r.part.out)-r.fpos < cap(r.stage) {
		r.part = <-r.decoded
	}
	out, err := r.part.out, r.part.err
	final := r.part.done
	n := copy(r.stage[:cap(r.stage)], out[r.fpos:])
	buf := r.stage[:n]
	k := n
	if r.filter != nil {
		k = r.filter.apply(buf, final && r.fpos+n == len(out) || err != nil)
	}
	if r.hash != nil {
		r.hash.Write(buf[:k])
	}
	r.fpos += k
	r.spos, r.send = 0, k
	if err != nil && r.fpos == len(out) {
		return err
	}
	if final && r.fpos == len(out) {
		// The producer has finished: the block's decoder is ours again.
		return r.endBlock()
	}
	return nil
}
