package xz

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	ulikunitz "github.com/ulikunitz/xz"
)

// decodeAll decodes data with NewReader and WriteTo.
func decodeAll(data []byte, lim Limits) ([]byte, error) {
	r, err := NewReader(data, lim)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	_, err = r.WriteTo(&b)
	return b.Bytes(), err
}

// decodeReads decodes data with NewParallelReader (the checks on a
// second goroutine) and Read calls of n bytes.
func decodeReads(data []byte, lim Limits, n int) ([]byte, error) {
	r, err := NewParallelReader(data, lim)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return readAllBy(r, n)
}

// readAllBy decodes everything r returns with Read calls of n bytes.
func readAllBy(r io.Reader, n int) ([]byte, error) {
	var out []byte
	buf := make([]byte, n)
	for {
		k, err := r.Read(buf)
		out = append(out, buf[:k]...)
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// drain decodes everything r returns with WriteTo, and returns its Info
// after that (r, err are a constructor's results).
func drain(r *Reader, err error) ([]byte, Info, error) {
	if err != nil {
		return nil, Info{}, err
	}
	defer r.Close()
	var b bytes.Buffer
	_, err = r.WriteTo(&b)
	return b.Bytes(), r.Info(), err
}

// flipStep is the stride through a fixture of n bytes at which the
// byte-flip and truncation tests try every offset: every byte of the
// small fixtures, a prime stride through larger ones, a longer one
// with -short.
func flipStep(n int) int {
	switch {
	case testing.Short():
		return 37
	case n > 16<<10:
		return 7
	}
	return 1
}

// decodeUlikunitz decodes data with github.com/ulikunitz/xz.
func decodeUlikunitz(data []byte) ([]byte, error) {
	r, err := newUlikunitz(data)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func newUlikunitz(data []byte) (io.Reader, error) {
	return ulikunitz.ReaderConfig{SingleStream: true}.NewReader(bytes.NewReader(data))
}

func mustRead(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

var fixtures = []struct {
	file, plain, check string
	blocks             int
	dict               uint32
}{
	{"empty.xz", "", "crc64", 0, 0},
	{"text-crc64.xz", "text.txt", "crc64", 1, 8 << 20},
	{"text-kmod.xz", "text.txt", "crc32", 1, 1 << 20},
	{"text-sha256.xz", "text.txt", "sha256", 1, 256 << 10},
	{"text-none.xz", "text.txt", "none", 1, 64 << 20},
	{"mixed-lp2.xz", "mixed.bin", "crc64", 1, 8 << 20},
	{"mixed-blocks.xz", "mixed.bin", "crc64", 4, 8 << 20},
	{"random.xz", "random.bin", "crc64", 1, 8 << 20},
}

func TestFixtures(t *testing.T) {
	for _, f := range fixtures {
		t.Run(f.file, func(t *testing.T) {
			data := mustRead(t, f.file)
			var want []byte
			if f.plain != "" {
				want = mustRead(t, f.plain)
			}
			info, err := Inspect(data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			wantInfo := Info{Check: f.check, Blocks: f.blocks, UncompressedSize: int64(len(want)),
				CompressedSize: int64(len(data)), MaxDict: f.dict}
			if info != wantInfo {
				t.Errorf("Inspect = %+v, want %+v", info, wantInfo)
			}
			got, err := decodeAll(data, Limits{})
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("WriteTo: %d bytes, %v; want %d bytes", len(got), err, len(want))
			}
			for _, n := range []int{1, 7, 4096, 1 << 20} {
				got, err := decodeReads(data, Limits{}, n)
				if err != nil || !bytes.Equal(got, want) {
					t.Fatalf("Read(%d): %d bytes, %v; want %d bytes", n, len(got), err, len(want))
				}
			}
			r, err := NewReader(data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			r.WriteTo(io.Discard)
			if limit := 2*int(f.dict) + 1<<20; len(r.win) > limit {
				t.Errorf("window is %d bytes, more than 2 x dict + 1 MiB = %d", len(r.win), limit)
			}
		})
	}
}

// TestEncoderRoundTrip decodes streams of random LZMA operations made by
// the test encoder: every literal, match and rep kind, all distance
// slots reachable in the history, several lc/lp/pb, several chunks.
func TestEncoderRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for iter := range 60 {
		props := byte(0x5d)
		if iter%3 == 1 {
			props = byte(0 + 2*9 + 0*45) // lc=0 lp=2 pb=0
		} else if iter%3 == 2 {
			props = byte(4 + 0*9 + 4*45) // lc=4 lp=0 pb=4
		}
		var lzma2 []byte
		var plain []byte
		e := newLZMAEncoder(props)
		nchunks := 1 + rng.IntN(3)
		for c := range nchunks {
			chunkStart := len(e.hist)
			for len(e.hist)-chunkStart < 3000+rng.IntN(20000) {
				avail := len(e.hist) - e.start
				switch k := rng.IntN(10); {
				case avail == 0 || k < 4:
					e.literal(byte(rng.IntN(8)) + 'a')
				case k < 7:
					dist := uint32(rng.IntN(min(avail, 1<<(1+rng.IntN(20)))))
					e.match(dist, 2+rng.IntN(maxMatch-1))
				case k < 8:
					e.rep(0, 1)
				default:
					e.rep(rng.IntN(4), 2+rng.IntN(40))
				}
				// Reps may point before the start after a reset; keep
				// them valid by only using them when in range.
				for i, r := range e.reps {
					if int(r) >= len(e.hist)-e.start {
						e.reps[i] = 0
					}
				}
			}
			packed := e.rc.flush()
			control := byte(0x80)
			if c == 0 {
				control = 0xe0
			}
			lzma2 = append(lzma2, lzma2Chunk(control, props, len(e.hist)-chunkStart, packed)...)
			e.rc = newRCEncoder()
		}
		lzma2 = append(lzma2, 0)
		plain = e.hist
		data := writeXZ(checkCRC64, []testBlock{{lzma2: lzma2, plain: plain, dictProp: 20}}, -1)
		got, err := decodeAll(data, Limits{})
		if err != nil || !bytes.Equal(got, plain) {
			t.Fatalf("iter %d: got %d bytes, %v; want %d bytes", iter, len(got), err, len(plain))
		}
		if u, err := decodeUlikunitz(data); err != nil || !bytes.Equal(u, plain) {
			t.Fatalf("iter %d: ulikunitz disagrees with the test encoder: %v", iter, err)
		}
	}
}

func TestRealArchives(t *testing.T) {
	for arch, path := range realArchives(t) {
		t.Run(arch, func(t *testing.T) {
			data := readFile(t, path)
			info, err := Inspect(data, Limits{RequireCheck: true})
			if err != nil {
				t.Fatal(err)
			}
			if info.Check != "crc64" || info.Blocks != 1 || info.MaxDict != 8<<20 || info.CompressedSize != int64(len(data)) {
				t.Errorf("Inspect = %+v", info)
			}
			got, err := decodeAll(data, Limits{RequireCheck: true, MaxOutput: info.UncompressedSize})
			if err != nil {
				t.Fatal(err)
			}
			want, err := decodeUlikunitz(data)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatal("output differs from ulikunitz/xz")
			}
			if _, err := decodeAll(data, Limits{MaxOutput: info.UncompressedSize - 1}); !errors.Is(err, ErrLimit) {
				t.Errorf("MaxOutput one byte short: %v, want ErrLimit", err)
			}
		})
	}
}

// wantErr checks that err wraps kind and that its message contains msg,
// is one line and starts with "xz: ".
func wantErr(t *testing.T, err, kind error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %v %q", kind, msg)
	}
	s := err.Error()
	if !errors.Is(err, kind) || !strings.Contains(s, msg) || !strings.HasPrefix(s, "xz: ") && !strings.HasPrefix(s, "lzma: ") || strings.Contains(s, "\n") {
		t.Fatalf("error %q (%T), want %v containing %q", s, err, kind, msg)
	}
}

func TestErrorsAreClassified(t *testing.T) {
	wantErr(t, errTruncated(), ErrTruncated, "truncated input")
	wantErr(t, blockError(3, corruptf("x")), ErrCorrupt, "block 3: x")
	if got := dictString(1<<32 - 1); got != "4 GiB" {
		t.Errorf("dictString(max) = %q", got)
	}
	if got := sizeString(3 << 20); got != "3 MiB" {
		t.Errorf("sizeString = %q", got)
	}
}
