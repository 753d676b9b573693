package registry

import (
	"fmt"
	"regexp"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

// Media types of a kernel artifact.
const (
	// ArtifactType is the manifest's artifactType.
	ArtifactType = "application/vnd.khtool.kernel.v1"
	// MediaTypeHeaders is the kheaders archive layer (tar, xz-compressed).
	MediaTypeHeaders = "application/vnd.khtool.kernel.headers.v1.tar+xz"
	// MediaTypeBTF is the raw BTF layer.
	MediaTypeBTF = "application/vnd.khtool.kernel.btf.v1"
	// MediaTypeConfig is the kernel configuration layer (.config text).
	MediaTypeConfig = "application/vnd.khtool.kernel.config.v1"
)

// Manifest annotations.
const (
	AnnotationRelease = "io.github.khtool.kh.release"
	AnnotationArch    = "io.github.khtool.kh.arch"
	AnnotationBuildID = "io.github.khtool.kh.build-id"
	AnnotationSource  = "io.github.khtool.kh.source"
	AnnotationSchema  = "io.github.khtool.kh.schema"
)

// SchemaVersion is the value of AnnotationSchema this package writes and
// understands.
const SchemaVersion = "1"

// Kind names a layer of the artifact.
type Kind string

// The layers.
const (
	Headers Kind = "headers"
	BTF     Kind = "btf"
	Config  Kind = "config"
)

// Kinds returns the layer kinds, in the order they appear in a manifest.
func Kinds() []Kind { return []Kind{Headers, BTF, Config} }

func (k Kind) mediaType() string {
	switch k {
	case Headers:
		return MediaTypeHeaders
	case BTF:
		return MediaTypeBTF
	case Config:
		return MediaTypeConfig
	}
	return ""
}

func (k Kind) title() string {
	switch k {
	case Headers:
		return "kheaders.tar.xz"
	case BTF:
		return "vmlinux.btf"
	}
	return "config"
}

func kindOf(mediaType string) (Kind, bool) {
	for _, k := range Kinds() {
		if k.mediaType() == mediaType {
			return k, true
		}
	}
	return "", false
}

// MaxLayerSize returns the largest size a layer of kind k may declare; a
// manifest that declares more is refused before anything is downloaded.
func MaxLayerSize(k Kind) int64 {
	switch k {
	case Headers, BTF:
		return 256 << 20 // as a kheaders module file (kmod.MaxSize)
	case Config:
		return 16 << 20
	}
	return 0
}

// maxManifest caps a manifest's size.
const maxManifest = 1 << 20

// Identity says which kernel build an artifact belongs to.
type Identity struct {
	Release string `json:"release"`  // uname -r
	Arch    string `json:"arch"`     // SRCARCH: x86, arm64, ...
	BuildID string `json:"build_id"` // GNU build ID of vmlinux, lower-case hex
	// Source says where the headers archive came from (sysfs, module,
	// file); empty when there is none.
	Source string `json:"source,omitempty"`
}

// Artifact is what Push publishes: an identity and at least one layer.
type Artifact struct {
	Identity
	Headers []byte // the kheaders archive, byte for byte
	BTF     []byte // raw BTF
	Config  []byte // .config text
}

func (a *Artifact) layer(k Kind) []byte {
	switch k {
	case Headers:
		return a.Headers
	case BTF:
		return a.BTF
	}
	return a.Config
}

// Layer describes one layer of a published artifact.
type Layer struct {
	Kind   Kind   `json:"kind"`
	Digest string `json:"digest"` // "sha256:..."
	Size   int64  `json:"size"`

	desc ocispec.Descriptor
}

// Entry is a published artifact, as Resolve and List find it.
type Entry struct {
	Identity
	// Digest is the manifest's digest.
	Digest string `json:"digest"`
	// Tags point to this manifest (of those List saw; Resolve fills in
	// only the tag it resolved).
	Tags   []string `json:"tags"`
	Layers []Layer  `json:"layers"`
	// Size is the total size of the layers.
	Size int64 `json:"size"`
}

// Layer returns the entry's layer of kind k.
func (e *Entry) Layer(k Kind) (Layer, bool) {
	for _, l := range e.Layers {
		if l.Kind == k {
			return l, true
		}
	}
	return Layer{}, false
}

// Has reports whether the entry has a layer of kind k.
func (e *Entry) Has(k Kind) bool {
	_, ok := e.Layer(k)
	return ok
}

var buildIDRE = regexp.MustCompile(`^[0-9a-f]{8,120}$`)

// NormalizeBuildID lower-cases a hex build ID and checks it.
func NormalizeBuildID(id string) (string, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if !buildIDRE.MatchString(id) || len(id)%2 != 0 {
		return "", fmt.Errorf("build ID %q is not a hex GNU build ID (8 to 120 hex digits)", id)
	}
	return id, nil
}

// BuildIDTag returns the tag that keys an artifact: "buildid-" and the
// build ID.
func BuildIDTag(buildID string) string { return "buildid-" + buildID }

var tagUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]`)

// ReleaseTag returns the human tag of a release and arch: both joined by
// "-", with every character outside the OCI tag grammar
// ([A-Za-z0-9_][A-Za-z0-9._-]{0,127}) replaced by "_" (so "5.10.133+"
// becomes "5.10.133_-x86"). It never starts with "buildid-" or "sha256-"
// (the key tags and oras' referrers tags).
func ReleaseTag(release, arch string) string {
	t := tagUnsafe.ReplaceAllString(release+"-"+arch, "_")
	if t == "" || t[0] == '.' || t[0] == '-' || strings.HasPrefix(t, "buildid-") || strings.HasPrefix(t, "sha256-") {
		t = "r" + t
	}
	if len(t) > 128 {
		t = t[:128]
	}
	return t
}

// check validates an identity for pushing.
func (id *Identity) check() error {
	var err error
	if id.BuildID, err = NormalizeBuildID(id.BuildID); err != nil {
		return err
	}
	if id.Release == "" || strings.ContainsAny(id.Release, "\x00\n") || len(id.Release) > 256 {
		return fmt.Errorf("release %q is not a kernel release", id.Release)
	}
	if id.Arch == "" || tagUnsafe.MatchString(id.Arch) {
		return fmt.Errorf("arch %q is not a kernel SRCARCH", id.Arch)
	}
	return nil
}
