package kheaders

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/khtool/kh/cache"
	"github.com/khtool/kh/internal/kernel"
	"github.com/khtool/kh/internal/kmod"
	"github.com/khtool/kh/kconfig"
	"github.com/khtool/kh/registry"
)

// SourceRegistry is an artifact pulled from an OCI registry (package
// registry); its Location is "REPO:buildid-ID".
const SourceRegistry SourceKind = "registry"

// registryLocation names the artifact of build ID id in repo.
func registryLocation(repo *registry.Repository, id string) string {
	return repo.Ref + ":" + registry.BuildIDTag(id)
}

// registryKey is the hint key of a tree pulled from repo for build ID
// id: the build ID names the artifact, the repository whom it was
// trusted from.
func registryKey(repo *registry.Repository, id string) string {
	sum := sha256.Sum256([]byte("registry\x00" + repo.Ref + "\x00" + id))
	return hex.EncodeToString(sum[:16])
}

// tryRegistry fetches the running kernel's artifact from opts.Registry,
// by the build ID in /sys/kernel/notes. It reports false (and why) when
// the registry has none; any other failure is an error.
func (f *fetcher) tryRegistry(ctx context.Context, release string) (*Tree, string, error) {
	repo := f.opts.Registry
	id, err := kernel.BuildID(kernel.Path(f.opts.Root, kernelNotes))
	if err != nil {
		return nil, fmt.Sprintf("the running kernel's build ID is unknown (%v)", err), nil
	}
	if t, ok := f.fromHint(registryKey(repo, id)); ok && t.Release == release {
		return t, "", nil
	}
	e, err := repo.Resolve(ctx, registry.Query{BuildID: id})
	if errors.Is(err, registry.ErrNotFound) {
		return nil, "no artifact for build ID " + id, nil
	}
	if err != nil {
		return nil, "", err
	}
	if e.Release != release {
		return nil, "", fmt.Errorf("%s: the artifact of the running kernel's build ID says release %s, not %s", registryLocation(repo, id), e.Release, release)
	}
	if !e.Has(registry.Headers) && f.opts.Require == KindHeaders {
		return nil, "its artifact has no headers layer (only " + layerNames(e) + "), and --require kheaders refuses a BTF tree", nil
	}
	t, err := f.publishEntry(ctx, e)
	return t, "", err
}

// fromRegistry fetches another kernel's tree: the artifact opts.Remote
// selects in opts.Registry.
func (f *fetcher) fromRegistry(ctx context.Context) (*Tree, error) {
	repo, q := f.opts.Registry, f.opts.Remote
	if repo == nil {
		return nil, errors.New("a build ID or release to fetch from a registry, but no registry")
	}
	if q.BuildID != "" {
		id, err := registry.NormalizeBuildID(q.BuildID)
		if err != nil {
			return nil, err
		}
		if t, ok := f.fromHint(registryKey(repo, id)); ok {
			return t, nil
		}
	}
	e, err := repo.Resolve(ctx, q)
	if err != nil {
		return nil, err
	}
	if !e.Has(registry.Headers) && f.opts.Require == KindHeaders {
		return nil, fmt.Errorf("%s has no headers layer (only %s)", registryLocation(repo, e.BuildID), layerNames(e))
	}
	return f.publishEntry(ctx, e)
}

func layerNames(e *registry.Entry) string {
	var n []string
	for _, l := range e.Layers {
		n = append(n, string(l.Kind))
	}
	return strings.Join(n, ", ")
}

// publishEntry publishes the tree of a resolved artifact: its headers
// archive, treated exactly as a local archive (same limits, same checks,
// same cache key: the layer's digest is the archive's SHA-256), or else
// a BTF tree made from its BTF and configuration layers.
func (f *fetcher) publishEntry(ctx context.Context, e *registry.Entry) (*Tree, error) {
	repo := f.opts.Registry
	src := Source{Kind: SourceRegistry, Location: registryLocation(repo, e.BuildID)}
	key := registryKey(repo, e.BuildID)
	if l, ok := e.Layer(registry.Headers); ok {
		digest := strings.TrimPrefix(l.Digest, "sha256:")
		c, err := f.openCache()
		if err != nil {
			return nil, err
		}
		// The layer's digest is the cache key: a tree that is already
		// there (from a local fetch of the same archive) costs no
		// download.
		if t, err := c.Lookup(digest); err == nil && t.Release == e.Release {
			f.log.Debug("cache hit (the artifact's archive is already unpacked)", "path", t.Path, "sha256", digest)
			return f.recordHint(c, t, src, key), nil
		}
		f.log.Debug("source taken", "source", "registry", "artifact", src.Location, "bytes", l.Size)
		data, err := repo.Fetch(ctx, e, registry.Headers)
		if err != nil {
			return nil, err
		}
		return f.publish(ctx, &Archive{Data: data, Source: src, Release: e.Release}, key)
	}
	if !e.Has(registry.BTF) {
		return nil, fmt.Errorf("%s has neither a headers nor a BTF layer", src.Location)
	}
	btfData, err := repo.Fetch(ctx, e, registry.BTF)
	if err != nil {
		return nil, err
	}
	var cfg *kconfig.Config
	if e.Has(registry.Config) {
		text, err := repo.Fetch(ctx, e, registry.Config)
		if err != nil {
			return nil, err
		}
		if cfg, err = kconfig.Parse(text); err != nil {
			return nil, fmt.Errorf("%s: config layer: %w", src.Location, err)
		}
	}
	t, err := f.publishBTF(ctx, btfData, cfg, e.Release, e.Arch, src)
	if err != nil {
		return nil, err
	}
	f.recordHint(f.cache, t, src, key)
	f.warnBTF(t)
	return t, nil
}

