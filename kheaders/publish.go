package kheaders

import (
	"context"

	"github.com/khtool/kh/kconfig"
)

// Publish puts an archive obtained elsewhere (for example pulled from an
// Android device) into the cache of opts, with the checks and the
// extraction Fetch applies to its own sources: a.Release, if set, must be
// the release the archive's headers are for. A non-empty hint records the
// source's identity, so that LookupHint finds the tree next time without
// the archive.
func Publish(ctx context.Context, opts Options, a *Archive, hint string) (*Tree, error) {
	return newFetcher(opts).publish(ctx, a, hint)
}

// PublishBTF makes (or finds) the BTF tree of in in the cache of opts, as
// Fetch does from the running kernel's BTF, and records hint as Publish
// does.
func PublishBTF(ctx context.Context, opts Options, in BTFInput, hint string) (*Tree, error) {
	f := newFetcher(opts)
	t, err := f.publishBTF(ctx, in.BTF, in.Config, in.Release, in.Arch, in.Source)
	if err != nil {
		return nil, err
	}
	if hint != "" {
		if c, err := f.openCache(); err == nil {
			if err := c.SetHint(hint, t, in.Source); err != nil {
				f.log.Debug("could not record a cache hint", "err", err)
			}
		}
	}
	f.warnBTF(t)
	return t, nil
}

// BTFInput is what a BTF tree is made of: a kernel's BTF, its
// configuration (nil if unknown) and identity.
type BTFInput struct {
	BTF     []byte
	Config  *kconfig.Config
	Release string
	Arch    string // SRCARCH
	Source  Source
}

// LookupHint returns the tree a hint recorded by Publish or PublishBTF
// points to, if it is still in the cache and trusted.
func LookupHint(opts Options, hint string) (*Tree, bool) {
	return newFetcher(opts).fromHint(hint)
}

func newFetcher(opts Options) *fetcher {
	f := &fetcher{opts: opts, log: opts.logger()}
	if f.opts.Limits == (Limits{}) {
		f.opts.Limits = DefaultLimits()
	}
	return f
}

// RecordHint records hint for tree t (and t.Source) in the cache of opts,
// for a source whose identity the caller proves (see LookupHint).
func RecordHint(opts Options, hint string, t *Tree) error {
	f := newFetcher(opts)
	c, err := f.openCache()
	if err != nil {
		return err
	}
	return c.SetHint(hint, t, t.Source)
}

// Hints looks hints up in a cache opened once, for a caller that makes
// several lookups (LookupHint opens the cache each time).
type Hints struct{ f *fetcher }

// NewHints returns the hint lookups of the cache of opts.
func NewHints(opts Options) *Hints { return &Hints{f: newFetcher(opts)} }

// Lookup is LookupHint.
func (h *Hints) Lookup(hint string) (*Tree, bool) { return h.f.fromHint(hint) }
