package registry

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sort"
	"strings"

	"github.com/opencontainers/go-digest"
	specs "github.com/opencontainers/image-spec/specs-go"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
	"oras.land/oras-go/v2/errdef"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/errcode"
)

// PushResult says what Push did.
type PushResult struct {
	Entry
	// Unchanged is true when the registry already held this exact
	// artifact under both tags: nothing was written.
	Unchanged bool `json:"unchanged"`
	// Uploaded counts the blobs that were uploaded (the others were
	// already there).
	Uploaded int `json:"uploaded"`
}

// ConflictError means the build ID's tag already holds a different
// artifact.
type ConflictError struct {
	Tag      string
	Existing string // digest of the manifest the tag points to
	New      string // digest of the manifest being pushed
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s already holds a different artifact (%s, not %s): a build ID names one kernel build; replace it only if the old one is wrong", e.Tag, e.Existing, e.New)
}

// PushOptions tune Push.
type PushOptions struct {
	// Replace lets Push move the build ID's tag from a different
	// artifact to this one (e.g. to add a layer) instead of failing with
	// a *ConflictError.
	Replace bool
}

// Push publishes a as one artifact tagged BuildIDTag and ReleaseTag.
// Blobs the registry already has are not uploaded again, and pushing an
// artifact that is already there under both tags writes nothing.
func (r *Repository) Push(ctx context.Context, a *Artifact, po PushOptions) (*PushResult, error) {
	res, err := r.push(ctx, a, po)
	if err != nil {
		return nil, r.wrap("push", err)
	}
	return res, nil
}

func (r *Repository) push(ctx context.Context, a *Artifact, po PushOptions) (*PushResult, error) {
	if err := a.check(); err != nil {
		return nil, err
	}
	man, raw, err := a.manifest()
	if err != nil {
		return nil, err
	}
	mdesc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, raw)
	mdesc.ArtifactType = ArtifactType
	idTag, relTag := BuildIDTag(a.BuildID), ReleaseTag(a.Release, a.Arch)
	entry, err := entryOf(man, mdesc)
	if err != nil {
		return nil, err
	}
	entry.Tags = []string{idTag, relTag}
	res := &PushResult{Entry: *entry}

	rr, err := r.repo(ctx)
	if err != nil {
		return nil, err
	}
	existing, err := resolveTag(ctx, rr, idTag)
	if err != nil {
		return nil, err
	}
	if existing != nil && existing.Digest != mdesc.Digest && !po.Replace {
		return nil, &ConflictError{Tag: idTag, Existing: existing.Digest.String(), New: mdesc.Digest.String()}
	}
	if existing != nil && existing.Digest == mdesc.Digest {
		rel, err := resolveTag(ctx, rr, relTag)
		if err != nil {
			return nil, err
		}
		if rel != nil && rel.Digest == mdesc.Digest {
			r.log.Debug("artifact already published", "digest", mdesc.Digest, "tags", entry.Tags)
			res.Unchanged = true
			return res, nil
		}
	}

	blobs := []struct {
		desc ocispec.Descriptor
		data []byte
	}{{ocispec.DescriptorEmptyJSON, ocispec.DescriptorEmptyJSON.Data}}
	for _, k := range Kinds() {
		if data := a.layer(k); data != nil {
			l, _ := entry.Layer(k)
			blobs = append(blobs, struct {
				desc ocispec.Descriptor
				data []byte
			}{l.desc, data})
		}
	}
	for _, b := range blobs {
		desc := b.desc
		desc.Data, desc.Annotations = nil, nil
		ok, err := rr.Exists(ctx, desc)
		if err != nil {
			return nil, err
		}
		if ok {
			r.log.Debug("blob already in the registry", "digest", desc.Digest, "size", desc.Size)
			continue
		}
		r.log.Debug("uploading blob", "digest", desc.Digest, "size", desc.Size)
		if err := rr.Push(ctx, desc, bytes.NewReader(b.data)); err != nil && !errors.Is(err, errdef.ErrAlreadyExists) {
			return nil, err
		}
		res.Uploaded++
	}
	if err := rr.PushReference(ctx, mdesc, bytes.NewReader(raw), idTag); err != nil {
		return nil, err
	}
	if err := rr.Tag(ctx, mdesc, relTag); err != nil {
		return nil, err
	}
	r.log.Debug("published", "digest", mdesc.Digest, "tags", entry.Tags)
	return res, nil
}

// resolveTag returns the descriptor a tag points to, or nil if the tag
// does not exist.
func resolveTag(ctx context.Context, rr *remote.Repository, tag string) (*ocispec.Descriptor, error) {
	d, err := rr.Resolve(ctx, tag)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &d, nil
}

