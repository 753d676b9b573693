package xz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os/exec"
	"testing"

	"github.com/khtool/kh/internal/testkernel"
)

// decodeLZMA decodes the .lzma stream at the start of data with
// NewLZMAReader and WriteTo.
func decodeLZMA(data []byte, lim Limits) ([]byte, Info, error) {
	return drain(NewLZMAReader(data, lim))
}

// lzmaHeader returns a .lzma header; size < 0 means unknown.
func lzmaHeader(props byte, dict uint32, size int64) []byte {
	h := []byte{props}
	h = binary.LittleEndian.AppendUint32(h, dict)
	return binary.LittleEndian.AppendUint64(h, uint64(size))
}

// encodeLZMAAlone encodes ops with the test encoder (properties 0x5d) as
// a .lzma stream with the given header size (-1: unknown), optionally
// with an end marker, and returns it and what it decodes to.
func encodeLZMAAlone(ops func(e *lzmaEncoder), size int64, marker bool) (data, plain []byte) {
	e := newLZMAEncoder(0x5d)
	ops(e)
	plain = bytes.Clone(e.hist)
	if marker {
		e.match(0xffffffff, minMatch)
	}
	return append(lzmaHeader(0x5d, 1<<16, size), e.rc.flush()...), plain
}

// someOps encodes literals, matches and reps.
func someOps(e *lzmaEncoder) {
	for _, c := range []byte("hello, lzma alone! ") {
		e.literal(c)
	}
	e.match(6, 10)
	e.rep(0, 5)
	e.literal('!')
	e.rep(0, 1)
	e.match(0, 30)
}

// xzToolLZMA decodes a .lzma stream with the xz tool, as the judge of
// what is valid; ok reports whether it accepted the stream.
func xzToolLZMA(t *testing.T, data []byte) (out []byte, ok bool) {
	t.Helper()
	cmd := exec.Command(xzTool(t), "--format=lzma", "-dc")
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	return out, err == nil
}

// TestLZMAAgainstXZTool decodes what `xz --format=lzma` writes (unknown
// size, end marker), followed by other data, with several presets and
// properties, a dictionary smaller than the output (the window slides),
// and inputs larger than the decoder's input ring.
func TestLZMAAgainstXZTool(t *testing.T) {
	xz := xzTool(t)
	for name, in := range testInputs() {
		for _, args := range [][]string{
			{"--format=lzma", "-0"},
			{"--format=lzma", "-9"},
			{"--format=lzma", "--lzma1=preset=6,lc=0,lp=4,pb=4"},
			{"--format=lzma", "--lzma1=preset=1,dict=64KiB,lc=4"},
		} {
			z := xzCompress(t, xz, in, args...)
			for _, after := range [][]byte{nil, {0, 0, 0x30, 0}, z} {
				data := append(bytes.Clone(z), after...)
				got, info, err := decodeLZMA(data, Limits{})
				if err != nil || !bytes.Equal(got, in) {
					t.Fatalf("%s %v: %d bytes, %v", name, args, len(got), err)
				}
				if info.CompressedSize != int64(len(z)) || info.UncompressedSize != int64(len(in)) || info.Check != "none" {
					t.Errorf("%s %v: Info = %+v, want %d compressed bytes", name, args, info, len(z))
				}
				r, err := NewLZMAReader(data, Limits{})
				if err != nil {
					t.Fatal(err)
				}
				if got, err := readAllBy(r, 7); err != nil || !bytes.Equal(got, in) {
					t.Fatalf("%s %v: Read(7): %d bytes, %v", name, args, len(got), err)
				}
			}
		}
	}
}

