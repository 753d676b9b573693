package kheaders

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/khtool/kh/btf"
	"github.com/khtool/kh/internal/kernel"
	"github.com/khtool/kh/kconfig"
	"golang.org/x/sys/unix"
)

// btfTreeVersion changes whenever what goes into a BTF tree changes, so
// trees made by an older kh are not reused. It is part of both the
// tree's digest and its hint key. 2: vmlinux.h as bpftool v7.7.0 writes
// it (sorted, kfunc prototypes, mode(byte) on 1-byte enums); 1 was
// bpftool v7.1.0's, with wrong sizes for structs holding 1-byte enums.
const btfTreeVersion = "kh btf tree 2"

// kconfigHeaderNone is kconfig.h when the kernel's configuration cannot
// be found.
const kconfigHeaderNone = "/* kh: the kernel's configuration was not found (no /proc/config.gz, /boot/config-RELEASE or configs module) */\n"

// tryBTF makes a BTF tree for the running kernel: vmlinux.h from its BTF
// and kconfig.h from its configuration. It reports false if the kernel has
// no BTF.
func (f *fetcher) tryBTF(ctx context.Context, release string) (*Tree, bool, error) {
	path := kernel.Path(f.opts.Root, btf.KernelPath)
	fi, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, true, fmt.Errorf("read %s: %w", path, err)
	}
	// A BTF this user may not read (Android's shell user) is a denied
	// source, whatever the state of the cache.
	if err := readable(path); err != nil {
		return nil, true, err
	}
	cfgText := []byte(nil)
	cfg, err := kconfig.Running(ctx, kconfig.Options{Root: f.opts.Root, Release: release, Logger: f.log})
	if err == nil {
		cfgText = cfg.Bytes()
	} else {
		f.log.Debug("no kernel configuration for kconfig.h", "err", err)
	}
	u, err := kernel.Running()
	if err != nil {
		return nil, true, err
	}
	src := Source{Kind: SourceBTF, Location: path}
	key := f.btfKey(release, u.Version, fi.Size(), cfgText)
	c, err := f.openCache()
	if err != nil {
		return nil, true, err
	}
	if t, ok := f.fromHint(key); ok && t.Release == release && t.Kind == KindBTF {
		f.warnBTF(t)
		return t, true, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, true, fmt.Errorf("read %s: %w", path, err)
	}
	t, err := f.publishBTF(ctx, data, cfg, release, kernel.SrcArch(u.Machine), src)
	if err != nil {
		return nil, true, err
	}
	if err := c.SetHint(key, t, src); err != nil {
		f.log.Debug("could not record a cache hint", "err", err)
	}
	f.warnBTF(t)
	return t, true, nil
}

// publishBTF returns the cached BTF tree of raw BTF data and a kernel
// configuration (nil if unknown), making it if needed. Its key is a
// digest of both, so the same BTF and configuration give the same tree
// wherever they came from.
func (f *fetcher) publishBTF(ctx context.Context, data []byte, cfg *kconfig.Config, release, arch string, src Source) (*Tree, error) {
	c, err := f.openCache()
	if err != nil {
		return nil, err
	}
	var cfgText []byte
	if cfg != nil {
		cfgText = cfg.Bytes()
	}
	digest := btfTreeDigest(data, cfgText)
	extracted := false
	t, err := c.Publish(ctx, digest, func(ctx context.Context, dir string) (Manifest, error) {
		extracted = true
		f.log.Debug("making a BTF tree", "btf", src.Location, "into", dir)
		spec, err := btf.Parse(data)
		if err != nil {
			return Manifest{}, fmt.Errorf("%s: %w", src.Location, err)
		}
		var m Manifest
		n, err := writeTreeFile(dir, BTFHeader, func(w *bufio.Writer) error { return btf.WriteC(ctx, w, spec, nil) })
		if err != nil {
			return m, err
		}
		header := []byte(kconfigHeaderNone)
		if cfg != nil {
			header = cfg.AutoconfBytes()
		}
		k, err := writeTreeFile(dir, BTFConfigHeader, func(w *bufio.Writer) error { _, err := w.Write(header); return err })
		if err != nil {
			return m, err
		}
		return Manifest{Kind: KindBTF, Release: release, Arch: arch, Source: src, Files: 2, Bytes: n + k}, nil
	})
	if err != nil {
		return nil, err
	}
	if t.Kind != KindBTF || t.Release != release {
		return nil, fmt.Errorf("%s: the cached tree %s is a %s tree of %s, not a BTF tree of %s", src.Location, t.Path, t.Kind, t.Release, release)
	}
	t.Cached = !extracted
	t.Source = src
	return t, nil
}

// btfTreeDigest is the cache key of a BTF tree: a digest of its inputs.
func btfTreeDigest(btfData, cfgText []byte) string {
	h := sha256.New()
	h.Write([]byte(btfTreeVersion + "\x00"))
	h.Write(btfData)
	h.Write([]byte{0})
	h.Write(cfgText)
	return hex.EncodeToString(h.Sum(nil))
}

// warnBTF notes (at info level: shown with kh -v) that the tree is a
// BTF tree; the commands whose users it affects warn themselves, once.
func (f *fetcher) warnBTF(t *Tree) {
	f.log.Info("no kheaders source: using a tree made from the kernel's BTF (vmlinux.h and kconfig.h); it serves CO-RE BPF programs, not BCC, which needs real headers", "path", t.Path)
}

// btfKey identifies the BTF tree's inputs cheaply: the BTF is part of
// vmlinux, so the kernel's build ID covers it; the configuration is hashed.
func (f *fetcher) btfKey(release, version string, size int64, cfg []byte) string {
	kid, err := kernel.BuildID(kernel.Path(f.opts.Root, kernelNotes))
	if err != nil {
		return ""
	}
	sum := sha256.Sum256([]byte(fmt.Sprintf("btf\x00%s\x00%s\x00%s\x00%d\x00%x\x00%s", release, version, kid, size, sha256.Sum256(cfg), btfTreeVersion)))
	return hex.EncodeToString(sum[:16])
}

// writeTreeFile creates a read-only file in a staging directory and
// returns its size.
func writeTreeFile(dir, name string, write func(w *bufio.Writer) error) (int64, error) {
	p := filepath.Join(dir, name)
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL|unix.O_NOFOLLOW, 0o444)
	if err != nil {
		return 0, fmt.Errorf("create %s: %w", p, err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	err = write(w)
	if err == nil {
		err = w.Flush()
	}
	if err == nil {
		err = f.Chmod(0o444)
	}
	if err != nil {
		if errors.Is(err, unix.ENOSPC) || errors.Is(err, unix.EDQUOT) {
			err = ErrNoSpace
		}
		return 0, fmt.Errorf("write %s: %w", p, err)
	}
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	return fi.Size(), nil
}
