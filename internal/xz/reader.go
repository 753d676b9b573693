package xz

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
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
	// outputMargin is how far past Limits.MaxOutput a window reaches.
	outputMargin = 64
)

var crc64Table = crc64.MakeTable(crc64.ECMA)

// readerMode is what a Reader decodes.
type readerMode uint8

const (
	modeIndexed readerMode = iota // one whole xz stream, validated by Inspect first (NewReader)
	modePrefix                    // the xz stream at the start of the data, found by decoding (NewPrefixReader)
	modeLZMA                      // a legacy .lzma stream (NewLZMAReader)
)

// Reader decodes an xz stream (or a legacy .lzma stream) held in
// memory. It implements io.Reader and io.WriterTo. Every problem with
// the input, including a check mismatch, a disagreement with the index
// or an exceeded limit, is an error from Read or WriteTo; io.EOF comes
// only after the whole stream has been decoded and verified. Data
// returned before an error is unverified (the check of a block is known
// only at its end), so a caller that must not publish corrupt data
// stages the output until io.EOF. The output decoded before an error in
// the middle of a block is returned before the error, so a caller that
// searches the output finds what precedes the damage.
//
// A caller that has what it needs may stop reading at any point: the
// Reader decodes only as far as it is read (in steps of 256 KiB).
type Reader struct {
	data []byte
	s    *stream
	lim  Limits
	mode readerMode

	// The output window: decoded data, the dictionary. Matches reach
	// back at most dictSize bytes from op; the window slides (memmove)
	// when it fills, keeping that much history.
	win       []byte
	usable    int    // len(win) - winSlack
	full      int    // the block's window size: usable grows up to it where the output size is unknown
	op        int    // write position
	out       []byte // decoded output not yet read: a part of win, or of stage
	dictStart int    // window index of the last dictionary reset; < 0 after slides
	dictSize  int    // the block's dictionary size, at most its uncompressed size

	blk       int       // current block
	cur       blockInfo // the current block; sizes -1 where not known (modePrefix)
	inBlock   bool      // the block's decoding has started
	blockEnd  bool      // the block's LZMA2 data has ended
	in        []byte    // the block's compressed data (modePrefix: maybe all the rest of data)
	ip        int       // position in in of the next LZMA2 chunk (or uncompressed data)
	chunkLeft int       // uncompressed bytes left in the current chunk
	chunkLZMA bool      // the current chunk is LZMA-compressed
	chunkIn   []byte    // the current LZMA chunk's compressed data
	needDict  bool      // the next chunk must reset the dictionary
	needProps bool      // the next LZMA chunk must set properties
	blockOut  int64     // bytes decoded in this block
	total     int64     // bytes decoded in all blocks
	emitted   int64     // bytes made ready in out: total, less what a BCJ filter holds back

	// modePrefix: where the next block header or the index starts, and
	// what the blocks so far would be in the index.
	pos  int
	recs []indexRecord

	// The block's BCJ filter (filter.id 0: none). The LZMA2 output is
	// the dictionary and must stay as it is, so the filter works on a
	// copy in stage: stage[tailOff:tailOff+tail] is output that the
	// filter could not finish yet (an instruction cut by the step).
	filter        bcj
	stage         []byte
	tailOff, tail int

	// modeLZMA: the declared size (-1 if unknown), the compressed data,
	// how much of it is loaded into lz.in, and whether the end marker
	// has been seen.
	lzmaSize   int64
	lzmaIn     []byte
	loaded     int
	lzmaMarker bool

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

	ctx context.Context // from SetContext; nil: never cancelled

	pending error // an error to return once the output decoded before it is read
	err     error // sticky: io.EOF or the first error
}

