package vmtest_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/khtool/kh/internal/vmtest"
)

// Example runs kh in an arm64 guest without the testing helpers: Start,
// Do and Close are what Boot, Run and the cleanup use. It needs qemu and
// the test kernels, so it is compiled but not run; TestDocExample runs the
// same scenario.
func Example() {
	var h vmtest.Harness
	defer h.Close()
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "vmtest-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	vm, err := h.Start(ctx, vmtest.Config{Arch: vmtest.ARM64}, dir)
	if err != nil {
		log.Fatal(err)
	}
	defer vm.Close()
	reply, err := vm.Do(ctx, vmtest.Step{
		Op:       vmtest.OpRun,
		Commands: []vmtest.Command{{Args: []string{"kh", "--version"}}},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s", reply.Results[0].Stdout)
}

// ExampleDigestPath digests a host tree, as VM.Digest does a guest tree.
func ExampleDigestPath() {
	dir, err := os.MkdirTemp("", "digest-example-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "include/linux"), 0o755)
	os.WriteFile(filepath.Join(dir, "include/linux/kh.h"), []byte("#define KH 1\n"), 0o644)
	os.Symlink("include/linux", filepath.Join(dir, "linux"))

	d, err := vmtest.DigestPath(dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%s", d.Listing)
	// Output:
	// d "include"
	// d "include/linux"
	// f "include/linux/kh.h" 3f36cb2cd18bb1e5fea051da86784b5b7516b7e71912e9d8c0678c187effd93c
	// l "linux" -> "include/linux"
}
