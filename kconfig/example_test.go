package kconfig_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/khtool/kh/kconfig"
)

func ExampleParse() {
	c, err := kconfig.Parse([]byte("CONFIG_KPROBES=y\nCONFIG_BTRFS_FS=m\n# CONFIG_KASAN is not set\nCONFIG_HZ=250\nCONFIG_LOCALVERSION=\"-kh\"\n"))
	if err != nil {
		log.Fatal(err)
	}
	v, ok := c.Get("KPROBES")
	fmt.Println(v, ok)
	fmt.Println(c.Enabled("CONFIG_BTRFS_FS"), c.Enabled("KASAN"))
	hz, _ := c.Get("HZ")
	s, _ := c.String("LOCALVERSION")
	fmt.Println(hz, s)
	// Output:
	// y true
	// true false
	// 250 -kh
}

func ExampleRunning() {
	// The running kernel's configuration: /proc/config.gz, else
	// /boot/config-$(uname -r), else the configs module on disk.
	c, err := kconfig.Running(context.Background(), kconfig.Options{})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Source, c.Enabled("BPF_SYSCALL"))
}

func ExampleOpen() {
	// A kernel image: the configuration is found inside the compressed
	// kernel, as scripts/extract-ikconfig would find it.
	c, err := kconfig.Open(context.Background(), filepath.Join("..", "testdata", "kconfig", "image.xz"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Source.Kind, c.Source.Detail)
	fmt.Println(c.Heading())
	// Output:
	// image IKCFG_ST at 0x1480 in the xz-compressed stream at 0x14d
	// Linux/x86 6.1.192 Kernel Configuration
}

func ExampleOpenTree() {
	dir, _ := os.MkdirTemp("", "tree")
	defer os.RemoveAll(dir)
	os.MkdirAll(filepath.Join(dir, "include", "generated"), 0o755)
	os.WriteFile(filepath.Join(dir, "include", "generated", "autoconf.h"),
		[]byte("#define CONFIG_KPROBES 1\n#define CONFIG_BTRFS_FS_MODULE 1\n"), 0o644)

	c, err := kconfig.OpenTree(dir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.Source.Detail, c.Map())
	// Output:
	// include/generated/autoconf.h map[CONFIG_BTRFS_FS:m CONFIG_KPROBES:y]
}

func ExampleDiff() {
	running, _ := kconfig.Parse([]byte("CONFIG_A=y\nCONFIG_B=m\nCONFIG_C=y\n"))
	headers, _ := kconfig.ParseAutoconf([]byte("#define CONFIG_A 1\n#define CONFIG_B 1\n#define CONFIG_D 1\n"))
	for _, ch := range kconfig.Diff(running, headers) {
		fmt.Printf("%s %q -> %q\n", ch.Name, ch.Old, ch.New)
	}
	// Output:
	// CONFIG_B "m" -> "y"
	// CONFIG_C "y" -> ""
	// CONFIG_D "" -> "y"
}

func ExampleConfig_Autoconf() {
	c, _ := kconfig.Parse([]byte("#\n# Linux/x86 6.1.0 Kernel Configuration\n#\nCONFIG_KPROBES=y\nCONFIG_BTRFS_FS=m\n# CONFIG_KASAN is not set\nCONFIG_HZ=250\n"))
	// Symbols come in the kernel build's order (its symbol hash table).
	c.Autoconf(os.Stdout)
	// Output:
	// /*
	//  * Automatically generated file; DO NOT EDIT.
	//  * Linux/x86 6.1.0 Kernel Configuration
	//  */
	// #define CONFIG_KPROBES 1
	// #define CONFIG_BTRFS_FS_MODULE 1
	// #define CONFIG_HZ 250
}
