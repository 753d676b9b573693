package kconfig

import (
	"context"
	"os"
	"path/filepath"
	"testing"
)

// BenchmarkExtract measures finding the configuration in the test
// kernels' images (the x86_64 one is an xz-compressed bzImage).
func BenchmarkExtract(b *testing.B) {
	dir := testkernel(b)
	for _, a := range arches {
		data, err := os.ReadFile(filepath.Join(dir, a.name, a.image))
		if err != nil {
			b.Fatal(err)
		}
		b.Run(a.image, func(b *testing.B) {
			b.SetBytes(int64(len(data)))
			for b.Loop() {
				if _, _, err := Extract(context.Background(), data); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
