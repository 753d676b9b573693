package decompress

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/khtool/kh/internal/testkernel"
)

// sample returns test data that looks a little like a kernel: text,
// x86-like call instructions, zeros and noise.
func sample(n int) []byte {
	r := rand.New(rand.NewPCG(1, 2))
	var b bytes.Buffer
	for b.Len() < n {
		switch r.IntN(4) {
		case 0:
			b.WriteString("CONFIG_SOMETHING=y\n# CONFIG_OTHER is not set\n")
		case 1:
			b.Write([]byte{0xe8, byte(r.IntN(256)), byte(r.IntN(256)), 0, 0, 0x48, 0x89, 0xc7})
		case 2:
			b.Write(make([]byte, r.IntN(64)))
		default:
			for range r.IntN(32) {
				b.WriteByte(byte(r.IntN(256)))
			}
		}
	}
	return b.Bytes()[:n]
}

// tool compresses data with an external compressor, or skips.
func tool(t *testing.T, data []byte, name string, args ...string) []byte {
	t.Helper()
	if _, err := exec.LookPath(name); err != nil {
		testkernel.Skip(t, "%s not installed (Debian: xz-utils lzop lz4 zstd bzip2)", name)
	}
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(data)
	var errb bytes.Buffer
	cmd.Stderr = &errb
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %v: %v: %s", name, args, err, errb.String())
	}
	return out
}

func readAll(t *testing.T, f Format, data []byte, max int64) ([]byte, error) {
	t.Helper()
	r, err := NewReader(f, data, max)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

func TestNewReaderTools(t *testing.T) {
	data := sample(3 << 19)
	for _, tc := range []struct {
		f    Format
		name string
		args string
	}{
		{Gzip, "gzip", "-9 -c"},
		{XZ, "xz", "--check=crc32 --lzma2=dict=1MiB -c"},
		{XZ, "xz", "--check=crc64 --x86 --lzma2 -c"},
		{XZ, "xz", "--check=sha256 --powerpc --lzma2 -c"},
		{XZ, "xz", "--check=none --arm --lzma2 -c"},
		{XZ, "xz", "--armthumb --lzma2 -c"},
		{XZ, "xz", "--sparc --lzma2=preset=1 -c"},
		{XZ, "xz", "-T2 --block-size=500000 --x86 --lzma2 -c"},
		{XZ, "xz", "-0 -c"},
		{LZMA, "lzma", "-9 -c"},
		{LZMA, "lzma", "-1 -c"},
		{LZ4, "lz4", "-l -9 - -"},
		{LZO, "lzop", "-9 -c"},
		{LZO, "lzop", "-1 -c"},
		{LZO, "lzop", "-3 --crc32 -c"},
		{Zstd, "zstd", "-19 -c"},
		{Bzip2, "bzip2", "-9 -c"},
	} {
		t.Run(tc.name+" "+tc.args, func(t *testing.T) {
			z := tool(t, data, tc.name, strings.Fields(tc.args)...)
			if got := Sniff(z); got != tc.f || !HeaderOK(tc.f, z) {
				t.Fatalf("Sniff = %q, HeaderOK = %v", got, HeaderOK(tc.f, z))
			}
			// The kernel appends its size: trailing bytes are ignored.
			got, err := readAll(t, tc.f, append(z, 0x00, 0x00, 0x30, 0x00), 1<<30)
			if tc.f == Zstd || tc.f == Bzip2 || tc.f == LZ4 {
				// These readers look for another stream after the first
				// and report the size bytes as garbage after the data.
				if err != nil {
					got, err = readAll(t, tc.f, z, 1<<30)
				}
			}
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("decoded %d bytes, err %v", len(got), err)
			}
			if _, err := readAll(t, tc.f, z, int64(len(data))-1); !errors.Is(err, ErrTooLarge) {
				t.Errorf("cap not enforced: %v", err)
			}
			if got, err := readAll(t, tc.f, z[:len(z)*2/3], 1<<30); err == nil {
				t.Errorf("truncated stream gave %d bytes and no error", len(got))
			} else if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
		})
	}
}

func TestLZOEdgeCases(t *testing.T) {
	for _, n := range []int{0, 1, 3, 4, 17, 300, 256 << 10, 256<<10 + 1} {
		data := sample(n)
		z := tool(t, data, "lzop", "-9", "-c")
		got, err := readAll(t, LZO, z, 1<<30)
		if err != nil || !bytes.Equal(got, data) {
			t.Errorf("%d bytes: got %d, %v", n, len(got), err)
		}
	}
	// Runs of zeros and long literal runs.
	data := append(append(make([]byte, 100000), sample(5000)...), bytes.Repeat([]byte("ab"), 70000)...)
	z := tool(t, data, "lzop", "-1", "-c")
	if got, err := readAll(t, LZO, z, 1<<30); err != nil || !bytes.Equal(got, data) {
		t.Errorf("zeros: %v", err)
	}
	// A flipped byte in a block is caught by the block checksum or the
	// decoder.
	z[len(z)/2] ^= 0x55
	if _, err := readAll(t, LZO, z, 1<<30); err == nil {
		t.Error("corrupt lzop accepted")
	}
}

// FuzzNewReader feeds arbitrary bytes to every decoder: no panic, no
// output beyond the cap.
func FuzzNewReader(f *testing.F) {
	data := sample(4000)
	for _, c := range [][]string{{"xz", "--x86", "--lzma2", "-c"}, {"lzma", "-c"}, {"lzop", "-c"}, {"lz4", "-l", "-", "-"}} {
		if _, err := exec.LookPath(c[0]); err != nil {
			continue
		}
		cmd := exec.Command(c[0], c[1:]...)
		cmd.Stdin = bytes.NewReader(data)
		if z, err := cmd.Output(); err == nil {
			f.Add(z)
		}
	}
	f.Add([]byte("\x5d\x00\x00\x80\x00\xff\xff\xff\xff\xff\xff\xff\xff\x00\x01\x02"))
	f.Fuzz(func(t *testing.T, z []byte) {
		const max = 1 << 20
		for _, fm := range Formats() {
			r, err := NewReader(fm, z, max)
			if err != nil {
				continue
			}
			n, _ := io.Copy(io.Discard, r)
			r.Close()
			if n > max {
				t.Fatalf("%s: %d bytes beyond the cap", fm, n)
			}
		}
	})
}
