package xz

import (
	"bytes"
	"encoding/binary"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"testing"

	"github.com/khtool/kh/internal/testkernel"
)

// machineCode returns n bytes that give every BCJ filter something to
// convert: the start of this test binary (real x86-64 code), then random
// words, in which each filter's branch patterns occur by chance.
func machineCode(t *testing.T, n int) []byte {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	code, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	out := append([]byte(nil), code[:min(len(code), n/2)]...)
	rng := rand.New(rand.NewPCG(3, 5))
	for len(out) < n {
		out = binary.LittleEndian.AppendUint32(out, rng.Uint32())
	}
	return out[:n]
}

// bcjFlags are the xz tool's options for the BCJ filters this package
// decodes.
var bcjFlags = []string{"--x86", "--powerpc", "--arm", "--armthumb", "--arm64", "--sparc"}

// TestBCJAgainstXZTool decodes what the xz tool writes with each BCJ
// filter (with and without a start offset, in one block and in several),
// through NewReader and NewPrefixReader, with WriteTo and with small
// reads that cut instructions apart.
func TestBCJAgainstXZTool(t *testing.T) {
	xz := xzTool(t)
	code := machineCode(t, 600<<10)
	bcj := Limits{AllowBCJ: true}
	for _, flag := range bcjFlags {
		for _, opts := range []struct {
			name string
			args []string
		}{
			{"", []string{flag, "--lzma2=preset=1"}},
			{"start", []string{flag + "=start=4096", "--lzma2=preset=1"}},
			{"blocks", []string{"-T2", "--block-size=100000", "--check=sha256", flag, "--lzma2=preset=0"}},
		} {
			t.Run(flag+"/"+opts.name, func(t *testing.T) {
				for _, n := range []int{0, 1, 3, 5, 4099, len(code)} {
					in := code[:n]
					z := xzCompress(t, xz, in, opts.args...)
					got, err := decodeAll(z, bcj)
					if err != nil || !bytes.Equal(got, in) {
						t.Fatalf("%d bytes: NewReader: %d bytes, %v", n, len(got), err)
					}
					r, err := NewPrefixReader(append(z, "trailing"...), bcj)
					if err != nil {
						t.Fatal(err)
					}
					got, err = readAllBy(r, 7)
					if err != nil || !bytes.Equal(got, in) {
						t.Fatalf("%d bytes: NewPrefixReader: %d bytes, %v", n, len(got), err)
					}
					if r.Info().CompressedSize != int64(len(z)) {
						t.Fatalf("CompressedSize %d, want %d", r.Info().CompressedSize, len(z))
					}
				}
				// Without the opt-in, the filter is refused.
				_, err := decodeAll(xzCompress(t, xz, code[:100], opts.args...), Limits{})
				wantErr(t, err, ErrUnsupported, "(only LZMA2)")
			})
		}
	}
}

// TestBCJChainErrors: with AllowBCJ, chains other than one supported BCJ
// filter before LZMA2 are still refused, and say what is accepted.
func TestBCJChainErrors(t *testing.T) {
	b := smallBlock()
	lim := Limits{AllowBCJ: true}
	for _, c := range []struct {
		filters [][]byte
		kind    error
		msg     string
	}{
		{[][]byte{{0x06, 0}, {filterLZMA2, 1, 0}}, ErrUnsupported, "unsupported filter BCJ-IA64 (only LZMA2, after at most one BCJ filter)"},
		{[][]byte{{0x0b, 0}, {filterLZMA2, 1, 0}}, ErrUnsupported, "unsupported filter BCJ-RISC-V"},
		{[][]byte{{0x04, 0}, {0x04, 0}, {filterLZMA2, 1, 0}}, ErrUnsupported, "unsupported filter BCJ-x86"},
		{[][]byte{{0x04, 0}}, ErrUnsupported, "unsupported filter BCJ-x86"},
		{[][]byte{{filterLZMA2, 1, 0}, {0x04, 0}}, ErrUnsupported, "unsupported filter chain of 2 filters (only LZMA2, after at most one BCJ filter)"},
		{[][]byte{{0x04, 2, 0, 0}, {filterLZMA2, 1, 0}}, ErrCorrupt, "invalid BCJ-x86 properties"},
		{[][]byte{{0x04, 4, 0, 0, 0, 0}, {filterLZMA2, 1, 0}}, nil, ""},
	} {
		b.filters = c.filters
		data := writeXZ(checkCRC32, []testBlock{b}, -1)
		_, err := decodeAll(data, lim)
		if c.kind == nil {
			if err != nil {
				t.Errorf("%x: %v", c.filters, err)
			}
			continue
		}
		wantErr(t, err, c.kind, c.msg)
		r, err := NewPrefixReader(data, lim)
		if err == nil {
			_, err = io.Copy(io.Discard, r)
		}
		wantErr(t, err, c.kind, c.msg)
	}
}