// recordHint notes that key leads to t, which came from src.
func (f *fetcher) recordHint(c *cache.Cache, t *Tree, src Source, key string) *Tree {
	t.Source = src
	if err := c.SetHint(key, t, src); err != nil {
		f.log.Debug("could not record a cache hint", "err", err)
	}
	return t
}

// surveyRegistry judges Options.Registry for Sources: usable when it
// holds an artifact for the running kernel's build ID and release. It
// asks for the manifest only; no blob is downloaded.
func surveyRegistry(ctx context.Context, e *sourceEnv) []Candidate {
	if e.registry == nil {
		return nil
	}
	c := Candidate{Source: Source{Kind: SourceRegistry, Location: e.registry.Ref}}
	id, err := kernel.BuildID(kernel.Path(e.root, kernelNotes))
	if err != nil {
		c.Why = fmt.Sprintf("the running kernel's build ID is unknown (%v)", err)
		return []Candidate{c}
	}
	c.Source.Location = registryLocation(e.registry, id)
	ent, err := e.registry.Resolve(ctx, registry.Query{BuildID: id})
	switch {
	case errors.Is(err, registry.ErrNotFound):
		c.Why = "no artifact for build ID " + id
	case err != nil:
		c.Why = err.Error()
	case ent.Release != e.release:
		c.Why = fmt.Sprintf("its artifact says release %s, not %s", ent.Release, e.release)
	case !ent.Has(registry.Headers):
		c.Usable, c.Why = true, "BTF and configuration only (a BTF tree): "+layerNames(ent)
	default:
		c.Usable = true
	}
	return []Candidate{c}
}

// RunningArchive returns the running kernel's kheaders archive without
// extracting it, for publishing: /sys/kernel/kheaders.tar.xz, else the
// kheaders module on disk whose vermagic names the running kernel. Its
// Release is the running kernel's. A *NotFoundError says what was looked
// for.
func RunningArchive(ctx context.Context, opts Options) (*Archive, error) {
	release, err := kernel.Release(opts.Release)
	if err != nil {
		return nil, err
	}
	nf := &NotFoundError{Release: release}
	sysfs := kernel.Path(opts.Root, SysfsArchive)
	data, err := os.ReadFile(sysfs)
	if err == nil {
		return &Archive{Data: data, Source: Source{Kind: SourceSysfs, Location: sysfs}, Release: release}, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("read %s: %w", sysfs, err)
	}
	nf.Looked = append(nf.Looked, SysfsArchive+": "+sysfsAbsent)
	mods := kmod.Find(opts.Root, release, "kheaders")
	for _, p := range mods {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, why, _ := checkModule(p, release)
		if m == nil {
			nf.Looked = append(nf.Looked, p+": "+why)
			continue
		}
		a, err := archiveFromModule(m)
		if err != nil {
			nf.Looked = append(nf.Looked, p+": "+err.Error())
			continue
		}
		return a, nil
	}
	if len(mods) == 0 {
		nf.Looked = append(nf.Looked, "kheaders module: "+notFoundIn(release))
	}
	return nil, nf
}

// Validate extracts an archive into a temporary directory, exactly as
// Fetch would (same limits, same checks), removes it again and returns
// what the archive holds: for checking an archive before publishing it.
func Validate(ctx context.Context, archive []byte, lim Limits) (Stats, error) {
	if lim == (Limits{}) {
		lim = DefaultLimits()
	}
	dir, err := os.MkdirTemp("", "kh-validate-")
	if err != nil {
		return Stats{}, err
	}
	defer removeStaged(dir)
	stage := filepath.Join(dir, "tree")
	if err := os.Mkdir(stage, 0o700); err != nil {
		return Stats{}, err
	}
	return Extract(ctx, archive, stage, lim)
}

// removeStaged removes a directory that Extract filled (its directories
// are read-only).
func removeStaged(dir string) {
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o700)
		}
		return nil
	})
	os.RemoveAll(dir)
}
