package kheaders

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/ulikunitz/xz"
)

// benchDir returns an empty directory on tmpfs for one benchmark round.
func benchDir(b *testing.B) string {
	d, err := os.MkdirTemp("/dev/shm", "kh-bench-")
	if err != nil {
		b.Skip("no /dev/shm")
	}
	return d
}

// BenchmarkExtract measures the whole pipeline (decode + create files)
// on the real x86_64 archive.
func BenchmarkExtract(b *testing.B) {
	data := readFile(b, filepath.Join(testkernel(b, "x86_64"), "kheaders.tar.xz"))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		b.StopTimer()
		dir := benchDir(b)
		b.StartTimer()
		if _, err := Extract(context.Background(), data, dir, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		removeTree(dir)
		b.StartTimer()
	}
}

// BenchmarkExtractTarOnly measures file creation alone, from a tar
// stream already in memory: the part that overlaps with decoding.
func BenchmarkExtractTarOnly(b *testing.B) {
	data := readFile(b, filepath.Join(testkernel(b, "x86_64"), "kheaders.tar.xz"))
	r, err := xz.NewReader(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	tarData, err := io.ReadAll(r)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(tarData)))
	for b.Loop() {
		b.StopTimer()
		dir := benchDir(b)
		b.StartTimer()
		if _, err := extractTar(context.Background(), bytes.NewReader(tarData), dir, DefaultLimits()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		removeTree(dir)
		b.StartTimer()
	}
}
