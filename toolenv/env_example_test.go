package toolenv_test

import (
	"fmt"
	"strings"

	"github.com/khtool/kh/kheaders"
	"github.com/khtool/kh/toolenv"
)

// The environment for a header tree, as sh commands for eval.
func ExampleFormat() {
	tree := &kheaders.Tree{Manifest: kheaders.Manifest{
		Path: "/run/kh/6.1.192-b39c262a18360de1", Kind: kheaders.KindHeaders,
		Release: "6.1.192", Arch: "x86",
	}}
	text, err := toolenv.Format(toolenv.Vars(tree), toolenv.ShellSh)
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
// here in fish syntax, and Warnings says why.
func ExampleVars_btf() {
	tree := &kheaders.Tree{Manifest: kheaders.Manifest{
		Path: "/run/kh/btf 6.1", Kind: kheaders.KindBTF, Release: "6.1.192", Arch: "arm64",
	}}
	for _, v := range toolenv.Vars(tree) {
		if v.Unset {
			fmt.Printf("%s: unset (%s)\n", v.Name, v.Reader)
		}
	}
	text, _ := toolenv.Format(toolenv.Vars(tree)[3:4], toolenv.ShellFish)
	fmt.Print(text)
	fmt.Println(len(toolenv.Warnings(tree, toolenv.Host{Release: "6.1.192", Arch: "arm64"})), "warning")
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
	env := toolenv.Environ([]string{"HOME=/root", "BCC_KERNEL_SOURCE=/old"}, toolenv.Vars(tree))
	fmt.Println(strings.Join(env[:3], "\n"))
	// Output:
	// HOME=/root
	// BCC_KERNEL_SOURCE=/t
	// BPFTRACE_KERNEL_SOURCE=/t
}
