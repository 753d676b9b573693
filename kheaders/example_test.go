package kheaders_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/khtool/kh/kheaders"
)

// Fetch a header tree from an archive pulled off a device. Without From,
// Fetch finds the running kernel's own headers.
func ExampleFetch() {
	cacheDir, err := os.MkdirTemp("", "kh-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer kheaders.Clean(context.Background(), kheaders.Options{CacheDir: cacheDir}, true)
	defer os.RemoveAll(cacheDir)

	tree, err := kheaders.Fetch(context.Background(), kheaders.Options{
		From:      "../testdata/kheaders-mini.tar.xz",
		CacheDir:  cacheDir,
		AllowDisk: true, // the example's temporary directory may not be tmpfs
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(filepath.Base(tree.Path), tree.Release, tree.Arch, tree.Files, tree.Source.Kind)
	// Output: 6.1.0-mini-a3f0f17e1301bff2 6.1.0-mini x86 6 file
}

// Extract an archive into a directory of your own; the archive is
// treated as hostile and checked completely.
func ExampleExtract() {
	data, err := os.ReadFile("../testdata/kheaders-mini.tar.xz")
	if err != nil {
		log.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "kh-extract-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	st, err := kheaders.Extract(context.Background(), data, dir, kheaders.DefaultLimits())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s %s: %d files, %d directories, %d symlinks\n", st.Release, st.Arch, st.Files, st.Dirs, st.Symlinks)
	// Output: 6.1.0-mini x86: 5 files, 11 directories, 1 symlinks
}

// ReadArchive reads a kheaders.tar.xz or takes the archive out of a
// kheaders module file without loading the module.
func ExampleReadArchive() {
	a, err := kheaders.ReadArchive("../testdata/kheaders-mini.tar.xz")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(a.Source.Kind, len(a.Data), a.Digest()[:16])
	// Output: file 640 a3f0f17e1301bff2
}