// TestLZMASizes: a declared size, with or without an end marker, or an
// unknown size with one, are what liblzma accepts too; an end marker
// before the declared size, data past it and a missing end marker are
// refused by both.
func TestLZMASizes(t *testing.T) {
	_, plain := encodeLZMAAlone(someOps, -1, false)
	n := int64(len(plain))
	empty := func(*lzmaEncoder) {}
	for _, c := range []struct {
		name   string
		ops    func(*lzmaEncoder)
		size   int64
		marker bool
		kind   error
		msg    string
	}{
		{"known size", someOps, n, false, nil, ""},
		{"known size and end marker", someOps, n, true, nil, ""},
		{"unknown size and end marker", someOps, -1, true, nil, ""},
		{"empty, known size", empty, 0, false, nil, ""},
		{"empty, known size and end marker", empty, 0, true, nil, ""},
		{"empty, end marker", empty, -1, true, nil, ""},
		{"end marker before the size", someOps, n + 1, true, ErrCorrupt, "lzma: end marker after 66 of the 67 bytes the header declares"},
		{"data past the size", someOps, n - 1, false, ErrCorrupt, "lzma: LZMA data runs past the declared uncompressed size"},
		{"data past the size, between symbols", someOps, n - 30, false, ErrCorrupt, "LZMA data continues past the declared uncompressed size"},
		{"no end marker", someOps, -1, false, ErrTruncated, "lzma: truncated input"},
	} {
		t.Run(c.name, func(t *testing.T) {
			data, plain := encodeLZMAAlone(c.ops, c.size, c.marker)
			if c.size >= 0 && c.size < int64(len(plain)) {
				plain = plain[:c.size]
			}
			got, info, err := decodeLZMA(append(bytes.Clone(data), "more"...), Limits{})
			if c.kind != nil {
				wantErr(t, err, c.kind, c.msg)
			} else if err != nil || !bytes.Equal(got, plain) || info.CompressedSize != int64(len(data)) {
				t.Fatalf("%q, %v, %+v; want %q, %d compressed bytes", got, err, info, plain, len(data))
			}
			if out, ok := xzToolLZMA(t, data); ok != (c.kind == nil) || ok && !bytes.Equal(out, plain) {
				t.Errorf("the xz tool disagrees: accepts = %v, %q", ok, out)
			}
		})
	}
}

// TestLZMAHeader: what the header says is checked before anything is
// allocated or decoded.
func TestLZMAHeader(t *testing.T) {
	good, _ := encodeLZMAAlone(someOps, -1, true)
	body := good[lzmaHeaderSize:]
	for _, c := range []struct {
		name string
		data []byte
		lim  Limits
		kind error
		msg  string
	}{
		{"short", good[:12], Limits{}, ErrTruncated, "lzma: truncated input"},
		{"properties", append(lzmaHeader(225, 1<<16, -1), body...), Limits{}, ErrFormat, "lzma: not an .lzma stream (invalid properties byte 0xe1)"},
		{"lc+lp", append(lzmaHeader(4+9*1, 1<<16, -1), body...), Limits{}, ErrUnsupported, "lc=4 lp=1 (lc + lp must be at most 4)"},
		{"dictionary", append(lzmaHeader(0x5d, 1<<27, -1), body...), Limits{}, ErrLimit, "lzma: dictionary size 128 MiB exceeds the 64 MiB limit"},
		{"dictionary 4 GiB", append(lzmaHeader(0x5d, 1<<32-1, -1), body...), Limits{MaxDict: 1 << 20}, ErrLimit, "dictionary size 4 GiB exceeds the 1 MiB limit"},
		{"size over MaxOutput", append(lzmaHeader(0x5d, 1<<16, 1<<30), body...), Limits{MaxOutput: 1 << 20}, ErrLimit, "uncompressed size 1073741824 exceeds the 1048576 byte limit"},
		{"size over 2^63", append(lzmaHeader(0x5d, 1<<16, -2), body...), Limits{}, ErrFormat, "not an .lzma stream (uncompressed size"},
		{"no check", good, Limits{RequireCheck: true}, ErrLimit, "lzma: an .lzma stream has no integrity check"},
	} {
		_, err := NewLZMAReader(c.data, c.lim)
		t.Run(c.name, func(t *testing.T) { wantErr(t, err, c.kind, c.msg) })
	}
	// A tiny dictionary size counts as 4 KiB, as in liblzma.
	data, plain := encodeLZMAAlone(someOps, -1, true)
	binary.LittleEndian.PutUint32(data[1:], 1)
	if got, _, err := decodeLZMA(data, Limits{}); err != nil || !bytes.Equal(got, plain) {
		t.Errorf("dictionary size 1: %q, %v", got, err)
	}
	// The range coder's first byte must be zero.
	bad := bytes.Clone(good)
	bad[lzmaHeaderSize] = 1
	_, _, err := decodeLZMA(bad, Limits{})
	wantErr(t, err, ErrCorrupt, "lzma: invalid range coder header")
}

