package xz

import (
	"crypto/sha256"
	"encoding/binary"
	"hash"
	"hash/crc32"
	"hash/crc64"
	"io"
	"math"
)

const (
	// decodeStep is how much output one fill decodes at most: small
	// enough that the check is computed while the output is still in
	// the CPU cache, large enough to amortize the calls.
	decodeStep = 256 << 10
	// winSlack is the room past the usable window that a match started
	// just before the usable end may need.
	winSlack = maxMatch + 64
)

var crc64Table = crc64.MakeTable(crc64.ECMA)

// Reader decodes an xz stream held in memory. It implements io.Reader
// and io.WriterTo. Every problem with the input, including a check
// mismatch, a disagreement with the index or an exceeded limit, is an
// error from Read or WriteTo; io.EOF comes only after the whole stream
// has been decoded and verified. Data returned before an error is
// unverified (the check of a block is known only at its end), so a
// caller that must not publish corrupt data stages the output until
// io.EOF.
type Reader struct {
	data []byte
	s    *stream
	lim  Limits

	// The output window: decoded data, the dictionary. Matches reach
	// back at most dictSize bytes from op; the window slides (memmove)
	// when it fills, keeping that much history.
	win       []byte
	usable    int // len(win) - winSlack
	op        int // write position
	rpos      int // read position: win[rpos:op] is decoded, not yet read
	dictStart int // window index of the last dictionary reset; < 0 after slides
	dictSize  int // the block's dictionary size, at most its uncompressed size

	blk       int    // current block
	inBlock   bool   // the block's decoding has started
	in        []byte // the block's compressed data
	ip        int    // position in in of the next LZMA2 chunk (or uncompressed data)
	chunkLeft int    // uncompressed bytes left in the current chunk
	chunkLZMA bool   // the current chunk is LZMA-compressed
	chunkIn   []byte // the current LZMA chunk's compressed data
	needDict  bool   // the next chunk must reset the dictionary
	needProps bool   // the next LZMA chunk must set properties
	blockOut  int64  // bytes decoded in this block
	total     int64  // bytes decoded in all blocks

	lz lzmaDecoder

	hashed int // window index up to which the output has been hashed
	crc32  uint32
	crc64  uint64
	sha    hash.Hash
	sum    [sha256.Size]byte // room for the SHA-256, so that Sum does not allocate

	// With NewParallelReader, a goroutine computes the checks: hash sends
	// it window ranges, and the decoder waits for it (sync) before it
	// overwrites what may not be hashed yet and before it compares a
	// block's check.
	jobs chan []byte // window ranges to hash; nil (barrier) to be acknowledged on acks
	acks chan struct{}

	err error // sticky: io.EOF or the first error
}

// NewReader validates data with Inspect and returns a Reader that
// decodes it. Nothing is allocated for decoding before the validation
// has passed; the window is then about the largest dictionary size of
// the stream (less for small outputs), at most twice that plus 256 KiB.
// The Reader reads data in place: data must not change while it is in
// use.
func NewReader(data []byte, lim Limits) (*Reader, error) {
	s, err := inspect(data, lim)
	if err != nil {
		return nil, err
	}
	// On 32-bit systems, a window for a huge dictionary may not be
	// addressable at all.
	if w := s.windowSize(); w > math.MaxInt/2 {
		return nil, newError(ErrLimit, "a %s window does not fit this system's address space", sizeString(uint64(w)))
	}
	r := &Reader{data: data, s: s, lim: lim}
	if s.checkType == checkSHA256 {
		r.sha = sha256.New()
	}
	return r, nil
}

// NewParallelReader is NewReader, except that the block checks (CRC32,
// CRC64, SHA-256) are computed on a second goroutine, overlapping with
// decoding: on two or more cores decoding takes about a tenth less time.
// The caller must call Close when done with the Reader, even after an
// error or io.EOF.
func NewParallelReader(data []byte, lim Limits) (*Reader, error) {
	r, err := NewReader(data, lim)
	if err != nil {
		return nil, err
	}
	if r.s.checkType == checkNone {
		return r, nil
	}
	r.jobs, r.acks = make(chan []byte, 64), make(chan struct{})
	go r.hasher(r.jobs, r.acks)
	return r, nil
}

// Close ends the checking goroutine of a Reader from NewParallelReader;
// for one from NewReader it does nothing. The Reader must not be used
// afterwards.
func (r *Reader) Close() error {
	if r.jobs != nil {
		close(r.jobs)
		r.jobs = nil
	}
	return nil
}

// hasher updates the check with each range it is sent and acknowledges
// barriers, until Close.
func (r *Reader) hasher(jobs <-chan []byte, acks chan<- struct{}) {
	for p := range jobs {
		if p == nil {
			acks <- struct{}{}
			continue
		}
		r.update(p)
	}
}