// check validates an artifact before pushing.
func (a *Artifact) check() error {
	if err := a.Identity.check(); err != nil {
		return err
	}
	if a.Headers == nil && a.BTF == nil && a.Config == nil {
		return errors.New("nothing to push: no headers archive, BTF or configuration")
	}
	for _, k := range Kinds() {
		if d := a.layer(k); d != nil && int64(len(d)) > MaxLayerSize(k) {
			return fmt.Errorf("%s layer is %d bytes, more than the %d a puller accepts", k, len(d), MaxLayerSize(k))
		}
	}
	if a.Headers != nil && !bytes.HasPrefix(a.Headers, []byte("\xfd7zXZ\x00")) {
		return errors.New("the headers archive is not xz-compressed (kheaders.tar.xz)")
	}
	if a.BTF != nil && !(len(a.BTF) >= 4 && (bytes.HasPrefix(a.BTF, []byte{0x9f, 0xeb}) || bytes.HasPrefix(a.BTF, []byte{0xeb, 0x9f}))) {
		return errors.New("the BTF layer is not raw BTF (no BTF magic)")
	}
	return nil
}

// manifest builds the artifact's manifest deterministically: the same
// artifact always has the same manifest digest (no timestamps).
func (a *Artifact) manifest() (*ocispec.Manifest, []byte, error) {
	m := &ocispec.Manifest{
		Versioned:    specs.Versioned{SchemaVersion: 2},
		MediaType:    ocispec.MediaTypeImageManifest,
		ArtifactType: ArtifactType,
		Config:       ocispec.DescriptorEmptyJSON,
		Layers:       []ocispec.Descriptor{},
		Annotations: map[string]string{
			AnnotationRelease: a.Release,
			AnnotationArch:    a.Arch,
			AnnotationBuildID: a.BuildID,
			AnnotationSchema:  SchemaVersion,
		},
	}
	m.Config.Data = nil
	if a.Source != "" {
		m.Annotations[AnnotationSource] = a.Source
	}
	for _, k := range Kinds() {
		data := a.layer(k)
		if data == nil {
			continue
		}
		d := content.NewDescriptorFromBytes(k.mediaType(), data)
		d.Annotations = map[string]string{ocispec.AnnotationTitle: k.title()}
		m.Layers = append(m.Layers, d)
	}
	raw, err := json.Marshal(m)
	return m, raw, err
}

// Query selects an artifact: by build ID (the key), or by release and
// arch (the human tag, whose artifact must then name exactly that
// release and arch).
type Query struct {
	BuildID string
	Release string
	Arch    string
}

func (q Query) String() string {
	if q.BuildID != "" {
		return "build ID " + q.BuildID
	}
	return fmt.Sprintf("release %s (%s)", q.Release, q.Arch)
}

// Resolve finds the artifact for q and checks its manifest: a kernel
// artifact of a schema this package knows, whose annotations name the
// build ID asked for (or the release and arch), and whose layers are
// within the limits. It downloads only the manifest.
func (r *Repository) Resolve(ctx context.Context, q Query) (*Entry, error) {
	e, err := r.resolve(ctx, q)
	if err != nil {
		return nil, r.wrap("resolve "+q.String(), err)
	}
	return e, nil
}

func (r *Repository) resolve(ctx context.Context, q Query) (*Entry, error) {
	var tag string
	switch {
	case q.BuildID != "":
		id, err := NormalizeBuildID(q.BuildID)
		if err != nil {
			return nil, err
		}
		q.BuildID, tag = id, BuildIDTag(id)
	case q.Release != "" && q.Arch != "":
		tag = ReleaseTag(q.Release, q.Arch)
	default:
		return nil, errors.New("query needs a build ID, or a release and an arch")
	}
	rr, err := r.repo(ctx)
	if err != nil {
		return nil, err
	}
	r.log.Debug("resolving", "repository", r.Ref, "tag", tag)
	e, err := fetchEntry(ctx, rr, tag)
	if err != nil {
		return nil, err
	}
	e.Tags = []string{tag}
	switch {
	case q.BuildID != "" && e.BuildID != q.BuildID:
		return nil, &MismatchError{Ref: tag, Reason: fmt.Sprintf("its build ID is %q, not %s", e.BuildID, q.BuildID)}
	case q.BuildID == "" && (e.Release != q.Release || e.Arch != q.Arch):
		return nil, &MismatchError{Ref: tag, Reason: fmt.Sprintf("it is for %s (%s), not %s (%s)", e.Release, e.Arch, q.Release, q.Arch)}
	}
	return e, nil
}

