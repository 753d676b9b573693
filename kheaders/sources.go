package kheaders

import (
	"context"
	"os"
	"strings"

	"github.com/khtool/kh/btf"
	"github.com/khtool/kh/internal/kernel"
	"github.com/khtool/kh/internal/kmod"
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

// Sources evaluates every source of headers for the running kernel, in
// the order Fetch tries them (opts.From is ignored): the sysfs archive,
// each kheaders module file on disk (vermagic checked), the filesystem
// headers (release and configuration checked) and the BTF. It reads
// module files but extracts, loads and writes nothing: it is for reports
// such as `kh doctor`. Fetch itself stops at the first usable source.
func Sources(ctx context.Context, opts Options) ([]Candidate, error) {
	release, err := kernel.Release(opts.Release)
	if err != nil {
		return nil, err
	}
	root := opts.Root
	var out []Candidate
	exists := func(kind SourceKind, abs, why string) {
		c := Candidate{Source: Source{Kind: kind, Location: abs}, Usable: true}
		if _, err := os.Stat(kernel.Path(root, abs)); err != nil {
			c.Usable, c.Why = false, why
		}
		out = append(out, c)
	}
	exists(SourceSysfs, SysfsArchive, sysfsAbsent)
	mods := kmod.Find(root, release, "kheaders")
	for _, p := range mods {
		m, why := checkModule(p, release)
		loc := p
		if root != "" && root != "/" {
			loc = "/" + strings.TrimPrefix(strings.TrimPrefix(p, root), "/")
		}
		out = append(out, Candidate{Source: Source{Kind: SourceModule, Location: loc}, Usable: m != nil, Why: strings.ReplaceAll(why, p, loc)})
	}
	if len(mods) == 0 {
		out = append(out, Candidate{Source: Source{Kind: SourceModule, Location: "kheaders.ko"}, Why: notFoundIn(release)})
	}
	build := "/lib/modules/" + release + "/build"
	t, why, _ := checkBuildDir(ctx, root, kernel.Path(root, build), release, opts.logger())
	out = append(out, Candidate{Source: Source{Kind: SourceDir, Location: build}, Usable: t != nil, Why: why})
	exists(SourceBTF, btf.KernelPath, "absent (no CONFIG_DEBUG_INFO_BTF)")
	return out, nil
}
