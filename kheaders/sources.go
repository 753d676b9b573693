package kheaders

import (
	"context"
	"log/slog"
	"os"
	"strings"

	"github.com/khtool/kh/btf"
	"github.com/khtool/kh/internal/kernel"
	"github.com/khtool/kh/internal/kmod"
	"github.com/khtool/kh/registry"
)

// Candidate is one source of the running kernel's headers, as Fetch
// would consider it.
type Candidate struct {
	Source Source `json:"source"`
	// Usable is true when Fetch could use this source.
	Usable bool `json:"usable"`
	// Why says why the source cannot be used ("absent", "built for
	// 6.1.0, not the running 6.1.192", ...); empty when usable.
	Why string `json:"why,omitempty"`
}

// sourceEnv is what every header source is judged against.
type sourceEnv struct {
	root    string // the system's files are read below root ("" or "/")
	release string // the running kernel's release
	log     *slog.Logger
	// registry is Options.Registry (nil: none).
	registry *registry.Repository
}

// headerSource is one row of the ordered table of header sources: how
// Fetch tries it and how Sources reports it. Fetch and Sources both walk
// headerSources, so the order is written once.
type headerSource struct {
	// fetch tries the source for Fetch: done is true when it decided
	// (a tree or an error); otherwise it has called skip with why not.
	fetch func(ctx context.Context, f *fetcher, e *sourceEnv, skip func(what, why string)) (t *Tree, done bool, err error)
	// survey judges the source as fetch would, reading but extracting,
	// loading and writing nothing.
	survey func(ctx context.Context, e *sourceEnv) []Candidate
}

// headerSources returns the sources of the running kernel's headers, in
// the order Fetch tries them (after Options.From).
func headerSources() []headerSource {
	return []headerSource{
		{fetchSysfs, surveySysfs},
		{fetchModule, surveyModule},
		{fetchBuildDir, surveyBuildDir},
		{fetchRegistry, surveyRegistry},
		{fetchBTF, surveyBTF},
	}
}

// Sources evaluates every source of headers for the running kernel, in
// the order Fetch tries them (opts.From is ignored): the sysfs archive,
// each kheaders module file on disk (vermagic checked), the filesystem
// headers (release and configuration checked), Options.Registry (one
// manifest request) and the BTF. It reads
// module files but extracts, loads and writes nothing: it is for reports
// such as `kh doctor`. Fetch itself stops at the first usable source.
func Sources(ctx context.Context, opts Options) ([]Candidate, error) {
	release, err := kernel.Release(opts.Release)
	if err != nil {
		return nil, err
	}
	e := &sourceEnv{root: opts.Root, release: release, log: opts.logger(), registry: opts.Registry}
	var out []Candidate
	for _, s := range headerSources() {
		out = append(out, s.survey(ctx, e)...)
	}
	return out, nil
}

// exists is the candidate for a source that is usable when abs exists.
func (e *sourceEnv) exists(kind SourceKind, abs, why string) Candidate {
	c := Candidate{Source: Source{Kind: kind, Location: abs}, Usable: true}
	if _, err := os.Stat(kernel.Path(e.root, abs)); err != nil {
		c.Usable, c.Why = false, why
	}
	return c
}

func surveySysfs(_ context.Context, e *sourceEnv) []Candidate {
	return []Candidate{e.exists(SourceSysfs, SysfsArchive, sysfsAbsent)}
}

func surveyModule(_ context.Context, e *sourceEnv) []Candidate {
	root, release := e.root, e.release
	mods := kmod.Find(root, release, "kheaders")
	if len(mods) == 0 {
		return []Candidate{{Source: Source{Kind: SourceModule, Location: "kheaders.ko"}, Why: notFoundIn(release)}}
	}
	var out []Candidate
	for _, p := range mods {
		m, why, _ := checkModule(p, release)
		loc := p
		if root != "" && root != "/" {
			loc = "/" + strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		}
		out = append(out, Candidate{Source: Source{Kind: SourceModule, Location: loc}, Usable: m != nil, Why: strings.ReplaceAll(why, p, loc)})
	}
	return out
}

func surveyBuildDir(ctx context.Context, e *sourceEnv) []Candidate {
	build := "/lib/modules/" + e.release + "/build"
	t, why, _ := checkBuildDir(ctx, e.root, kernel.Path(e.root, build), e.release, e.log)
	return []Candidate{{Source: Source{Kind: SourceDir, Location: build}, Usable: t != nil, Why: why}}
}

func surveyBTF(_ context.Context, e *sourceEnv) []Candidate {
	return []Candidate{e.exists(SourceBTF, btf.KernelPath, btfAbsent)}
}
