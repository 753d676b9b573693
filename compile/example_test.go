package compile_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/khtool/kh/compile"
	"github.com/khtool/kh/kheaders"
)

// CFlags of a BTF tree: a CO-RE build with -target bpfel.
func ExampleCFlags() {
	dir, _ := os.MkdirTemp("", "kh-example-")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, kheaders.BTFHeader), []byte("/* bpftool btf dump file /sys/kernel/btf/vmlinux format c */\n"), 0o644)
	os.WriteFile(filepath.Join(dir, kheaders.BTFConfigHeader), []byte("#define CONFIG_64BIT 1\n"), 0o644)
	tree := &kheaders.Tree{Manifest: kheaders.Manifest{Path: dir, Kind: kheaders.KindBTF, Release: "6.1.192", Arch: "arm64"}}

	flags, err := compile.CFlags(tree, "")
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.ReplaceAll(strings.Join(flags, " "), dir, "$TREE"))
	// Output:
	// -target bpfel -I$TREE -include $TREE/kconfig.h -D__TARGET_ARCH_arm64
}

// CFlags of an arm64 header tree, on any host: the target is the
// kernel's architecture.
func ExampleCFlags_headers() {
	dir, _ := os.MkdirTemp("", "kh-example-")
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "include/linux"), 0o755)
	os.MkdirAll(filepath.Join(dir, "include/generated"), 0o755)
	os.WriteFile(filepath.Join(dir, "include/linux/kconfig.h"), []byte("#include <generated/autoconf.h>\n"), 0o644)
	os.WriteFile(filepath.Join(dir, "include/generated/autoconf.h"), []byte("#define CONFIG_64BIT 1\n"), 0o644)
	tree := &kheaders.Tree{Manifest: kheaders.Manifest{Path: dir, Kind: kheaders.KindHeaders, Release: "6.1.192", Arch: "arm64"}}

	flags, err := compile.CFlags(tree, "")
	if err != nil {
		panic(err)
	}
	for _, f := range flags[:10] {
		fmt.Println(strings.ReplaceAll(f, dir, "$TREE"))
	}
	// Output:
	// --target=aarch64-linux-gnu
	// -nostdinc
	// -I$TREE/arch/arm64/include
	// -I$TREE/arch/arm64/include/generated
	// -I$TREE/include
	// -I$TREE/arch/arm64/include/uapi
	// -I$TREE/arch/arm64/include/generated/uapi
	// -I$TREE/include/uapi
	// -I$TREE/include/generated/uapi
	// -include
}
