package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/khtool/kh/cache"

	"github.com/khtool/kh/kheaders"
	"github.com/khtool/kh/registry"
	"github.com/khtool/kh/toolenv"
	"github.com/spf13/cobra"
)

// fetchFlags are the flags of every command that needs a header tree.
type fetchFlags struct {
	cache      cacheFlags
	from       string
	loadModule bool
	require    string
	remote     remoteFlags
	// query adds the flags that fetch another kernel's tree from a
	// registry (kh fetch only: others have an --arch of their own).
	query bool
	// adb, if set, adds --adb: the device's kernel instead of this one.
	adb *adbFlags
}

func (f *fetchFlags) add(cmd *cobra.Command) {
	f.cache.add(cmd, false)
	fl := cmd.Flags()
	fl.BoolVar(&f.cache.mountTmpfs, "mount-tmpfs", false, "as root, mount a tmpfs on --cache-dir (or KH_CACHE_DIR) if it is empty and not tmpfs")
	fl.StringVar(&f.from, "from", "", "use this archive (kheaders.tar.xz), kheaders module (.ko, .ko.xz, .ko.zst, .ko.gz) or header directory instead of the running kernel's")
	fl.BoolVar(&f.loadModule, "load-module", false, "load the kheaders module (finit_module) if /sys/kernel/kheaders.tar.xz is absent, instead of reading the module file")
	fl.StringVar(&f.require, "require", "", "refuse a fallback: 'kheaders' accepts only a real header tree")
	f.remote.add(cmd, f.query)
	completeValues(cmd, "require", "kheaders", "any")
}

// fetchOpts are kheaders.Options from the command line.
func (a *app) fetchOpts(f *fetchFlags) (kheaders.Options, error) {
	opts := kheaders.Options{
		From:       f.from,
		LoadModule: f.loadModule,
		CacheDir:   a.cacheDir(f.cache),
		AllowDisk:  f.cache.allowDisk,
		MountTmpfs: f.cache.mountTmpfs,
		Log:        a.logger(),
	}
	repo, q, err := f.remote.open(a)
	if err != nil {
		return opts, err
	}
	if f.from != "" && (repo != nil && q != (registry.Query{})) {
		return opts, usagef("--from and --build-id/--release are exclusive")
	}
	opts.Registry, opts.Remote = repo, q
	opts.Require, err = requireKind(f.require)
	return opts, err
}

// requireKind is the tree kind --require asks for ("" for any).
func requireKind(s string) (kheaders.Kind, error) {
	switch s {
	case "", "any":
		return "", nil
	case "kheaders":
		return kheaders.KindHeaders, nil
	}
	return "", usagef("--require %q: want kheaders", s)
}

// fetch runs kheaders.Fetch with the command line's options.
func (a *app) fetch(ctx context.Context, f *fetchFlags) (*kheaders.Tree, error) {
	if f.adb.on() {
		return a.fetchADB(ctx, f)
	}
	opts, err := a.fetchOpts(f)
	if err != nil {
		return nil, err
	}
	return kheaders.Fetch(ctx, opts)
}

// fetchHeld runs kheaders.FetchHeld: the tree, and a shared lock on it
// that kh clean respects (nil for a tree used in place).
func (a *app) fetchHeld(ctx context.Context, f *fetchFlags) (*kheaders.Tree, *cache.Hold, error) {
	if f.adb.on() {
		// A device's tree is held as kheaders.FetchHeld holds one.
		for i := 0; ; i++ {
			t, err := a.fetchADB(ctx, f)
			if err != nil {
				return nil, nil, err
			}
			h, err := cache.HoldTree(ctx, t.Path)
			if errors.Is(err, cache.ErrNotCached) && i < 10 {
				continue
			}
			if err != nil {
				return nil, nil, err
			}
			return t, h, nil
		}
	}
	opts, err := a.fetchOpts(f)
	if err != nil {
		return nil, nil, err
	}
	return kheaders.FetchHeld(ctx, opts)
}

// fetchTree checks the output format, then fetches the tree: the start
// of every command that prints something about a tree.
func (a *app) fetchTree(ctx context.Context, output string, f *fetchFlags) (*kheaders.Tree, error) {
	if err := checkOutput(output); err != nil {
		return nil, err
	}
	return a.fetch(ctx, f)
}

// fetchOptions are the flags of `kh fetch`.
type fetchOptions struct {
	fetch  fetchFlags
	output string
}

// runFetch is `kh fetch` once its command line is parsed.
func (a *app) runFetch(ctx context.Context, o *fetchOptions) error {
	t, err := a.fetchTree(ctx, o.output, &o.fetch)
	if err != nil {
		return err
	}
	if t.Kind == kheaders.KindBTF {
		a.logger().Warn(fmt.Sprintf("%s is a BTF tree (vmlinux.h and kconfig.h; the kernel has no kheaders): not for BCC_KERNEL_SOURCE, BCC needs real headers. %s", t.Path, toolenv.BTFTreeAdvice))
	}
	if o.output == "json" {
		if err := kheaders.DirStats(ctx, t); err != nil {
			return err
		}
		return a.printJSON(t)
	}
	_, err = fmt.Fprintln(a.stdout, t.Path)
	return err
}

func (a *app) fetchCmd() *cobra.Command {
	o := fetchOptions{fetch: fetchFlags{query: true}}
	cmd := &cobra.Command{
		Use:   "fetch",
		Short: "Print the path of the running kernel's headers, unpacking them into the cache if needed",
		Long: `Fetch finds the best source of the running kernel's headers, unpacks it into
the cache (safely, atomically, keyed by the archive's content) and prints the
tree's absolute path: ready for BCC_KERNEL_SOURCE or clang -I.

Sources, in order: --from PATH; /sys/kernel/kheaders.tar.xz; the kheaders
module on disk (read without loading it, or loaded with --load-module);
/lib/modules/$(uname -r)/build when it provably matches the running kernel;
with --registry REPO (or KH_REGISTRY), the artifact of the running kernel's
GNU build ID in that OCI repository (see kh push); else the kernel's BTF,
from which kh makes a BTF tree (vmlinux.h and kconfig.h). --registry with
--build-id or --release fetches another kernel's tree. -v logs each source
considered and why it was taken or skipped.

A BTF tree serves CO-RE programs (kh build, kh run) and bpftrace, which
reads BTF by itself; BCC cannot use it, so kh fetch warns. For BCC, use
--require kheaders (it fails rather than fall back to BTF), or kh exec,
which sets BCC_KERNEL_SOURCE only for real headers.`,
		Example: `  kh fetch
  kh fetch --from kheaders.tar.xz -o json
  KH_REGISTRY=registry.example/kernels/kh kh fetch
  kh fetch --registry registry.example/kernels/kh --build-id 3f802ec5...
  BCC_KERNEL_SOURCE=$(kh fetch --require kheaders) python3 tool.py`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return a.runFetch(cmd.Context(), &o) },
	}
	o.fetch.add(cmd)
	o.fetch.adb = &adbFlags{}
	o.fetch.adb.add(cmd, false)
	outputFlag(cmd, &o.output)
	return cmd
}
