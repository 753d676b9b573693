package xz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"runtime"
	"testing"
)

// anyKind reports whether err wraps one of the package's sentinels.
func anyKind(err error) bool {
	for _, k := range []error{ErrFormat, ErrCorrupt, ErrTruncated, ErrLimit, ErrUnsupported} {
		if errors.Is(err, k) {
			return true
		}
	}
	return false
}

// TestByteFlips flips every byte of small fixtures, one at a time, in
// every region (stream header, block headers, compressed data, padding,
// checks, index, footer): each must fail with a classified error, and
// never panic.
func TestByteFlips(t *testing.T) {
	for _, name := range []string{"text-crc64.xz", "text-kmod.xz", "text-sha256.xz", "mixed-blocks.xz", "empty.xz"} {
		orig := mustRead(t, name)
		// The larger fixture's LZMA data is much like the others'.
		for i := 0; i < len(orig); i += flipStep(len(orig)) {
			for j, x := range []byte{0x01, 0x80} {
				if j > 0 && i%5 != 0 {
					continue // the high bit at every fifth byte
				}
				data := bytes.Clone(orig)
				data[i] ^= x
				_, err := decodeAll(data, Limits{})
				if err == nil || !anyKind(err) {
					t.Fatalf("%s: flip %#x at %d: err = %v", name, x, i, err)
				}
			}
		}
	}
}