// sync waits until the checking goroutine has hashed everything sent so
// far.
func (r *Reader) sync() {
	if r.jobs != nil {
		r.jobs <- nil
		<-r.acks
	}
}

// Info returns what the stream's headers and index say about it.
func (r *Reader) Info() Info { return r.s.info }

// windowSize returns the data size of a window that serves every block:
// for each block, its dictionary (at most its output) plus as much room
// again (at least decodeStep), or its whole output if that is smaller.
func (s *stream) windowSize() int64 {
	var w int64
	for _, b := range s.blocks {
		hist := min(int64(b.dict), b.uncompressed)
		w = max(w, min(b.uncompressed, hist+max(hist, decodeStep)))
	}
	return w
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for r.rpos == r.op {
		if r.err != nil {
			return 0, r.err
		}
		r.err = r.fill()
	}
	n := copy(p, r.win[r.rpos:r.op])
	r.rpos += n
	return n, nil
}

// WriteTo implements io.WriterTo: it writes the decoded data to w
// straight from the decoder's window, without copying it through an
// intermediate buffer.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if r.rpos < r.op {
			n, err := w.Write(r.win[r.rpos:r.op])
			total += int64(n)
			r.rpos += n
			if err != nil {
				return total, err
			}
			if r.rpos < r.op {
				return total, io.ErrShortWrite
			}
		}
		if r.err == io.EOF {
			return total, nil
		}
		if r.err != nil {
			return total, r.err
		}
		r.err = r.fill()
	}
}

// fill decodes more output into the window. It is called only when all
// decoded output has been read (rpos == op). It returns nil once it has
// produced output, io.EOF when the stream is complete and verified, or
// an error.
func (r *Reader) fill() error {
	for {
		if r.blk == len(r.s.blocks) {
			return io.EOF
		}
		if !r.inBlock {
			r.sync() // the new block reuses the window from its start
			r.startBlock()
		}
		if r.chunkLeft == 0 {
			done, err := r.nextChunk()
			if err != nil {
				return blockError(r.blk+1, err)
			}
			if done {
				if err := r.finishBlock(); err != nil {
					return blockError(r.blk+1, err)
				}
				r.blk++
				r.inBlock = false
			}
			continue
		}
		if room := r.usable - r.op; room < decodeStep && int64(room) < r.s.blocks[r.blk].uncompressed-r.blockOut {
			r.slide()
		}
		start := r.op
		limit := min(r.op+decodeStep, r.usable, r.op+r.chunkLeft)
		if r.chunkLZMA {
			op, e := r.lz.decode(r.win, r.op, limit, r.op+r.chunkLeft, r.dictStart, r.dictSize)
			r.op = op
			r.chunkLeft -= op - start
			switch {
			case e == lzmaBadDist:
				return blockError(r.blk+1, corruptf("LZMA data refers to data before the dictionary"))
			case e == lzmaPastChunk:
				return blockError(r.blk+1, corruptf("LZMA match runs past the end of its chunk"))
			case r.lz.ip > len(r.chunkIn):
				return blockError(r.blk+1, corruptf("LZMA chunk reads past its compressed size"))
			case r.chunkLeft == 0 && (r.lz.ip != len(r.chunkIn) || r.lz.code != 0):
				return blockError(r.blk+1, corruptf("LZMA chunk does not end cleanly"))
			}
		} else {
			n := limit - r.op
			copy(r.win[r.op:limit], r.in[r.ip:r.ip+n])
			r.ip += n
			r.op = limit
			r.chunkLeft -= n
		}
		n := r.op - start
		r.blockOut += int64(n)
		r.total += int64(n)
		if r.lim.MaxOutput > 0 && r.total > r.lim.MaxOutput {
			return newError(ErrLimit, "output exceeds the %d byte limit", r.lim.MaxOutput)
		}
		r.hash()
		return nil
	}
}

// startBlock prepares the decoder for block r.blk.
func (r *Reader) startBlock() {
	b := r.s.blocks[r.blk]
	if r.win == nil {
		n := int(r.s.windowSize()) // checked by NewReader
		r.win = make([]byte, n+winSlack)
		r.usable = n
		adviseHugePages(r.win)
	}
	r.in = r.data[b.data : b.data+b.compressed]
	r.ip = 0
	r.chunkLeft = 0
	r.needDict, r.needProps = true, true
	r.op, r.rpos, r.hashed = 0, 0, 0
	r.dictStart = 0
	r.dictSize = int(min(int64(b.dict), b.uncompressed))
	r.blockOut = 0
	r.crc32, r.crc64 = 0, 0
	if r.sha != nil {
		r.sha.Reset()
	}
	r.inBlock = true
}

