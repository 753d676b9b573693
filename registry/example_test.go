package registry_test

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khtool/kh/internal/regtest"
	"github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/registry"
)

// A kernel build's CI publishes the kernel's artifacts; a node (or a
// workstation) fetches them by the kernel's build ID.
func Example() {
	ctx := context.Background()
	repo, err := registry.Open(os.Getenv("KH_EXAMPLE_REGISTRY")+"/kernels/kh", registry.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir := os.Getenv("KH_EXAMPLE_KERNEL") // e.g. ../shared/testkernel/x86_64
	read := func(name string) []byte { b, _ := os.ReadFile(filepath.Join(dir, name)); return b }
	a := &registry.Artifact{
		Identity: registry.Identity{
			Release: strings.TrimSpace(string(read("release"))),
			Arch:    "x86",
			BuildID: strings.TrimSpace(string(read("build-id"))),
			Source:  "file",
		},
		Headers: read("kheaders.tar.xz"),
		BTF:     read("vmlinux.btf"),
		Config:  read("config"),
	}
	res, err := repo.Push(ctx, a, registry.PushOptions{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pushed", res.Tags[1], len(res.Layers), "layers")

	// On the node: look the build ID up, then download (and verify) the
	// layers it needs.
	e, layers, err := repo.Pull(ctx, registry.Query{BuildID: a.BuildID}, registry.Headers)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("pulled", e.Release, e.Arch, len(layers[registry.Headers]) == len(a.Headers))
	// Output:
	// pushed 6.1.192-x86 3 layers
	// pulled 6.1.192 x86 true
}

// TestMain gives Example a real registry (Debian's docker-registry) and
// the x86_64 test kernel.
func TestMain(m *testing.M) {
	os.Exit(runWithRegistry(m))
}

func runWithRegistry(m *testing.M) int {
	root, rerr := testkernel.Root()
	dir, err := os.MkdirTemp("", "kh-registry-example-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	var reg *regtest.Registry
	if rerr == nil {
		reg, err = regtest.Run(dir, regtest.Options{})
	}
	if rerr != nil || err != nil {
		if testkernel.Strict() {
			fmt.Fprintf(os.Stderr, "KH_STRICT=1 and the example's prerequisites are missing: %v %v\n", rerr, err)
			return 1
		}
		// Examples cannot skip: run only the tests, which skip.
		fmt.Fprintf(os.Stderr, "skipping Example (no registry or test kernels): %v %v\n", rerr, err)
		flag.Parse()
		if f := flag.Lookup("test.run"); f != nil && f.Value.String() == "" {
			flag.Set("test.run", "^Test")
		}
		return m.Run()
	}
	defer reg.Stop()
	os.Setenv("KH_EXAMPLE_REGISTRY", reg.Addr)
	os.Setenv("KH_EXAMPLE_KERNEL", filepath.Join(root, "x86_64"))
	return m.Run()
}