// TestLZMAHostile: truncation and damage anywhere are errors (or, since
// the format has no check, a different output), never a panic; a
// distance before the start of the stream is refused; MaxOutput gives
// exactly that many bytes.
func TestLZMAHostile(t *testing.T) {
	xz := xzTool(t)
	in := testInputs()["mixed"]
	z := xzCompress(t, xz, in, "--format=lzma", "-6")
	for n := 0; n < len(z); n += 1 + n/64 {
		_, _, err := decodeLZMA(z[:n], Limits{})
		if !errors.Is(err, ErrTruncated) && !(n >= lzmaHeaderSize+5 && errors.Is(err, ErrCorrupt)) {
			t.Fatalf("cut at %d: %v", n, err)
		}
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for range 300 {
		data := bytes.Clone(z)
		i := lzmaHeaderSize + rng.IntN(len(z)-lzmaHeaderSize)
		data[i] ^= byte(1 + rng.IntN(255))
		got, _, err := decodeLZMA(data, Limits{MaxOutput: 4 << 20})
		if err == nil && bytes.Equal(got, in) {
			t.Fatalf("flip at %d not noticed", i)
		}
		if err != nil && !anyKind(err) {
			t.Fatalf("unclassified error %v", err)
		}
	}
	far, _ := encodeLZMAAlone(func(e *lzmaEncoder) { e.literal('a'); e.match(5, 2) }, -1, true)
	_, _, err := decodeLZMA(far, Limits{})
	wantErr(t, err, ErrCorrupt, "lzma: LZMA data refers to data before the start of the stream")

	for _, max := range []int64{1, 1000, int64(len(in)) - 1} {
		got, _, err := decodeLZMA(z, Limits{MaxOutput: max})
		wantErr(t, err, ErrLimit, "lzma: output exceeds the")
		if !bytes.Equal(got, in[:max]) {
			t.Errorf("MaxOutput %d: %d bytes before the error", max, len(got))
		}
	}
}

// TestLZMAKernelStyle decodes a .lzma stream as the kernel build writes
// one for CONFIG_KERNEL_LZMA (`lzma -9`, then the size appended) from a
// real kernel's code, and compares with the xz tool.
func TestLZMAKernelStyle(t *testing.T) {
	img := readFile(t, testkernel.File(t, "arm64", "Image"))
	img = img[:min(len(img), 4<<20)]
	z := xzCompress(t, xzTool(t), img, "--format=lzma", "-9")
	data := binary.LittleEndian.AppendUint32(bytes.Clone(z), uint32(len(img)))
	got, info, err := decodeLZMA(data, Limits{})
	if err != nil || !bytes.Equal(got, img) || info.CompressedSize != int64(len(z)) {
		t.Fatalf("%d bytes, %v, %+v", len(got), err, info)
	}
	r, err := NewLZMAReader(data, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	head := make([]byte, 100<<10)
	if _, err := io.ReadFull(r, head); err != nil || !bytes.Equal(head, img[:len(head)]) {
		t.Fatalf("early stop: %v", err)
	}
}