// slide moves the dictionary history to the start of the window.
func (r *Reader) slide() {
	keep := min(r.op-r.dictStart, r.dictSize)
	from := r.op - keep
	if from <= 0 {
		return
	}
	r.sync() // the copy overwrites what may still be being hashed
	copy(r.win, r.win[from:r.op])
	r.op -= from
	r.rpos -= from
	r.hashed -= from
	r.dictStart -= from
}

// hash adds the output decoded since the last call to the check, or
// hands it to the checking goroutine.
func (r *Reader) hash() {
	p := r.win[r.hashed:r.op]
	r.hashed = r.op
	if r.jobs != nil {
		if len(p) > 0 {
			r.jobs <- p
		}
		return
	}
	r.update(p)
}

// update adds p to the block's check.
func (r *Reader) update(p []byte) {
	switch r.s.checkType {
	case checkCRC32:
		r.crc32 = crc32.Update(r.crc32, crc32.IEEETable, p)
	case checkCRC64:
		r.crc64 = crc64.Update(r.crc64, crc64Table, p)
	case checkSHA256:
		r.sha.Write(p)
	}
}

// nextChunk reads the next LZMA2 chunk header. It reports done at the
// end of the block's LZMA2 data.
func (r *Reader) nextChunk() (done bool, err error) {
	in := r.in
	if r.ip >= len(in) {
		return false, corruptf("LZMA2 data ends without an end marker")
	}
	c := in[r.ip]
	if c == 0 {
		r.ip++
		return true, nil
	}
	if c >= 0xe0 || c == 1 {
		r.needProps = true
		r.needDict = false
		r.dictStart = r.op
	} else if r.needDict {
		return false, corruptf("first LZMA2 chunk does not reset the dictionary")
	}
	var size int
	if c >= 0x80 {
		hlen := 5
		if c >= 0xc0 {
			hlen = 6
		}
		if len(in)-r.ip < hlen {
			return false, corruptf("LZMA2 chunk header runs past the block's compressed data")
		}
		h := in[r.ip : r.ip+hlen]
		size = int(c&0x1f)<<16 + int(binary.BigEndian.Uint16(h[1:3])) + 1
		packed := int(binary.BigEndian.Uint16(h[3:5])) + 1
		switch {
		case c >= 0xc0:
			if !r.lz.setProps(h[5]) {
				return false, corruptf("invalid LZMA properties %#02x", h[5])
			}
			r.needProps = false
			r.lz.resetState()
		case r.needProps:
			return false, corruptf("LZMA2 chunk without properties after a dictionary reset")
		case c >= 0xa0:
			r.lz.resetState()
		}
		r.ip += hlen
		if len(in)-r.ip < packed {
			return false, corruptf("LZMA2 chunk runs past the block's compressed data")
		}
		r.chunkIn = in[r.ip : r.ip+packed]
		r.ip += packed
		if !r.lz.initRC(r.chunkIn) {
			return false, corruptf("LZMA chunk has an invalid range coder header")
		}
		r.chunkLZMA = true
	} else {
		if c > 2 {
			return false, corruptf("invalid LZMA2 control byte %#02x", c)
		}
		if len(in)-r.ip < 3 {
			return false, corruptf("LZMA2 chunk header runs past the block's compressed data")
		}
		size = int(binary.BigEndian.Uint16(in[r.ip+1:r.ip+3])) + 1
		r.ip += 3
		if len(in)-r.ip < size {
			return false, corruptf("LZMA2 chunk runs past the block's compressed data")
		}
		r.chunkLZMA = false
	}
	if want := r.s.blocks[r.blk].uncompressed; int64(size) > want-r.blockOut {
		return false, corruptf("block decodes to more than the %d bytes the index records", want)
	}
	r.chunkLeft = size
	return false, nil
}

// finishBlock verifies the end of a block: its size, padding and check.
func (r *Reader) finishBlock() error {
	b := r.s.blocks[r.blk]
	if r.ip != len(r.in) {
		return corruptf("LZMA2 data ends after %d of the block's %d compressed bytes", r.ip, len(r.in))
	}
	if r.blockOut != b.uncompressed {
		return corruptf("block decodes to %d bytes, the index records %d", r.blockOut, b.uncompressed)
	}
	if !allZero(r.data[b.data+b.compressed : b.check]) {
		return corruptf("nonzero block padding")
	}
	r.sync()
	sum := r.data[b.check : b.check+checkSize(r.s.checkType)]
	ok := true
	name := ""
	switch r.s.checkType {
	case checkCRC32:
		ok, name = binary.LittleEndian.Uint32(sum) == r.crc32, "CRC32"
	case checkCRC64:
		ok, name = binary.LittleEndian.Uint64(sum) == r.crc64, "CRC64"
	case checkSHA256:
		ok, name = string(r.sha.Sum(r.sum[:0])) == string(sum), "SHA-256"
	}
	if !ok {
		return corruptf("%s mismatch", name)
	}
	return nil
}
