package cache

import "time"

// Kind says what a tree holds (kheaders defines the kinds: kernel
// headers, or a tree made from BTF).
type Kind string

// SourceKind says where a tree's contents came from (kheaders defines
// them: a file, a module, sysfs, a directory, BTF).
type SourceKind string

// Source names where a tree came from.
type Source struct {
	Kind     SourceKind `json:"kind"`
	Location string     `json:"location"`
}

// ManifestSchema is the version of the Manifest JSON format.
const ManifestSchema = 1

// Manifest describes a cached tree. A cached tree keeps its manifest in
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

// Tree is a published tree ready for use.
type Tree struct {
	Manifest
	// Cached is true when the tree was already in the cache (or used in
	// place) and nothing was extracted.
	Cached bool `json:"cached"`
}
