package btf

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// benchBTF returns the raw BTF to benchmark with: the running kernel's if
// readable, else the x86_64 test kernel's.
func benchBTF(b *testing.B) []byte {
	b.Helper()
	data, err := os.ReadFile(KernelPath)
	if err != nil {
		data, err = os.ReadFile(filepath.Join(testkernel(b, "x86_64"), "vmlinux.btf"))
		if err != nil {
			b.Fatal(err)
		}
	}
	return data
}

func BenchmarkParse(b *testing.B) {
	data := benchBTF(b)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Parse(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkWriteC(b *testing.B) {
	s, err := Parse(benchBTF(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteC(context.Background(), io.Discard, s, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadAndWrite is what `kh btf` does, minus process start-up.
func BenchmarkLoadAndWrite(b *testing.B) {
	path := KernelPath
	if _, err := os.Stat(path); err != nil {
		path = filepath.Join(testkernel(b, "x86_64"), "vmlinux.btf")
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := Load(path)
		if err != nil {
			b.Fatal(err)
		}
		if err := WriteC(context.Background(), io.Discard, s, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkWriteCUnsorted is WriteC in BTF ID order.
func BenchmarkWriteCUnsorted(b *testing.B) {
	s, err := Parse(benchBTF(b))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := WriteC(context.Background(), io.Discard, s, &Options{Unsorted: true}); err != nil {
			b.Fatal(err)
		}
	}
}
