package xz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"io"
	"testing"
)

// decodePrefix decodes the stream at the start of data with
// NewPrefixReader and WriteTo.
func decodePrefix(data []byte, lim Limits) ([]byte, Info, error) {
	return drain(NewPrefixReader(data, lim))
}

// TestPrefixFixtures: NewPrefixReader decodes every fixture, followed by
// other bytes, as NewReader decodes it alone, and its Info after io.EOF
// is what Inspect reads from the headers and the index.
func TestPrefixFixtures(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.file, func(t *testing.T) {
			data := mustRead(t, f.file)
			want, err := decodeAll(data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			info, err := Inspect(data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			for _, after := range [][]byte{nil, {0, 0, 0x30, 0}, []byte("x"), data, bytes.Repeat([]byte{0xff}, 100)} {
				in := append(bytes.Clone(data), after...)
				got, gotInfo, err := decodePrefix(in, Limits{})
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("followed by %d bytes: %d bytes, %v", len(after), len(got), err)
				}
				if gotInfo != info {
					t.Errorf("Info = %+v, want %+v", gotInfo, info)
				}
				r, err := NewPrefixReader(in, Limits{})
				if err != nil {
					t.Fatal(err)
				}
				for _, n := range []int{1, 7, 4096} {
					r, _ = NewPrefixReader(in, Limits{})
					if got, err := readAllBy(r, n); err != nil || !bytes.Equal(got, want) {
						t.Fatalf("Read(%d): %d bytes, %v", n, len(got), err)
					}
				}
			}
		})
	}
}

// TestPrefixAgainstXZTool decodes the xz tool's streams (block headers
// with and without sizes, every check type) followed by other data.
func TestPrefixAgainstXZTool(t *testing.T) {
	xz := xzTool(t)
	for name, in := range testInputs() {
		for _, args := range [][]string{
			{"-0", "--check=crc32"},
			{"-6", "--check=none"},
			{"-T2", "--block-size=65536", "--check=sha256", "-1"},
			{"-T2", "--block-size=200000", "--check=crc64", "--lzma2=dict=64KiB"},
		} {
			z := xzCompress(t, xz, in, args...)
			for _, after := range [][]byte{nil, {1, 2, 3}, make([]byte, 8), z} {
				got, info, err := decodePrefix(append(bytes.Clone(z), after...), Limits{})
				if err != nil || !bytes.Equal(got, in) {
					t.Fatalf("%s %v: %d bytes, %v", name, args, len(got), err)
				}
				if info.CompressedSize != int64(len(z)) || info.UncompressedSize != int64(len(in)) {
					t.Errorf("%s %v: Info = %+v, want %d compressed bytes", name, args, info, len(z))
				}
			}
		}
	}
}

// TestPrefixTruncation cuts fixtures at every length: always
// ErrTruncated, never the blocks so far as if the stream were complete.
func TestPrefixTruncation(t *testing.T) {
	for _, name := range []string{"text-kmod.xz", "mixed-blocks.xz", "empty.xz"} {
		orig := mustRead(t, name)
		// And every one of the last bytes (the index and the footer).
		step := flipStep(len(orig))
		for n := 0; n < len(orig); n = min(n+step, max(n+1, len(orig)-64)) {
			_, _, err := decodePrefix(orig[:n], Limits{})
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("%s cut at %d: %v", name, n, err)
			}
		}
	}
}

// TestPrefixByteFlips flips bytes of fixtures with checks: every flip is
// an error (the block checks, the index, the footer), classified, and
// the stream followed by other data changes nothing.
func TestPrefixByteFlips(t *testing.T) {
	for _, name := range []string{"text-crc64.xz", "text-kmod.xz", "mixed-blocks.xz", "empty.xz"} {
		orig := mustRead(t, name)
		for i := 0; i < len(orig); i += flipStep(len(orig)) {
			data := append(bytes.Clone(orig), "trailing data"...)
			data[i] ^= 0x01
			_, _, err := decodePrefix(data, Limits{})
			if err == nil || !anyKind(err) {
				t.Fatalf("%s: flip at %d: err = %v", name, i, err)
			}
		}
	}
}