// SetContext makes Read and WriteTo stop with an error wrapping
// ctx.Err() once ctx is done. The decoder checks ctx before every step
// of at most 256 KiB of output and before every block, chunk and index,
// so a cancelled decode ends within a few milliseconds whatever the
// input. Call it before the first Read; the error is sticky, as every
// error of a Reader.
func (r *Reader) SetContext(ctx context.Context) { r.ctx = ctx }

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
	s.window = s.windowSize(lim)
	if err := checkWindow(s.window, false); err != nil {
		return nil, err
	}
	r := &Reader{data: data, s: s, lim: lim}
	if s.checkType == checkSHA256 {
		r.sha = sha256.New()
	}
	return r, nil
}

// NewPrefixReader returns a Reader of the xz stream at the start of
// data, which may be followed by anything else: a compressed kernel
// image, for one, is followed by its decompressed size. Where the
// stream ends is found by decoding it, in order: the blocks (each
// block's check is verified), then the index (verified against the
// blocks decoded), then the stream footer (verified against the index
// and the stream header). After io.EOF, Info().CompressedSize is the
// number of bytes of data that the stream took. What follows the stream
// is never read, so stream padding and further streams are not decoded.
//
// Only the stream header is validated before decoding starts: a block's
// header is validated when decoding reaches it, and its window is
// allocated then (about its dictionary size, twice that at most plus
// 256 KiB, less with Limits.MaxOutput).
func NewPrefixReader(data []byte, lim Limits) (*Reader, error) {
	checkType, err := parseStreamHeader(data, lim)
	if err != nil {
		return nil, err
	}
	r := &Reader{
		data: data,
		lim:  lim,
		mode: modePrefix,
		s:    &stream{checkType: checkType, info: Info{Check: checkNames[checkType], CompressedSize: headerSize}},
		pos:  headerSize,
	}
	if checkType == checkSHA256 {
		r.sha = sha256.New()
	}
	return r, nil
}