// fetchEntry fetches and checks the manifest a reference points to.
func fetchEntry(ctx context.Context, rr *remote.Repository, ref string) (*Entry, error) {
	desc, rc, err := rr.FetchReference(ctx, ref)
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, fmt.Errorf("%s: %w", ref, ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	if desc.Size > maxManifest {
		return nil, &MismatchError{Ref: ref, Reason: fmt.Sprintf("its manifest is %d bytes, more than %d", desc.Size, maxManifest)}
	}
	if desc.MediaType != ocispec.MediaTypeImageManifest {
		return nil, &MismatchError{Ref: ref, Reason: fmt.Sprintf("it is a %s, not an OCI image manifest", desc.MediaType)}
	}
	raw, err := content.ReadAll(rc, desc)
	if err != nil {
		return nil, fmt.Errorf("%s: manifest: %w", ref, err)
	}
	var m ocispec.Manifest
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, &MismatchError{Ref: ref, Reason: fmt.Sprintf("its manifest is not JSON: %v", err)}
	}
	e, err := entryOf(&m, desc)
	if err != nil {
		return nil, &MismatchError{Ref: ref, Reason: err.Error()}
	}
	return e, nil
}

// entryOf checks a manifest and describes it.
func entryOf(m *ocispec.Manifest, desc ocispec.Descriptor) (*Entry, error) {
	if m.ArtifactType != ArtifactType {
		return nil, fmt.Errorf("its artifact type is %q, not %s", m.ArtifactType, ArtifactType)
	}
	if s := m.Annotations[AnnotationSchema]; s != SchemaVersion {
		return nil, fmt.Errorf("its kh schema is %q; this kh reads schema %s", s, SchemaVersion)
	}
	e := &Entry{
		Identity: Identity{
			Release: m.Annotations[AnnotationRelease],
			Arch:    m.Annotations[AnnotationArch],
			BuildID: m.Annotations[AnnotationBuildID],
			Source:  m.Annotations[AnnotationSource],
		},
		Digest: desc.Digest.String(),
	}
	if e.Release == "" || e.Arch == "" || e.BuildID == "" {
		return nil, errors.New("its annotations lack the release, arch or build ID")
	}
	if id := e.Identity; id.check() != nil || id.BuildID != e.BuildID || strings.ContainsAny(e.Source, "\x00\n") {
		return nil, fmt.Errorf("its annotations are malformed (release %q, arch %q, build ID %q)", e.Release, e.Arch, e.BuildID)
	}
	for _, l := range m.Layers {
		k, ok := kindOf(l.MediaType)
		if !ok {
			continue // a layer of a later schema: ignored
		}
		if e.Has(k) {
			return nil, fmt.Errorf("it has two %s layers", k)
		}
		if l.Size < 0 || l.Size > MaxLayerSize(k) {
			return nil, fmt.Errorf("its %s layer claims %d bytes (the limit is %d)", k, l.Size, MaxLayerSize(k))
		}
		if err := l.Digest.Validate(); err != nil || l.Digest.Algorithm() != digest.SHA256 {
			return nil, fmt.Errorf("its %s layer has digest %q, not a sha256 digest", k, l.Digest)
		}
		e.Layers = append(e.Layers, Layer{Kind: k, Digest: l.Digest.String(), Size: l.Size, desc: l})
		e.Size += l.Size
	}
	if len(e.Layers) == 0 {
		return nil, errors.New("it has no headers, BTF or configuration layer")
	}
	return e, nil
}

// Fetch downloads the layer of kind k of an entry that Resolve or List
// returned, and verifies its size and digest.
func (r *Repository) Fetch(ctx context.Context, e *Entry, k Kind) ([]byte, error) {
	l, ok := e.Layer(k)
	if !ok {
		return nil, r.wrap("pull", fmt.Errorf("%s (%s %s): %w: the artifact has no %s layer", e.BuildID, e.Release, e.Arch, ErrNotFound, k))
	}
	data, err := r.fetch(ctx, l)
	if err != nil {
		return nil, r.wrap(fmt.Sprintf("pull %s layer of build ID %s", k, e.BuildID), err)
	}
	return data, nil
}

func (r *Repository) fetch(ctx context.Context, l Layer) ([]byte, error) {
	rr, err := r.repo(ctx)
	if err != nil {
		return nil, err
	}
	desc := l.desc
	if desc.Size > MaxLayerSize(l.Kind) {
		return nil, fmt.Errorf("layer claims %d bytes (the limit is %d)", desc.Size, MaxLayerSize(l.Kind))
	}
	r.log.Debug("downloading blob", "kind", l.Kind, "digest", desc.Digest, "size", desc.Size)
	rc, err := rr.Fetch(ctx, desc)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := content.ReadAll(rc, desc)
	if err != nil {
		if errors.Is(err, content.ErrMismatchedDigest) {
			return nil, fmt.Errorf("blob %s: the bytes the registry sent do not match their digest", desc.Digest)
		}
		return nil, fmt.Errorf("blob %s: %w", desc.Digest, err)
	}
	return data, nil
}