// TestByteFlipRegions checks the message for a flip in each region.
func TestByteFlipRegions(t *testing.T) {
	orig := mustRead(t, "text-crc64.xz")
	s, err := inspect(orig, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	b := s.blocks[0]
	n := len(orig)
	for _, c := range []struct {
		name string
		off  int
		kind error
		msg  string
	}{
		{"magic", 0, ErrFormat, "not an xz stream (bad magic)"},
		{"stream flags", 7, ErrCorrupt, "stream header CRC32 mismatch"},
		{"stream header CRC", 9, ErrCorrupt, "stream header CRC32 mismatch"},
		{"block header", b.header + 2, ErrCorrupt, "block 1: block header CRC32 mismatch"},
		{"compressed data", b.data + 100, ErrCorrupt, "block 1: "},
		{"check", b.check + 3, ErrCorrupt, "block 1: CRC64 mismatch"},
		{"index", b.check + 8 + 2, ErrCorrupt, "index"},
		{"footer CRC", n - 11, ErrCorrupt, "stream footer CRC32 mismatch"},
		{"backward size", n - 8, ErrCorrupt, "stream footer CRC32 mismatch"},
		{"footer magic", n - 1, ErrTruncated, "truncated input"},
	} {
		data := bytes.Clone(orig)
		data[c.off] ^= 0x01
		_, err := decodeAll(data, Limits{})
		t.Run(c.name, func(t *testing.T) { wantErr(t, err, c.kind, c.msg) })
	}
}

// TestTruncation cuts a fixture at every length: always ErrTruncated.
func TestTruncation(t *testing.T) {
	for _, name := range []string{"text-kmod.xz", "mixed-blocks.xz", "empty.xz"} {
		orig := mustRead(t, name)
		for n := 0; n < len(orig); n++ {
			_, err := Inspect(orig[:n], Limits{})
			// A cut that happens to end in the footer magic "YZ" looks
			// like a damaged footer.
			if !errors.Is(err, ErrTruncated) && !(bytes.HasSuffix(orig[:n], footerMagic) && errors.Is(err, ErrCorrupt)) {
				t.Fatalf("%s cut at %d: %v", name, n, err)
			}
		}
	}
	wantErr(t, func() error { _, err := NewReader(nil, Limits{}); return err }(), ErrTruncated, "xz: truncated input")
}

func TestTinyInputs(t *testing.T) {
	for _, in := range [][]byte{{}, {0}, {0xfd}, []byte("\xfd7zXZ"), []byte("hello, world"), bytes.Repeat([]byte{0}, 64), []byte("\xfd7zXZ\x00\x00\x04\xe6\xd6\xb4\x46")} {
		_, err := decodeAll(in, Limits{})
		if err == nil || !anyKind(err) {
			t.Errorf("%q: %v", in, err)
		}
	}
	_, err := decodeAll([]byte("PK\x03\x04 zip file"), Limits{})
	wantErr(t, err, ErrFormat, "xz: not an xz stream (bad magic)")
}

func TestTrailingData(t *testing.T) {
	orig := mustRead(t, "text-crc64.xz")
	want := mustRead(t, "text.txt")
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	got, err := decodeAll(cat(orig, make([]byte, 8)), Limits{})
	if err != nil || !bytes.Equal(got, want) {
		t.Fatalf("with 8 bytes of stream padding: %v", err)
	}
	_, err = decodeAll(cat(orig, []byte("garbage!")), Limits{})
	wantErr(t, err, ErrCorrupt, "xz: trailing data after the stream")
	_, err = decodeAll(cat(orig, []byte("x")), Limits{})
	wantErr(t, err, ErrCorrupt, "xz: trailing data after the stream")
	_, err = decodeAll(cat(orig, make([]byte, 2)), Limits{})
	wantErr(t, err, ErrCorrupt, "stream padding of 2 bytes is not a multiple of four")
	_, err = decodeAll(cat(orig, orig), Limits{})
	wantErr(t, err, ErrCorrupt, "xz: trailing data after the stream")
	_, err = decodeAll(cat(orig, make([]byte, 4), mustRead(t, "empty.xz")), Limits{})
	wantErr(t, err, ErrCorrupt, "xz: trailing data after the stream")
}

// smallBlock is a valid block of LZMA2 data made with the test encoder.
func smallBlock() testBlock {
	lz, plain := encodeLZMA2(func(e *lzmaEncoder) {
		for _, c := range []byte("hello, hello, hello") {
			e.literal(c)
		}
		e.match(6, 12)
	})
	return testBlock{lzma2: lz, plain: plain, dictProp: 0}
}

func TestWriteXZHelperIsValid(t *testing.T) {
	for _, check := range []byte{checkNone, checkCRC32, checkCRC64, checkSHA256} {
		b := smallBlock()
		b.sizes = check == checkCRC32
		data := writeXZ(check, []testBlock{b, smallBlock()}, -1)
		got, err := decodeAll(data, Limits{})
		want := append(bytes.Clone(b.plain), b.plain...)
		if err != nil || !bytes.Equal(got, want) {
			t.Fatalf("check %d: %q, %v", check, got, err)
		}
		if u, err := decodeUlikunitz(data); err != nil || !bytes.Equal(u, want) {
			t.Fatalf("check %d: ulikunitz: %v", check, err)
		}
	}
}

func TestBadChecks(t *testing.T) {
	for check, name := range map[byte]string{checkCRC32: "CRC32", checkCRC64: "CRC64", checkSHA256: "SHA-256"} {
		b2 := smallBlock()
		b2.badCheck = true
		_, err := decodeAll(writeXZ(check, []testBlock{smallBlock(), b2}, -1), Limits{})
		wantErr(t, err, ErrCorrupt, "xz: block 2: "+name+" mismatch")
	}
	_, err := decodeAll(writeXZ(checkNone, []testBlock{smallBlock()}, -1), Limits{RequireCheck: true})
	wantErr(t, err, ErrLimit, "no integrity check")
	// Reserved check types.
	data := writeXZ(0x02, nil, -1)
	_, err = decodeAll(data, Limits{})
	wantErr(t, err, ErrUnsupported, "unsupported check type 0x2")
}

// TestHugeDictionary: a block header that declares a 4 GiB dictionary is
// refused by Inspect, before anything is allocated for decoding.
func TestHugeDictionary(t *testing.T) {
	b := smallBlock()
	b.dictProp = 40
	data := writeXZ(checkCRC64, []testBlock{b}, -1)
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	_, err := NewReader(data, Limits{})
	runtime.ReadMemStats(&after)
	wantErr(t, err, ErrLimit, "xz: block 1: dictionary size 4 GiB exceeds the 64 MiB limit")
	if d := after.TotalAlloc - before.TotalAlloc; d > 64<<10 {
		t.Errorf("NewReader allocated %d bytes for a refused stream", d)
	}
	_, err = NewReader(data, Limits{MaxDict: 1 << 20})
	wantErr(t, err, ErrLimit, "dictionary size 4 GiB exceeds the 1 MiB limit")
	// Allowed by the caller: the window is sized by the output, not the
	// declared dictionary.
	r, err := NewReader(data, Limits{MaxDict: 1<<32 - 1})
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&before)
	var out bytes.Buffer
	if _, err := r.WriteTo(&out); err != nil || !bytes.Equal(out.Bytes(), b.plain) {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if d := after.TotalAlloc - before.TotalAlloc; d > 64<<10 {
		t.Errorf("decoding %d bytes with a 4 GiB dictionary allocated %d bytes", len(b.plain), d)
	}
}

func TestFilterChains(t *testing.T) {
	for _, c := range []struct {
		filters [][]byte
		msg     string
	}{
		{[][]byte{{0x04, 0}, {filterLZMA2, 1, 0}}, "xz: block 1: unsupported filter BCJ-x86 (only LZMA2)"},
		{[][]byte{{0x03, 1, 0}, {filterLZMA2, 1, 0}}, "unsupported filter delta (only LZMA2)"},
		{[][]byte{{0x0a, 0}, {filterLZMA2, 1, 0}}, "unsupported filter BCJ-ARM64 (only LZMA2)"},
		{[][]byte{{0x7f, 0}}, "unsupported filter 0x7f (only LZMA2)"},
		{[][]byte{{filterLZMA2, 1, 0}, {filterLZMA2, 1, 0}}, "unsupported filter chain of 2 filters"},
	} {
		b := smallBlock()
		b.filters = c.filters
		_, err := decodeAll(writeXZ(checkCRC64, []testBlock{b}, -1), Limits{})
		wantErr(t, err, ErrUnsupported, c.msg)
	}
	for _, props := range [][]byte{{filterLZMA2, 1, 41}, {filterLZMA2, 2, 0, 0}, {filterLZMA2, 0}} {
		b := smallBlock()
		b.filters = [][]byte{props}
		_, err := decodeAll(writeXZ(checkCRC64, []testBlock{b}, -1), Limits{})
		wantErr(t, err, ErrCorrupt, "invalid LZMA2 properties")
	}
}

// reCRC recomputes the CRC32 of the block header at off.
func reCRC(data []byte, off int) {
	n := (int(data[off]) + 1) * 4
	binary.LittleEndian.PutUint32(data[off+n-4:], crc32.ChecksumIEEE(data[off:off+n-4]))
}

func TestBlockHeaderFields(t *testing.T) {
	b := smallBlock()
	data := writeXZ(checkCRC64, []testBlock{b}, -1)
	// Reserved flag bits.
	d := bytes.Clone(data)
	d[headerSize+1] |= 0x08
	reCRC(d, headerSize)
	_, err := decodeAll(d, Limits{})
	wantErr(t, err, ErrUnsupported, "reserved flag bits")
	// Nonzero header padding.
	d = bytes.Clone(data)
	hsize := (int(d[headerSize]) + 1) * 4
	d[headerSize+hsize-5] = 1
	reCRC(d, headerSize)
	_, err = decodeAll(d, Limits{})
	wantErr(t, err, ErrCorrupt, "block header padding is not zero")
	// Sizes in the header that disagree with the index.
	b1 := smallBlock()
	b1.headerComp = int64(len(b1.lzma2)) + 1
	_, err = decodeAll(writeXZ(checkCRC64, []testBlock{b1}, -1), Limits{})
	wantErr(t, err, ErrCorrupt, "block header says compressed size")
	b1 = smallBlock()
	b1.headerUncomp = int64(len(b1.plain)) + 1
	_, err = decodeAll(writeXZ(checkCRC64, []testBlock{b1}, -1), Limits{})
	wantErr(t, err, ErrCorrupt, "block header says uncompressed size")
	// Nonzero block padding (the LZMA2 data here is not a multiple of 4).
	b1 = smallBlock()
	if len(b1.lzma2)%4 == 0 {
		t.Fatal("test block needs padding")
	}
	d = writeXZ(checkCRC64, []testBlock{b1}, -1)
	s, err := inspect(d, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	d[s.blocks[0].check-1] = 1
	_, err = decodeAll(d, Limits{})
	wantErr(t, err, ErrCorrupt, "nonzero block padding")
}

func TestIndexLies(t *testing.T) {
	two := []testBlock{smallBlock(), smallBlock()}
	for _, c := range []struct {
		name string
		data []byte
		kind error
		msg  string
	}{
		{"huge count", writeXZ(checkCRC64, two, 1<<40), ErrCorrupt, "does not fit the index size"},
		{"count one more", writeXZ(checkCRC64, two, 3), ErrCorrupt, "index"},
		{"count one less", writeXZ(checkCRC64, two, 1), ErrCorrupt, "index"},
		{"unpadded too large", writeXZ(checkCRC64, []testBlock{{lzma2: two[0].lzma2, plain: two[0].plain, indexUnpad: 1 << 40}}, -1), ErrCorrupt, "index records more block data than the stream holds"},
		{"unpadded too small", writeXZ(checkCRC64, []testBlock{{lzma2: two[0].lzma2, plain: two[0].plain, indexUnpad: 8}}, -1), ErrCorrupt, "index records"},
		{"uncompressed too large", writeXZ(checkCRC64, []testBlock{{lzma2: two[0].lzma2, plain: two[0].plain, indexUncomp: 1000}}, -1), ErrCorrupt, "block decodes to 31 bytes, the index records 1000"},
		{"uncompressed too small", writeXZ(checkCRC64, []testBlock{{lzma2: two[0].lzma2, plain: two[0].plain, indexUncomp: 5}}, -1), ErrCorrupt, "block decodes to more than the 5 bytes the index records"},
		{"uncompressed beyond MaxOutput", writeXZ(checkCRC64, []testBlock{{lzma2: two[0].lzma2, plain: two[0].plain, indexUncomp: 1 << 40}}, -1), ErrLimit, "exceeds the 1048576 byte limit"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeAll(c.data, Limits{MaxOutput: 1 << 20})
			wantErr(t, err, c.kind, c.msg)
		})
	}
	// A backward size that points outside the stream.
	d := writeXZ(checkCRC64, two, -1)
	foot := d[len(d)-12:]
	binary.LittleEndian.PutUint32(foot[4:], 1<<30)
	binary.LittleEndian.PutUint32(foot[0:], crc32.ChecksumIEEE(foot[4:10]))
	_, err := decodeAll(d, Limits{})
	wantErr(t, err, ErrCorrupt, "exceeds the stream")
	// Footer flags that differ from the header's.
	d = writeXZ(checkCRC64, two, -1)
	foot = d[len(d)-12:]
	foot[9] = checkCRC32
	binary.LittleEndian.PutUint32(foot[0:], crc32.ChecksumIEEE(foot[4:10]))
	_, err = decodeAll(d, Limits{})
	wantErr(t, err, ErrCorrupt, "stream footer flags differ")
}

// lzma2Block wraps raw LZMA2 data (and its supposed output) in a stream.
func lzma2Block(lzma2, plain []byte) []byte {
	return writeXZ(checkCRC64, []testBlock{{lzma2: lzma2, plain: plain, dictProp: 0}}, -1)
}

func TestLZMA2Chunks(t *testing.T) {
	lit := func(s string) func(e *lzmaEncoder) {
		return func(e *lzmaEncoder) {
			for _, c := range []byte(s) {
				e.literal(c)
			}
		}
	}
	// A valid LZMA chunk (with dictionary reset) and its packed data.
	e := newLZMAEncoder(0x5d)
	lit("abcdefgh")(e)
	packed := e.rc.flush()
	chunk := lzma2Chunk(0xe0, 0x5d, 8, packed)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	// The same literals after a stored chunk "xy": positions and the
	// previous byte differ.
	e = newLZMAEncoder(0x5d)
	e.hist = []byte("xy")
	lit("abcdefgh")(e)
	afterXY := e.rc.flush()

	ok := []struct {
		name  string
		lzma2 []byte
		plain string
	}{
		{"stored then LZMA without reset", cat(lzma2Stored(1, []byte("xy")), lzma2Chunk(0xc0, 0x5d, 8, afterXY), []byte{0}), "xyabcdefgh"},
		{"stored chunks", cat(lzma2Stored(1, []byte("xy")), lzma2Stored(2, []byte("z")), []byte{0}), "xyz"},
		{"dictionary reset mid-block", cat(chunk, chunk, []byte{0}), "abcdefghabcdefgh"},
		{"empty", []byte{0}, ""},
	}
	for _, c := range ok {
		got, err := decodeAll(lzma2Block(c.lzma2, []byte(c.plain)), Limits{})
		if err != nil || string(got) != c.plain {
			t.Errorf("%s: %q, %v", c.name, got, err)
		}
	}

	bad := []struct {
		name  string
		lzma2 []byte
		msg   string
	}{
		{"first chunk stored without reset", cat(lzma2Stored(2, []byte("x")), []byte{0}), "first LZMA2 chunk does not reset the dictionary"},
		{"first chunk LZMA without reset", cat(lzma2Chunk(0xc0, 0x5d, 8, packed), []byte{0}), "first LZMA2 chunk does not reset the dictionary"},
		{"LZMA without properties after reset", cat(lzma2Stored(1, []byte("x")), lzma2Chunk(0xa0, 0, 8, packed), []byte{0}), "without properties after a dictionary reset"},
		{"invalid control byte", cat(chunk, []byte{0x03, 0, 0, 'x'}, []byte{0}), "invalid LZMA2 control byte 0x03"},
		{"invalid control byte 0x7f", cat(chunk, []byte{0x7f}, []byte{0}), "invalid LZMA2 control byte 0x7f"},
		{"props lc+lp > 4", cat(lzma2Chunk(0xe0, 4+1*9, 8, packed), []byte{0}), "invalid LZMA properties 0x0d"},
		{"props >= 225", cat(lzma2Chunk(0xe0, 225, 8, packed), []byte{0}), "invalid LZMA properties 0xe1"},
		{"range coder first byte", cat(lzma2Chunk(0xe0, 0x5d, 8, append([]byte{1}, packed[1:]...)), []byte{0}), "invalid range coder header"},
		{"no end marker", chunk, "LZMA2 data ends without an end marker"},
		{"data after end marker", cat(chunk, []byte{0, 0}), "LZMA2 data ends after"},
		{"packed size too large", cat(lzma2Chunk(0xe0, 0x5d, 8, append(bytes.Clone(packed), 0)), []byte{0}), "does not end cleanly"},
		{"packed size too small", cat(lzma2Chunk(0xe0, 0x5d, 8, packed[:len(packed)-2]), []byte{0}), "LZMA chunk"},
		{"unpacked size too large", cat(lzma2Chunk(0xe0, 0x5d, 9, packed), []byte{0}), "block decodes to more than the 8 bytes"},
		{"stored chunk past the data", cat(chunk, []byte{2, 0, 9, 'x'}), "runs past the block's compressed data"},
		{"chunk header past the data", cat(chunk, []byte{0x80, 0}), "chunk header runs past"},
		{"LZMA chunk past the data", cat(chunk, lzma2Chunk(0x80, 0, 8, packed)[:8]), "runs past the block's compressed data"},
	}
	for _, c := range bad {
		t.Run(c.name, func(t *testing.T) {
			_, err := decodeAll(lzma2Block(c.lzma2, []byte("abcdefgh")), Limits{})
			wantErr(t, err, ErrCorrupt, c.msg)
		})
	}
	// The chunk claims one byte more than its LZMA data holds, and the
	// index agrees: the decoder runs into the end of the packed data.
	_, err := decodeAll(lzma2Block(cat(lzma2Chunk(0xe0, 0x5d, 9, packed), []byte{0}), []byte("abcdefghi")), Limits{})
	wantErr(t, err, ErrCorrupt, "LZMA chunk")
}

func TestLZMADistances(t *testing.T) {
	for _, c := range []struct {
		name string
		ops  func(e *lzmaEncoder)
		msg  string
	}{
		{"match before the start", func(e *lzmaEncoder) { e.literal('a'); e.match(5, 3) }, "refers to data before the dictionary"},
		{"match as first symbol", func(e *lzmaEncoder) { e.match(0, 2) }, "refers to data before the dictionary"},
		{"rep as first symbol", func(e *lzmaEncoder) { e.rep(0, 4) }, "refers to data before the dictionary"},
		{"short rep as first symbol", func(e *lzmaEncoder) { e.rep(0, 1) }, "refers to data before the dictionary"},
		{"end marker", func(e *lzmaEncoder) { e.literal('a'); e.literal('b'); e.match(0xffffffff, 2) }, "refers to data before the dictionary"},
		{"beyond the dictionary size", func(e *lzmaEncoder) {
			for range 5000 {
				e.literal('q')
			}
			e.match(4096, 2) // dictProp 0 is 4 KiB
		}, "refers to data before the dictionary"},
	} {
		t.Run(c.name, func(t *testing.T) {
			lz, plain := encodeLZMA2(c.ops)
			_, err := decodeAll(lzma2Block(lz, plain), Limits{})
			wantErr(t, err, ErrCorrupt, c.msg)
		})
	}

	// A match that reaches back across a dictionary reset.
	e := newLZMAEncoder(0x5d)
	for _, c := range []byte("abcdefgh") {
		e.literal(c)
	}
	c1 := lzma2Chunk(0xe0, 0x5d, 8, e.rc.flush())
	e2 := newLZMAEncoder(0x5d)
	e2.literal('x')
	e2.match(3, 4)
	c2 := lzma2Chunk(0xe0, 0x5d, len(e2.hist), e2.rc.flush())
	_, err := decodeAll(lzma2Block(bytes.Join([][]byte{c1, c2, {0}}, nil), append([]byte("abcdefgh"), e2.hist...)), Limits{})
	wantErr(t, err, ErrCorrupt, "refers to data before the dictionary")

	// A match that runs past the end of its chunk.
	e = newLZMAEncoder(0x5d)
	e.literal('a')
	e.match(0, 10)
	c := lzma2Chunk(0xe0, 0x5d, 5, e.rc.flush())
	_, err = decodeAll(lzma2Block(append(c, 0), e.hist[:5]), Limits{})
	wantErr(t, err, ErrCorrupt, "LZMA match runs past the end of its chunk")
}

// TestStickyError: after an error, Read keeps returning it.
func TestStickyError(t *testing.T) {
	b := smallBlock()
	b.badCheck = true
	r, err := NewReader(writeXZ(checkCRC32, []testBlock{b}, -1), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	var first error
	for first == nil {
		_, first = r.Read(buf)
	}
	for range 3 {
		if n, err := r.Read(buf); n != 0 || err != first {
			t.Fatalf("Read after error: %d, %v; want 0, %v", n, err, first)
		}
	}
	wantErr(t, first, ErrCorrupt, "CRC32 mismatch")
}

// TestNoAllocsPerRead: Read does not allocate once decoding runs.
func TestNoAllocsPerRead(t *testing.T) {
	for _, name := range []string{"text-sha256.xz", "mixed-blocks.xz"} {
		r, err := NewReader(mustRead(t, name), Limits{})
		if err != nil {
			t.Fatal(err)
		}
		buf := make([]byte, 64)
		r.Read(buf) // allocates the window
		if a := testing.AllocsPerRun(200, func() { r.Read(buf) }); a != 0 {
			t.Errorf("%s: %v allocations per Read", name, a)
		}
	}
}

// TestManyFooters: an invalid input full of valid-looking footers, each
// of which would make the search for an earlier stream end read the
// whole input again, is refused without quadratic work (the test would
// time out).
func TestManyFooters(t *testing.T) {
	data := writeXZ(checkCRC64, nil, -1)[:headerSize]
	data = append(data, make([]byte, 12)...)
	for len(data) < 4<<20 {
		e := len(data) + headerSize
		f := binary.LittleEndian.AppendUint32(nil, 0)
		f = binary.LittleEndian.AppendUint32(f, uint32((e-2*headerSize)/4-1))
		f = append(f, 0, checkCRC64, 'Y', 'Z')
		binary.LittleEndian.PutUint32(f, crc32.ChecksumIEEE(f[4:10]))
		data = append(data, f...)
	}
	data = append(data, "junk"...)
	_, err := Inspect(data, Limits{})
	if err == nil || !anyKind(err) {
		t.Fatalf("err = %v", err)
	}
}