// checkWindow refuses a window that cannot be allocated: on 32-bit
// systems, a window for a huge dictionary may not be addressable at all.
func checkWindow(w int64, lzma bool) error {
	if w > math.MaxInt/2 {
		return &xzError{msg: "a " + sizeString(uint64(w)) + " window does not fit this system's address space", kind: ErrLimit, lzma: lzma}
	}
	return nil
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
// for the other Readers it does nothing. It may be called at any point,
// also before the end of the stream. The Reader must not be used
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

// Info returns what the stream's headers and index say about it. For a
// Reader from NewPrefixReader or NewLZMAReader, Info describes what has
// been decoded so far and is complete after io.EOF: then CompressedSize
// is the number of bytes of the input that the stream took.
func (r *Reader) Info() Info { return r.s.info }

// windowFor returns the data size of a window that serves a dictionary
// of dict bytes for an output of size bytes (-1: unknown): the
// dictionary (at most the output) plus as much room again (at least
// decodeStep), or the whole output if that is smaller. A window need not
// hold much more than lim.MaxOutput bytes, since decoding fails past
// that; the margin lets a BCJ filter see the instruction that crosses
// the limit.
func windowFor(dict uint32, size int64, lim Limits) int64 {
	hist := int64(dict)
	if size >= 0 {
		hist = min(hist, size)
	}
	w := hist + max(hist, decodeStep)
	if size >= 0 {
		w = min(w, size)
	}
	if lim.MaxOutput > 0 && lim.MaxOutput < w-outputMargin {
		w = lim.MaxOutput + outputMargin
	}
	return w
}

// windowSize returns the data size of a window that serves every block.
func (s *stream) windowSize(lim Limits) int64 {
	var w int64
	for _, b := range s.blocks {
		w = max(w, windowFor(b.dict, b.uncompressed, lim))
	}
	return w
}

// Read implements io.Reader.
func (r *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for len(r.out) == 0 {
		if r.err != nil {
			return 0, r.err
		}
		r.err = r.fill()
	}
	n := copy(p, r.out)
	r.out = r.out[n:]
	return n, nil
}

// WriteTo implements io.WriterTo: it writes the decoded data to w
// straight from the decoder's window, without copying it through an
// intermediate buffer.
func (r *Reader) WriteTo(w io.Writer) (int64, error) {
	var total int64
	for {
		if len(r.out) > 0 {
			n, err := w.Write(r.out)
			total += int64(n)
			r.out = r.out[n:]
			if err != nil {
				return total, err
			}
			if len(r.out) > 0 {
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

// fill decodes more output into r.out. It is called only when all
// decoded output has been read. It returns nil when it has made
// progress (r.out may still be empty), io.EOF when the stream is
// complete and verified, or an error.
func (r *Reader) fill() error {
	if r.pending != nil {
		return r.pending
	}
	if err := r.cancelled(); err != nil {
		return err
	}
	if r.mode == modeLZMA {
		return r.fillLZMA()
	}
	for {
		if err := r.cancelled(); err != nil {
			return err
		}
		if !r.inBlock {
			eof, err := r.nextBlock()
			if err != nil {
				return err
			}
			if eof {
				return io.EOF
			}
		}
		if r.blockEnd {
			if r.tail > 0 {
				r.flushFilter()
				return r.capOutput(nil)
			}
			if err := r.finishBlock(); err != nil {
				return blockError(r.blk+1, err)
			}
			r.blk++
			r.inBlock, r.blockEnd = false, false
			continue
		}
		if r.chunkLeft == 0 {
			done, err := r.nextChunk()
			if err != nil {
				return blockError(r.blk+1, err)
			}
			r.blockEnd = done
			continue
		}
		remaining := int64(math.MaxInt64)
		if r.cur.uncompressed >= 0 {
			remaining = r.cur.uncompressed - r.blockOut
		}
		if room := r.usable - r.op; room < decodeStep && int64(room) < remaining {
			r.makeRoom()
		}
		start := r.op
		limit := min(r.op+decodeStep, r.usable, r.op+r.chunkLeft)
		if limit <= r.op {
			return blockError(r.blk+1, newError(ErrLimit, "the decoder's window is full"))
		}
		var err error
		if r.chunkLZMA {
			op, e := r.lz.decode(r.win, r.op, limit, r.op+r.chunkLeft, r.dictStart, r.dictSize)
			r.op = op
			r.chunkLeft -= op - start
			switch {
			case e == lzmaBadDist:
				err = corruptf("LZMA data refers to data before the dictionary")
			case e == lzmaPastChunk:
				err = corruptf("LZMA match runs past the end of its chunk")
			case r.lz.ip > len(r.chunkIn):
				err = corruptf("LZMA chunk reads past its compressed size")
			case r.chunkLeft == 0 && (r.lz.ip != len(r.chunkIn) || r.lz.code != 0):
				err = corruptf("LZMA chunk does not end cleanly")
			}
			if err != nil {
				err = blockError(r.blk+1, err)
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
		r.emit(start, r.op)
		return r.capOutput(err)
	}
}

// cancelled returns an error if the context from SetContext is done.
func (r *Reader) cancelled() error {
	if r.ctx == nil {
		return nil
	}
	if err := r.ctx.Err(); err != nil {
		name := "xz"
		if r.mode == modeLZMA {
			name = "lzma"
		}
		return fmt.Errorf("%s: decoding stopped: %w", name, err)
	}
	return nil
}

// capOutput counts the output just made ready in r.out against
// Limits.MaxOutput, and cuts it at the limit. If that or err, an error
// of the step that produced the output, ends decoding, it makes the
// error pending: returned after the output that precedes it.
func (r *Reader) capOutput(err error) error {
	r.emitted += int64(len(r.out))
	if r.lim.MaxOutput > 0 && r.emitted > r.lim.MaxOutput {
		r.out = r.out[:int64(len(r.out))-(r.emitted-r.lim.MaxOutput)]
		r.emitted = r.lim.MaxOutput
		err = r.outputLimit()
	}
	if err != nil {
		if len(r.out) == 0 {
			return err
		}
		r.pending = err
	}
	return nil
}

// outputLimit is the error for output beyond Limits.MaxOutput.
func (r *Reader) outputLimit() error {
	return &xzError{msg: fmt.Sprintf("output exceeds the %d byte limit", r.lim.MaxOutput), kind: ErrLimit, lzma: r.mode == modeLZMA}
}

// emit makes win[start:end], just decoded, the output to be read:
// directly, or through the block's BCJ filter.
func (r *Reader) emit(start, end int) {
	if r.filter.id == 0 {
		r.out = r.win[start:end]
		r.hash()
		return
	}
	// The filter works on a copy: move what it left unfinished to the
	// front of stage, append the new output, filter. stage has room for
	// the largest step (decodeStep plus a match past it) and the tail.
	copy(r.stage, r.stage[r.tailOff:r.tailOff+r.tail])
	n := r.tail + copy(r.stage[r.tail:], r.win[start:end])
	k := r.filter.apply(r.stage[:n], false)
	r.out = r.stage[:k]
	r.update(r.out)
	r.tailOff, r.tail = k, n-k
}

// flushFilter returns the output the BCJ filter held back at the end of
// the block, which it passes through unchanged.
func (r *Reader) flushFilter() {
	buf := r.stage[r.tailOff : r.tailOff+r.tail]
	r.filter.apply(buf, true)
	r.out = buf
	r.update(buf)
	r.tailOff, r.tail = 0, 0
}

// nextBlock starts the next block. It reports eof when there is none:
// in modePrefix, when the index and the footer after the last block have
// been verified.
func (r *Reader) nextBlock() (eof bool, err error) {
	var b blockInfo
	if r.mode == modeIndexed {
		if r.blk == len(r.s.blocks) {
			return true, nil
		}
		b = r.s.blocks[r.blk]
	} else {
		if r.pos >= len(r.data) {
			return false, errTruncated()
		}
		if r.data[r.pos] == 0 {
			return true, r.endStream()
		}
		// The cap on blocks, as far as the output so far allows: a
		// stream of 4 KiB blocks has output for one more block here.
		if n := int64(r.blk + 1); n > maxBlocks(r.total+MinBlockOutput) {
			return false, tooManyBlocks(n, r.total)
		}
		if b, err = r.readBlockHeader(); err != nil {
			return false, blockError(r.blk+1, err)
		}
	}
	r.sync() // the new block reuses the window from its start
	if err := r.startBlock(b); err != nil {
		return false, blockError(r.blk+1, err)
	}
	return false, nil
}

// startBlock prepares the decoder for block b.
func (r *Reader) startBlock(b blockInfo) error {
	need := windowFor(b.dict, b.uncompressed, r.lim)
	if r.mode == modeIndexed {
		need = r.s.window // one window for all blocks, computed once
	}
	if err := checkWindow(need, false); err != nil {
		return err
	}
	r.setWindow(int(need), b.uncompressed < 0, len(r.data)-b.data)
	r.cur = b
	if b.compressed >= 0 {
		r.in = r.data[b.data : b.data+b.compressed]
	} else {
		r.in = r.data[b.data:]
	}
	r.ip = 0
	r.chunkLeft = 0
	r.needDict, r.needProps = true, true
	r.op, r.hashed = 0, 0
	r.out = nil
	r.dictStart = 0
	r.dictSize = int(b.dict)
	if b.uncompressed >= 0 {
		r.dictSize = int(min(int64(b.dict), b.uncompressed))
	}
	r.blockOut = 0
	r.crc32, r.crc64 = 0, 0
	if r.sha != nil {
		r.sha.Reset()
	}
	r.filter = bcj{id: b.filter, pos: b.filterStart}
	r.tailOff, r.tail = 0, 0
	if b.filter != 0 && r.stage == nil {
		r.stage = make([]byte, decodeStep+winSlack+16)
	}
	r.inBlock = true
	return nil
}

// readBlockHeader validates the block header at r.pos (modePrefix).
func (r *Reader) readBlockHeader() (blockInfo, error) {
	hsize := (int(r.data[r.pos]) + 1) * 4
	if len(r.data)-r.pos < hsize {
		return blockInfo{}, errTruncated()
	}
	h, err := parseHeaderFields(r.data[r.pos:r.pos+hsize], r.lim)
	if err != nil {
		return blockInfo{}, err
	}
	b := blockInfo{
		header:       r.pos,
		data:         r.pos + hsize,
		compressed:   -1,
		uncompressed: h.uncompressed,
		dict:         h.dict,
		filter:       h.filter,
		filterStart:  h.filterStart,
	}
	if h.compressed >= 0 {
		if h.compressed > int64(len(r.data)-b.data) {
			return blockInfo{}, errTruncated()
		}
		b.compressed = int(h.compressed)
	}
	if r.lim.MaxOutput > 0 && h.uncompressed > r.lim.MaxOutput-r.total {
		return blockInfo{}, newError(ErrLimit, "uncompressed size %d exceeds the %d byte limit", r.total+h.uncompressed, r.lim.MaxOutput)
	}
	return b, nil
}

// setWindow makes the window ready for a block or stream that needs
// full bytes of it (checked with checkWindow). Where the output size is
// not known (grow), the window starts smaller, at eight times the rest
// of the input plus 1 MiB (kernels compress 4 to 6 times, so one
// allocation usually does), and grows when it fills:
// a caller that stops reading early, as in a search of a kernel image,
// then neither allocates nor clears the whole window.
func (r *Reader) setWindow(full int, grow bool, input int) {
	r.full = full
	if r.usable >= full && r.win != nil {
		return
	}
	n := full
	if grow {
		n = min(full, max(decodeStep, 8*input+1<<20))
	}
	if r.win != nil && r.usable >= n {
		return
	}
	r.win = nil // let the old window go before the new one is allocated
	r.win = make([]byte, n+winSlack)
	r.usable = n
	adviseHugePages(r.win)
}

// makeRoom makes room in the window for the next step: it grows a
// window smaller than its full size (keeping everything in place), else
// slides it.
func (r *Reader) makeRoom() {
	if r.usable >= r.full {
		r.slide()
		return
	}
	n := min(r.full, max(2*r.usable, r.op+decodeStep))
	w := make([]byte, n+winSlack)
	// The checking goroutine may still be hashing the old window; it
	// keeps it alive, and nothing writes it any more.
	copy(w, r.win[:r.op])
	r.win, r.usable = w, n
	adviseHugePages(r.win)
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

// pastData is the error for an LZMA2 chunk that runs past the block's
// compressed data: corrupt where the size of that data is known, else
// (modePrefix) the input ends too soon.
func (r *Reader) pastData(what string) error {
	if r.cur.compressed < 0 {
		return errTruncated()
	}
	return corruptf("%s runs past the block's compressed data", what)
}

// nextChunk reads the next LZMA2 chunk header. It reports done at the
// end of the block's LZMA2 data.
func (r *Reader) nextChunk() (done bool, err error) {
	in := r.in
	if r.ip >= len(in) {
		if r.cur.compressed < 0 {
			return false, errTruncated()
		}
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
			return false, r.pastData("LZMA2 chunk header")
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
			return false, r.pastData("LZMA2 chunk")
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
			return false, r.pastData("LZMA2 chunk header")
		}
		size = int(binary.BigEndian.Uint16(in[r.ip+1:r.ip+3])) + 1
		r.ip += 3
		if len(in)-r.ip < size {
			return false, r.pastData("LZMA2 chunk")
		}
		r.chunkLZMA = false
	}
	if want := r.cur.uncompressed; want >= 0 && int64(size) > want-r.blockOut {
		return false, corruptf("block decodes to more than the %d bytes %s records", want, r.sizeSource())
	}
	r.chunkLeft = size
	return false, nil
}

// sizeSource names where the decoder knows a block's uncompressed size
// from.
func (r *Reader) sizeSource() string {
	if r.mode == modePrefix {
		return "its header"
	}
	return "the index"
}

// finishBlock verifies the end of a block: its size, padding and check.
// In modePrefix it also records the block for the index.
func (r *Reader) finishBlock() error {
	b := r.cur
	if b.compressed >= 0 && r.ip != len(r.in) {
		return corruptf("LZMA2 data ends after %d of the block's %d compressed bytes", r.ip, len(r.in))
	}
	if b.uncompressed >= 0 && r.blockOut != b.uncompressed {
		return corruptf("block decodes to %d bytes, %s records %d", r.blockOut, r.sizeSource(), b.uncompressed)
	}
	compressed := r.ip
	check := (b.data + compressed + 3) &^ 3 // the stream starts at offset 0
	csize := checkSize(r.s.checkType)
	if check+csize > len(r.data) {
		return errTruncated()
	}
	if !allZero(r.data[b.data+compressed : check]) {
		return corruptf("nonzero block padding")
	}
	r.sync()
	sum := r.data[check : check+csize]
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
	if r.mode == modePrefix {
		r.recs = append(r.recs, indexRecord{unpadded: uint64(b.data - b.header + compressed + csize), uncompressed: uint64(r.blockOut)})
		r.pos = check + csize
		i := &r.s.info
		i.Blocks = len(r.recs)
		i.UncompressedSize = r.total
		i.CompressedSize = int64(r.pos)
		i.MaxDict = max(i.MaxDict, b.dict)
	}
	return nil
}

// endStream verifies the index at r.pos against the blocks decoded, and
// the stream footer after it (modePrefix).
func (r *Reader) endStream() error {
	idx := r.data[r.pos:]
	n, err := indexLength(idx, len(r.recs))
	if err != nil {
		return err
	}
	recs, err := parseIndex(idx[:n])
	if err != nil {
		return err
	}
	for i, rec := range recs {
		if rec != r.recs[i] {
			return corruptf("index record %d (%d bytes, %d uncompressed) differs from block %d (%d bytes, %d uncompressed)",
				i+1, rec.unpadded, rec.uncompressed, i+1, r.recs[i].unpadded, r.recs[i].uncompressed)
		}
	}
	end := r.pos + n + headerSize
	if end > len(r.data) {
		return errTruncated()
	}
	footer := r.data[r.pos+n : end]
	if !bytes.Equal(footer[10:12], footerMagic) {
		return corruptf("no stream footer after the index")
	}
	if crc32.ChecksumIEEE(footer[4:10]) != binary.LittleEndian.Uint32(footer[0:4]) {
		return corruptf("stream footer CRC32 mismatch")
	}
	if size := (int64(binary.LittleEndian.Uint32(footer[4:8])) + 1) * 4; size != int64(n) {
		return corruptf("stream footer says the index is %d bytes, it is %d", size, n)
	}
	if !bytes.Equal(footer[8:10], r.data[6:8]) {
		return corruptf("stream footer flags differ from the stream header's")
	}
	r.s.info.CompressedSize = int64(end)
	return nil
}

// indexLength returns the length of the index at the start of idx (its
// indicator byte is known to be zero) by walking its records, of which
// there must be blocks.
func indexLength(idx []byte, blocks int) (int, error) {
	pos := 1
	count, n := readVLI(idx[pos:])
	if n == 0 {
		return 0, errTruncated()
	}
	if n < 0 {
		return 0, corruptf("index: bad record count")
	}
	if count != uint64(blocks) {
		return 0, corruptf("index records %d blocks, the stream has %d", count, blocks)
	}
	pos += n
	for i := 0; i < 2*blocks; i++ {
		_, n := readVLI(idx[pos:])
		if n == 0 {
			return 0, errTruncated()
		}
		if n < 0 {
			return 0, corruptf("index: bad record %d", i/2+1)
		}
		pos += n
	}
	pos = (pos+3)&^3 + 4 // padding, CRC32
	if pos > len(idx) {
		return 0, errTruncated()
	}
	return pos, nil
}
