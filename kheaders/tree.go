package kheaders

import "github.com/khtool/kh/cache"

// Tree is a header tree ready for use: a cache.Tree (or one used in place).
type Tree = cache.Tree

// Manifest describes a header tree; see cache.Manifest.
type Manifest = cache.Manifest

// Source names where a tree came from.
type Source = cache.Source

// ManifestSchema is the version of the Manifest JSON format.
const ManifestSchema = cache.ManifestSchema

// ManifestName is the file, at the root of every cached tree, that holds
// its Manifest.
const ManifestName = cache.ManifestName

// Kind says what a tree holds.
type Kind = cache.Kind

const (
	// KindHeaders is a kernel header tree with the in-tree layout that
	// BCC, bpftrace and clang expect: include/, arch/SRCARCH/include/ and
	// the generated headers (include/generated/autoconf.h, ...).
	KindHeaders Kind = "kheaders"
	// KindBTF is a tree made from the kernel's BTF for kernels without a
	// kheaders source: BTFHeader (vmlinux.h) and BTFConfigHeader (the
	// kernel's CONFIG_ values as #defines). It serves CO-RE BPF programs,
	// not BCC, which needs real headers.
	KindBTF Kind = "btf"
)

// Files of a KindBTF tree, relative to its root.
const (
	BTFHeader       = "vmlinux.h"
	BTFConfigHeader = "kconfig.h"
)

// DefinesHeader is the header, relative to a KindHeaders tree's root,
// that kh adds to the trees it extracts: the defines a BPF program needs
// that are string literals (KBUILD_MODNAME "kh"), which a command line
// printed for $(kh cflags) cannot carry (the shell keeps the quotes).
const DefinesHeader = "include/generated/kh_defines.h"

// definesHeader is DefinesHeader's content.
const definesHeader = `/* Written by kh: string-literal defines for BPF programs built against
 * this tree (kh cflags -include's it; a shell would keep quotes in $(...)). */
#ifndef KBUILD_MODNAME
#define KBUILD_MODNAME "kh"
#endif
`

// SourceKind says where a tree's contents came from.
type SourceKind = cache.SourceKind

const (
	// SourceFile is an archive (kheaders.tar.xz) given by path.
	SourceFile SourceKind = "file"
	// SourceModule is a kheaders module file (.ko, .ko.xz, .ko.zst,
	// .ko.gz) whose embedded archive was read without loading it.
	SourceModule SourceKind = "module"
	// SourceSysfs is /sys/kernel/kheaders.tar.xz of the running kernel.
	SourceSysfs SourceKind = "sysfs"
	// SourceDir is a header tree already on disk, used in place: a
	// directory given by path or /lib/modules/RELEASE/build.
	SourceDir SourceKind = "dir"
	// SourceBTF is the running kernel's BTF (/sys/kernel/btf/vmlinux).
	SourceBTF SourceKind = "btf"
)
