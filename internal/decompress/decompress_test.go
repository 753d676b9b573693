package decompress

import (
	"bytes"
	"compress/gzip"
	"errors"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
	"github.com/ulikunitz/xz"
)

func compress(t *testing.T, f Format, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	switch f {
	case Gzip:
		w := gzip.NewWriter(&b)
		w.Write(data)
		w.Close()
	case XZ:
		w, err := xz.NewWriter(&b)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
		w.Close()
	case Zstd:
		w, _ := zstd.NewWriter(&b)
		w.Write(data)
		w.Close()
	}
	return b.Bytes()
}

func TestRoundTrip(t *testing.T) {
	data := bytes.Repeat([]byte("kernel headers "), 1000)
	for _, f := range []Format{Gzip, XZ, Zstd} {
		c := compress(t, f, data)
		if got := Sniff(c); got != f {
			t.Fatalf("Sniff = %q, want %q", got, f)
		}
		out, err := Decode(f, c, int64(len(data)))
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("%s: Decode = %d bytes, %v", f, len(out), err)
		}
		if _, err := Decode(f, c, int64(len(data))-1); !errors.Is(err, ErrTooLarge) {
			t.Errorf("%s: cap not enforced: %v", f, err)
		}
		if _, err := Decode(f, c[:len(c)-5], 1<<20); err == nil {
			t.Errorf("%s: truncated stream accepted", f)
		}
		if _, err := Decode(f, append(c[:len(c):len(c)], "junk"...), 1<<20); err == nil {
			t.Errorf("%s: trailing garbage accepted", f)
		}
	}
	if Sniff([]byte("\x7fELF")) != None {
		t.Error("ELF sniffed as compressed")
	}
}

// TestDecodeXZ: Decode reads xz with internal/xz: BCJ filters and stream
// padding are accepted, the index's size counts against the cap before
// anything is decoded, and errors are one line with one "xz: " prefix.
func TestDecodeXZ(t *testing.T) {
	data := bytes.Repeat([]byte("\xe8\x00\x01\x02\x03kernel text "), 5000)
	for _, args := range [][]string{{"--x86", "--lzma2=preset=1"}, {"--check=sha256", "-1"}} {
		z := tool(t, data, "xz", append(args, "-c")...)
		out, err := Decode(XZ, append(z, 0, 0, 0, 0), 1<<20)
		if err != nil || !bytes.Equal(out, data) {
			t.Fatalf("%v: %d bytes, %v", args, len(out), err)
		}
		if _, err := Decode(XZ, z, int64(len(data)-1)); !errors.Is(err, ErrTooLarge) || !strings.HasPrefix(err.Error(), "xz: ") {
			t.Errorf("%v: cap: %v", args, err)
		}
		bad := bytes.Clone(z)
		bad[len(bad)/2] ^= 1
		if _, err := Decode(XZ, bad, 1<<20); err == nil || strings.HasPrefix(err.Error(), "xz: xz:") {
			t.Errorf("%v: corrupt: %v", args, err)
		}
		// Head decodes only the start of the stream; what follows it is
		// not read.
		if h, err := Head(XZ, append(z, "junk"...), 5); err != nil || !bytes.Equal(h, data[:5]) {
			t.Errorf("%v: Head = %q, %v", args, h, err)
		}
	}
}