// TestKernelImagePayload decodes the xz payload of the x86_64 test
// kernel's bzImage (BCJ x86, 32 MiB dictionary, followed by the rest of
// the image) and compares it with the xz tool's output.
func TestKernelImagePayload(t *testing.T) {
	img := readFile(t, testkernel.File(t, "x86_64", "bzImage"))
	xz := xzTool(t)
	i := bytes.Index(img, headerMagic)
	if i < 0 {
		t.Fatal("no xz stream in the bzImage")
	}
	cmd := exec.Command(xz, "-dc", "--single-stream")
	cmd.Stdin = bytes.NewReader(img[i:])
	want, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewPrefixReader(img[i:], Limits{AllowBCJ: true})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if _, err := r.WriteTo(&got); err != nil || !bytes.Equal(got.Bytes(), want) {
		t.Fatalf("decoded %d bytes (want %d): %v", got.Len(), len(want), err)
	}
	info := r.Info()
	if info.Blocks != 1 || info.Check != "crc32" || info.MaxDict != 32<<20 || info.UncompressedSize != int64(len(want)) {
		t.Errorf("Info = %+v", info)
	}
	// The stream alone is a valid xz file of the size reported.
	stream := img[i : i+int(info.CompressedSize)]
	if got, err := decodeAll(stream, Limits{AllowBCJ: true}); err != nil || !bytes.Equal(got, want) {
		t.Errorf("the stream alone: %d bytes, %v", len(got), err)
	}
}

// TestBCJMaxOutput: with a BCJ filter, the output cap still gives exactly
// MaxOutput bytes, converted as in the whole output, then ErrLimit.
func TestBCJMaxOutput(t *testing.T) {
	code := machineCode(t, 200<<10)
	z := xzCompress(t, xzTool(t), code, "--x86", "--lzma2=preset=1")
	for _, max := range []int64{1, 3, 5, 4097, 100000, int64(len(code)) - 3, int64(len(code)) - 1} {
		got, _, err := decodePrefix(z, Limits{AllowBCJ: true, MaxOutput: max})
		wantErr(t, err, ErrLimit, "output exceeds the")
		if !bytes.Equal(got, code[:max]) {
			t.Errorf("MaxOutput %d: %d bytes, differing from the output's start", max, len(got))
		}
	}
	if got, _, err := decodePrefix(z, Limits{AllowBCJ: true, MaxOutput: int64(len(code))}); err != nil || !bytes.Equal(got, code) {
		t.Errorf("MaxOutput = the size: %d bytes, %v", len(got), err)
	}
}

// TestKernelFormatFixtures decodes the committed BCJ and .lzma fixtures
// (the seeds of FuzzPrefix), so that they are checked without the xz
// tool too.
func TestKernelFormatFixtures(t *testing.T) {
	mixed := mustRead(t, "mixed.bin")
	for _, c := range []struct {
		file  string
		plain []byte
	}{
		{"x86.xz", mixed[19000:23000]},
		{"arm64.xz", mixed[19000:23000]},
	} {
		data := mustRead(t, c.file)
		if got, err := decodeAll(data, Limits{AllowBCJ: true}); err != nil || !bytes.Equal(got, c.plain) {
			t.Errorf("%s: NewReader: %d bytes, %v", c.file, len(got), err)
		}
		if got, _, err := decodePrefix(append(data, 1, 2, 3), Limits{AllowBCJ: true}); err != nil || !bytes.Equal(got, c.plain) {
			t.Errorf("%s: NewPrefixReader: %d bytes, %v", c.file, len(got), err)
		}
	}
	data := mustRead(t, "text.lzma")
	if got, info, err := decodeLZMA(append(data, 1, 2, 3), Limits{}); err != nil || !bytes.Equal(got, mustRead(t, "text.txt")) || info.CompressedSize != int64(len(data)) {
		t.Errorf("text.lzma: %d bytes, %v, %+v", len(got), err, info)
	}
}
