package btf_test

import (
	"context"
	"errors"
	"fmt"
	"os"

	ebtf "github.com/cilium/ebpf/btf"
	"github.com/khtool/kh/btf"
)

// Types built in Go with cilium/ebpf become a C header.
func ExampleWriteC() {
	u32 := &ebtf.Typedef{Name: "u32", Type: &ebtf.Int{Name: "unsigned int", Size: 4}}
	node := &ebtf.Struct{Name: "node", Size: 16}
	node.Members = []ebtf.Member{
		{Name: "next", Type: &ebtf.Pointer{Target: node}},
		{Name: "val", Type: u32, Offset: 64},
		{Name: "flags", Type: u32, Offset: 96, BitfieldSize: 3},
	}
	spec, err := btf.FromTypes([]ebtf.Type{node})
	if err != nil {
		fmt.Println(err)
		return
	}
	// Legacy: without bpftool v7.5's macros and kfunc block, for brevity.
	if err := btf.WriteC(context.Background(), os.Stdout, spec, &btf.Options{Legacy: true}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// #ifndef __VMLINUX_H__
	// #define __VMLINUX_H__
	//
	// #ifndef BPF_NO_PRESERVE_ACCESS_INDEX
	// #pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
	// #endif
	//
	// typedef unsigned int u32;
	//
	// struct node {
	// 	struct node *next;
	// 	u32 val;
	// 	u32 flags: 3;
	// };
	//
	// #ifndef BPF_NO_PRESERVE_ACCESS_INDEX
	// #pragma clang attribute pop
	// #endif
	//
	// #endif /* __VMLINUX_H__ */
}

// The running kernel's vmlinux.h, as `bpftool btf dump file
// /sys/kernel/btf/vmlinux format c` prints it.
func ExampleLoadKernel() {
	spec, err := btf.LoadKernel()
	if err != nil {
		fmt.Println("no kernel BTF:", err)
		return
	}
	f, err := os.CreateTemp("", "vmlinux-*.h")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := btf.WriteC(context.Background(), f, spec, nil); err != nil {
		fmt.Println(err)
	}
}

// A BPF object compiled with `clang -target bpf -g` carries BTF too.
// (Legacy, in bpftool v7.1's shape, keeps the example short.)
func ExampleLoad() {
	spec, err := btf.Load("../testdata/btf/c/arrays.o")
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := btf.WriteC(context.Background(), os.Stdout, spec, &btf.Options{Guard: "__ARRAYS_H__", Legacy: true}); err != nil {
		fmt.Println(err)
	}
	// Output:
	// #ifndef __ARRAYS_H__
	// #define __ARRAYS_H__
	//
	// #ifndef BPF_NO_PRESERVE_ACCESS_INDEX
	// #pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)
	// #endif
	//
	// typedef char buf_t[16];
	//
	// struct arrs {
	// 	int one[3];
	// 	int two[2][4];
	// 	char three[1][2][3];
	// 	int *ptrs[5];
	// 	int (*to_arr)[7];
	// 	int (*(*weird)[2])[3];
	// 	long zero[0];
	// };
	//
	// struct flex {
	// 	int n;
	// 	char data[0];
	// };
	//
	// #ifndef BPF_NO_PRESERVE_ACCESS_INDEX
	// #pragma clang attribute pop
	// #endif
	//
	// #endif /* __ARRAYS_H__ */
}

// A module's own declarations, to include after the kernel's vmlinux.h.
func ExampleLoadModule() {
	base, err := btf.LoadKernel()
	if err != nil {
		fmt.Println("no kernel BTF:", err)
		return
	}
	mod, err := btf.LoadModule("nf_tables", base)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Println("module not loaded, or no module BTF")
		return
	} else if err != nil {
		fmt.Println(err)
		return
	}
	opts := &btf.Options{SplitOnly: true, Guard: btf.GuardFor("nf_tables")}
	if err := btf.WriteC(context.Background(), os.Stdout, mod, opts); err != nil {
		fmt.Println(err)
	}
}

// Split BTF needs its base: parsed alone it is rejected with ErrNeedBase.
func ExampleParseSplit() {
	raw, err := os.ReadFile("../testdata/btf/khtest.btf") // a module's BTF
	if err != nil {
		fmt.Println(err)
		return
	}
	_, err = btf.Parse(raw)
	fmt.Println(errors.Is(err, btf.ErrNeedBase))
	// Output: true
}
