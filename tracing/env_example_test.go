package tracing_test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/khtool/kh/kheaders"
	"github.com/khtool/kh/tracing"
)

// The environment for a header tree, as sh commands for eval.
func ExampleFormatEnv() {
	tree := &kheaders.Tree{Manifest: kheaders.Manifest{
		Path: "/run/kh/6.1.192-b39c262a18360de1", Kind: kheaders.KindHeaders,
		Release: "6.1.192", Arch: "x86",
	}}
	text, err := tracing.FormatEnv(tracing.EnvVars(tree), tracing.ShellSh)
	if err != nil {
		panic(err)
	}
	fmt.Print(text)
	// Output:
	// export BCC_KERNEL_SOURCE=/run/kh/6.1.192-b39c262a18360de1;
	// export BPFTRACE_KERNEL_SOURCE=/run/kh/6.1.192-b39c262a18360de1;
	// export BPFTRACE_KERNEL_BUILD=/run/kh/6.1.192-b39c262a18360de1;
	// export KH_HEADERS=/run/kh/6.1.192-b39c262a18360de1;
	// export KH_KIND=kheaders;
	// export KH_RELEASE=6.1.192;
	// export KH_ARCH=x86;
}

// A BTF tree is no use to BCC or bpftrace: their variables are unset,
// here in fish syntax, and EnvWarnings says why.
func ExampleEnvVars_btf() {
	tree := &kheaders.Tree{Manifest: kheaders.Manifest{
		Path: "/run/kh/btf 6.1", Kind: kheaders.KindBTF, Release: "6.1.192", Arch: "arm64",
	}}
	for _, v := range tracing.EnvVars(tree) {
		if v.Unset {
			fmt.Printf("%s: unset (%s)\n", v.Name, v.Reader)
		}
	}
	text, _ := tracing.FormatEnv(tracing.EnvVars(tree)[3:4], tracing.ShellFish)
	fmt.Print(text)
	fmt.Println(len(tracing.EnvWarnings(tree, tracing.Host{Release: "6.1.192", Arch: "arm64"})), "warning")
	// Output:
	// BCC_KERNEL_SOURCE: unset (BCC: kernel header tree (needs include/linux/kconfig.h))
	// BPFTRACE_KERNEL_SOURCE: unset (bpftrace: kernel source include directories)
	// BPFTRACE_KERNEL_BUILD: unset (bpftrace: kernel build (generated) include directories)
	// set -gx KH_HEADERS '/run/kh/btf 6.1';
	// 1 warning
}

// Environ applies the variables to an environment, for exec.Cmd.Env or
// syscall.Exec.
func ExampleEnviron() {
	tree := &kheaders.Tree{Manifest: kheaders.Manifest{Path: "/t", Kind: kheaders.KindHeaders, Release: "6.1.192", Arch: "x86"}}
	env := tracing.Environ([]string{"HOME=/root", "BCC_KERNEL_SOURCE=/old"}, tracing.EnvVars(tree))
	fmt.Println(strings.Join(env[:3], "\n"))
	// Output:
	// HOME=/root
	// BCC_KERNEL_SOURCE=/t
	// BPFTRACE_KERNEL_SOURCE=/t
}

// CFlags of a BTF tree: a CO-RE build with -target bpfel.
func ExampleCFlags() {
	dir, _ := os.MkdirTemp("", "kh-example-")
	defer os.RemoveAll(dir)
	os.WriteFile(filepath.Join(dir, kheaders.BTFHeader), []byte("/* bpftool btf dump file /sys/kernel/btf/vmlinux format c */\n"), 0o644)
	os.WriteFile(filepath.Join(dir, kheaders.BTFConfigHeader), []byte("#define CONFIG_64BIT 1\n"), 0o644)
	tree := &kheaders.Tree{Manifest: kheaders.Manifest{Path: dir, Kind: kheaders.KindBTF, Release: "6.1.192", Arch: "arm64"}}

	flags, err := tracing.CFlags(tree, "")
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.ReplaceAll(tracing.JoinSh(flags), dir, "$TREE"))
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

	flags, err := tracing.CFlags(tree, "")
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