// Pull resolves q and downloads the layers of the given kinds (all of
// them when none is given) that the artifact has.
func (r *Repository) Pull(ctx context.Context, q Query, kinds ...Kind) (*Entry, map[Kind][]byte, error) {
	e, err := r.Resolve(ctx, q)
	if err != nil {
		return nil, nil, err
	}
	if len(kinds) == 0 {
		kinds = Kinds()
	}
	out := map[Kind][]byte{}
	for _, k := range kinds {
		if !e.Has(k) {
			continue
		}
		data, err := r.Fetch(ctx, e, k)
		if err != nil {
			return nil, nil, err
		}
		out[k] = data
	}
	return e, out, nil
}

// List returns the kernel artifacts in the repository: one Entry per
// manifest that a buildid- tag points to, with every tag that points to
// it, sorted by release, arch and build ID. Tags that point to something
// else are ignored.
func (r *Repository) List(ctx context.Context) ([]Entry, error) {
	out, err := r.list(ctx)
	if err != nil {
		return nil, r.wrap("list", err)
	}
	return out, nil
}

func (r *Repository) list(ctx context.Context) ([]Entry, error) {
	rr, err := r.repo(ctx)
	if err != nil {
		return nil, err
	}
	var tags []string
	err = rr.Tags(ctx, "", func(t []string) error { tags = append(tags, t...); return nil })
	if errors.Is(err, errdef.ErrNotFound) {
		return nil, nil // an empty repository
	}
	var er *errcode.ErrorResponse
	if errors.As(err, &er) && er.StatusCode == http.StatusNotFound {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	sort.Strings(tags)
	byDigest := map[string]*Entry{}
	var order []string
	var others []string
	for _, t := range tags {
		if !strings.HasPrefix(t, "buildid-") {
			others = append(others, t)
			continue
		}
		e, err := fetchEntry(ctx, rr, t)
		var me *MismatchError
		if errors.As(err, &me) {
			r.log.Debug("tag ignored: not a kernel artifact", "tag", t, "why", me.Reason)
			continue
		}
		if err != nil {
			return nil, err
		}
		if BuildIDTag(e.BuildID) != t {
			r.log.Debug("tag ignored: its artifact names another build ID", "tag", t, "build_id", e.BuildID)
			continue
		}
		if old, ok := byDigest[e.Digest]; ok {
			old.Tags = append(old.Tags, t)
			continue
		}
		e.Tags = []string{t}
		byDigest[e.Digest] = e
		order = append(order, e.Digest)
	}
	// Release tags: resolve only those that can belong to a listed
	// artifact (a HEAD request each).
	want := map[string]bool{}
	for _, d := range order {
		e := byDigest[d]
		want[ReleaseTag(e.Release, e.Arch)] = true
	}
	for _, t := range others {
		if !want[t] {
			continue
		}
		d, err := resolveTag(ctx, rr, t)
		if err != nil {
			return nil, err
		}
		if d != nil {
			if e, ok := byDigest[d.Digest.String()]; ok {
				e.Tags = append(e.Tags, t)
			}
		}
	}
	out := make([]Entry, 0, len(order))
	for _, d := range order {
		out = append(out, *byDigest[d])
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if a.Release != b.Release {
			return a.Release < b.Release
		}
		if a.Arch != b.Arch {
			return a.Arch < b.Arch
		}
		return a.BuildID < b.BuildID
	})
	return out, nil
}

// wrap turns an error into a one-line *Error and classifies it
// (ErrNotFound, ErrUnauthorized, ErrUnreachable).
func (r *Repository) wrap(op string, err error) error {
	var er *errcode.ErrorResponse
	var ne net.Error
	var oe *net.OpError
	var cv *tls.CertificateVerificationError
	switch {
	case errors.As(err, &cv):
		err = fmt.Errorf("%w: %v", ErrCertificate, err)
	case errors.As(err, &er) && (er.StatusCode == http.StatusUnauthorized || er.StatusCode == http.StatusForbidden):
		how := "no credentials are configured"
		if r.authFile != "" {
			how = "with the credentials of " + r.authFile
		}
		err = fmt.Errorf("%w (%s %s: status %d, %s)", ErrUnauthorized, er.Method, er.URL.Path, er.StatusCode, how)
	case errors.Is(err, auth.ErrBasicCredentialNotFound):
		err = fmt.Errorf("%w: the registry wants credentials and none are configured for %s", ErrUnauthorized, r.ref.Host())
	case errors.As(err, &er):
		err = fmt.Errorf("%s %s: status %d: %s", er.Method, er.URL.Path, er.StatusCode, oneLine(er.Errors.Error()))
	case errors.Is(err, ErrUnreachable), errors.Is(err, ErrNotFound), errors.Is(err, ErrUnauthorized):
	case errors.As(err, &oe) && oe.Op == "dial", errors.Is(err, io.ErrUnexpectedEOF), errors.As(err, &ne):
		err = fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	return &Error{Op: op, Repo: r.Ref, Err: err}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