// TestPrefixLies: where the index, the block headers or the footer
// disagree with what decoding finds, the stream is refused.
func TestPrefixLies(t *testing.T) {
	two := []testBlock{smallBlock(), smallBlock()}
	one := func(b testBlock) []testBlock { return []testBlock{b} }
	b := smallBlock()
	for _, c := range []struct {
		name string
		data []byte
		kind error
		msg  string
	}{
		{"count one more", writeXZ(checkCRC64, two, 3), ErrCorrupt, "index records 3 blocks, the stream has 2"},
		{"count one less", writeXZ(checkCRC64, two, 1), ErrCorrupt, "index records 1 blocks, the stream has 2"},
		{"huge count", writeXZ(checkCRC64, two, 1<<40), ErrCorrupt, "index records 1099511627776 blocks"},
		{"index uncompressed", writeXZ(checkCRC64, one(testBlock{lzma2: b.lzma2, plain: b.plain, indexUncomp: 1000}), -1), ErrCorrupt, "index record 1 (53 bytes, 1000 uncompressed) differs from block 1 (53 bytes, 31 uncompressed)"},
		{"index unpadded", writeXZ(checkCRC64, one(testBlock{lzma2: b.lzma2, plain: b.plain, indexUnpad: 40}), -1), ErrCorrupt, "index record 1 (40 bytes, 31 uncompressed) differs from block 1 (53 bytes"},
		{"header uncompressed too small", writeXZ(checkCRC64, one(testBlock{lzma2: b.lzma2, plain: b.plain, headerUncomp: 5}), -1), ErrCorrupt, "block 1: block decodes to more than the 5 bytes its header records"},
		{"header uncompressed too large", writeXZ(checkCRC64, one(testBlock{lzma2: b.lzma2, plain: b.plain, headerUncomp: 40}), -1), ErrCorrupt, "block 1: block decodes to 31 bytes, its header records 40"},
		{"header compressed too small", writeXZ(checkCRC64, one(testBlock{lzma2: b.lzma2, plain: b.plain, headerComp: 5}), -1), ErrCorrupt, "runs past the block's compressed data"},
		{"header compressed too large", writeXZ(checkCRC64, one(testBlock{lzma2: b.lzma2, plain: b.plain, headerComp: int64(len(b.lzma2)) + 4}), -1), ErrCorrupt, "block 1: LZMA2 data ends after"},
		{"header compressed past the input", writeXZ(checkCRC64, one(testBlock{lzma2: b.lzma2, plain: b.plain, headerComp: 1 << 20}), -1), ErrTruncated, "block 1: truncated input"},
		{"header uncompressed over MaxOutput", writeXZ(checkCRC64, one(testBlock{lzma2: b.lzma2, plain: b.plain, headerUncomp: 2 << 20}), -1), ErrLimit, "uncompressed size 2097152 exceeds the 1048576 byte limit"},
		{"bad check", writeXZ(checkCRC32, one(testBlock{lzma2: b.lzma2, plain: b.plain, badCheck: true}), -1), ErrCorrupt, "block 1: CRC32 mismatch"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := decodePrefix(append(c.data, "more"...), Limits{MaxOutput: 1 << 20})
			wantErr(t, err, c.kind, c.msg)
		})
	}

	// The footer, rewritten with a valid CRC32 where it matters.
	orig := writeXZ(checkCRC64, two, -1)
	n := len(orig)
	footer := func(f func(foot []byte), fixCRC bool) []byte {
		d := bytes.Clone(orig)
		f(d[n-headerSize:])
		if fixCRC {
			binary.LittleEndian.PutUint32(d[n-headerSize:], crc32.ChecksumIEEE(d[n-8:n-2]))
		}
		return append(d, "more"...)
	}
	for _, c := range []struct {
		name string
		data []byte
		kind error
		msg  string
	}{
		{"footer CRC", footer(func(f []byte) { f[0] ^= 1 }, false), ErrCorrupt, "stream footer CRC32 mismatch"},
		{"backward size", footer(func(f []byte) { f[4]++ }, true), ErrCorrupt, "stream footer says the index is"},
		{"flags", footer(func(f []byte) { f[9] = checkCRC32 }, true), ErrCorrupt, "stream footer flags differ from the stream header's"},
		{"magic", footer(func(f []byte) { f[11] = 'X' }, false), ErrCorrupt, "no stream footer after the index"},
		{"index CRC", func() []byte { d := bytes.Clone(orig); d[n-headerSize-1] ^= 1; return d }(), ErrCorrupt, "index CRC32 mismatch"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := decodePrefix(c.data, Limits{})
			wantErr(t, err, c.kind, c.msg)
		})
	}
}

// TestPrefixLimits: the output cap gives exactly MaxOutput bytes, then an
// ErrLimit error; RequireCheck and MaxDict apply as for NewReader.
func TestPrefixLimits(t *testing.T) {
	data := mustRead(t, "text-crc64.xz")
	want := mustRead(t, "text.txt")
	for _, max := range []int64{1, 1000, int64(len(want)) - 1} {
		got, _, err := decodePrefix(data, Limits{MaxOutput: max})
		wantErr(t, err, ErrLimit, "output exceeds the")
		if !bytes.Equal(got, want[:max]) {
			t.Errorf("MaxOutput %d: %d bytes before the error", max, len(got))
		}
	}
	if got, _, err := decodePrefix(data, Limits{MaxOutput: int64(len(want))}); err != nil || !bytes.Equal(got, want) {
		t.Errorf("MaxOutput = the size: %d bytes, %v", len(got), err)
	}
	_, err := NewPrefixReader(mustRead(t, "text-none.xz"), Limits{RequireCheck: true})
	wantErr(t, err, ErrLimit, "no integrity check")
	_, _, err = decodePrefix(data, Limits{MaxDict: 1 << 20})
	wantErr(t, err, ErrLimit, "block 1: dictionary size 8 MiB exceeds the 1 MiB limit")
	_, err = NewPrefixReader([]byte("hello"), Limits{})
	wantErr(t, err, ErrFormat, "xz: not an xz stream (bad magic)")
}

// TestPrefixEarlyStop: a caller that stops reading early has the output
// so far, and the decoder has not needed the input beyond it: a stream
// cut after its first block reads the same up to there.
func TestPrefixEarlyStop(t *testing.T) {
	data := mustRead(t, "mixed-blocks.xz")
	want := mustRead(t, "mixed.bin")
	s, err := inspect(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	first := s.blocks[0].uncompressed
	for _, in := range [][]byte{data, data[:s.blocks[1].header]} {
		r, err := NewPrefixReader(in, Limits{})
		if err != nil {
			t.Fatal(err)
		}
		head := make([]byte, first)
		if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, want[:first]) {
			t.Fatalf("first block of %d input bytes: %v", len(in), err)
		}
		r.Close()
	}
}
