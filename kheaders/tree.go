package kheaders

import "time"

// Kind says what a tree holds.
type Kind string

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

// SourceKind says where a tree's contents came from.
type SourceKind string

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

// Source names where a tree came from.
type Source struct {
	Kind     SourceKind `json:"kind"`
	Location string     `json:"location"`
}

// ManifestSchema is the version of the Manifest JSON format.
const ManifestSchema = 1

// Manifest describes a header tree. A cached tree keeps its manifest in
// the file ManifestName at its root; `kh fetch -o json` prints it.
type Manifest struct {
	Schema  int    `json:"schema"`
	Path    string `json:"path"`    // absolute path of the tree
	Kind    Kind   `json:"kind"`    // what the tree holds
	Release string `json:"release"` // kernel release (uname -r) the tree belongs to
	Arch    string `json:"arch"`    // kernel SRCARCH: x86, arm64, ...
	Source  Source `json:"source"`
	// SHA256 is the hex digest of the archive (or BTF blob) the tree was
	// made from; empty for a tree used in place.
	SHA256  string    `json:"sha256,omitempty"`
	Files   int       `json:"files"` // regular files in the tree
	Bytes   int64     `json:"bytes"` // their total size
	Created time.Time `json:"created"`
}

// ManifestName is the file, at the root of every cached tree, that holds
// its Manifest.
const ManifestName = ".kh-manifest.json"

// Tree is a header tree ready for use.
type Tree struct {
	Manifest
	// Cached is true when the tree was already in the cache (or used in
	// place) and nothing was extracted.
	Cached bool `json:"cached"`
}
