package decompress

import (
	"bytes"
	"compress/gzip"
	"errors"
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
