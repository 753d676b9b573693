package adb

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/khtool/kh/btf"
	"github.com/khtool/kh/kconfig"
	"github.com/khtool/kh/kheaders"
)

// TransferError is a file that did not arrive whole from the device:
// truncated, corrupt (its SHA-256 differs from the device's), or
// unreadable there.
type TransferError struct {
	Serial, Path string
	Reason       string
}

func (e *TransferError) Error() string {
	return fmt.Sprintf("pull %s from device %s: %s", e.Path, e.Serial, e.Reason)
}

// VermagicError is a kheaders module on the device built for another
// kernel than the one it runs.
type VermagicError struct {
	Path            string
	Module, Running string
}

func (e *VermagicError) Error() string {
	return fmt.Sprintf("the module is for kernel %q, but the device runs %q (vermagic mismatch)", e.Module, e.Running)
}

// maxPull bounds what is pulled from a device into memory.
const maxPull = 256 << 20

// ReadFile reads a file on the device in one adb round trip, as root if
// the device gives root (info.Root), checking that it arrives whole: the
// device prints the SHA-256 of what it sent after the bytes, and size, if
// not negative, is the size the file must have.
func (d *Device) ReadFile(ctx context.Context, info *Info, path string, size int64) ([]byte, error) {
	return d.readFile(ctx, info, path, size, true)
}

// readFile is ReadFile; without digest, only the size and the end marker
// are checked (for archives, whose xz checks cover every byte that
// matters: see checkedPublish).
func (d *Device) readFile(ctx context.Context, info *Info, path string, size int64, digest bool) ([]byte, error) {
	fail := func(f string, a ...any) error {
		return &TransferError{Serial: d.Serial, Path: path, Reason: fmt.Sprintf(f, a...)}
	}
	p := Quote(path)
	sum := "\"kh-sum $(sha256sum " + p + ")\""
	if !digest {
		sum = "kh-sum"
	}
	line := "if cat " + p + "; then echo; echo " + sum + "; else echo; echo kh-fail; fi"
	out, err := d.ExecOut(ctx, info.AsRoot(line))
	if err != nil {
		return nil, err
	}
	if bytes.HasSuffix(out, []byte("\nkh-fail\n")) && (size < 0 || int64(len(out)) < size+16) {
		why := tail(string(out[:len(out)-len("\nkh-fail\n")]))
		if info.Root == RootNone && info.UID != 0 {
			return nil, fail("%s (as uid %d: %v)", why, info.UID, ErrNoRoot)
		}
		return nil, fail("%s", why)
	}
	i := bytes.LastIndex(out, []byte("\nkh-sum"))
	if i < 0 || !bytes.HasSuffix(out, []byte("\n")) {
		return nil, fail("the transfer ended early (%d bytes arrived; the device went away?)", len(out))
	}
	data, trailer := out[:i], strings.Fields(string(out[i+len("\nkh-sum"):]))
	if size >= 0 && int64(len(data)) != size {
		return nil, fail("%d bytes arrived, the file has %d", len(data), size)
	}
	if len(data) > maxPull {
		return nil, fail("%d bytes is more than kh pulls (%d)", len(data), maxPull)
	}
	if !digest {
		return data, nil
	}
	if len(trailer) == 0 || len(trailer[0]) != 64 {
		return nil, fail("the device printed no SHA-256 (no sha256sum?)")
	}
	digestSum := sha256.Sum256(data)
	if got := hex.EncodeToString(digestSum[:]); got != trailer[0] {
		return nil, fail("corrupt: SHA-256 %s on the host, %s on the device", got[:16], trailer[0][:16])
	}
	return data, nil
}

// explain says whether an archive pulled from the device that kh refuses
// was damaged on the way (the device's SHA-256 of the file differs: a
// *TransferError) or is bad on the device too (err unchanged).
func (d *Device) explain(ctx context.Context, info *Info, path string, data []byte, err error) error {
	out, xerr := d.ExecOut(ctx, info.AsRoot("sha256sum "+Quote(path)+" 2>&1"))
	f := strings.Fields(string(out))
	if xerr != nil || len(f) == 0 || len(f[0]) != 64 {
		return err
	}
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); got != f[0] {
		return &TransferError{Serial: d.Serial, Path: path, Reason: fmt.Sprintf("corrupt: SHA-256 %s on the host, %s on the device", got[:16], f[0][:16])}
	}
	return err
}

// checkedPublish publishes an archive pulled without a digest: the
// extraction verifies the whole xz stream (block checks, index, footer),
// so a byte damaged on the way fails it, and explain then tells the
// transfer from the file.
func (d *Device) checkedPublish(ctx context.Context, info *Info, opts kheaders.Options, path string, data []byte, a *kheaders.Archive, key string) (*kheaders.Tree, error) {
	t, err := kheaders.Publish(ctx, opts, a, key)
	var ae *kheaders.ArchiveError
	if errors.As(err, &ae) {
		return nil, d.explain(ctx, info, path, data, err)
	}
	return t, err
}

// hintKey is the identity of a device's header source: the kernel's
// build ID and release, and the source file's path and stat identity
// (for the sysfs archive of a loaded module, also the boot). Its tree is
// reused without pulling the source again.
func hintKey(info *Info, kind string, f *File, extra string) string {
	parts := []string{"kh adb 1", kind, info.Release, info.BuildID, extra}
	if f != nil {
		parts = append(parts, f.Path, fmt.Sprint(f.Size, f.MTime, f.Inode))
	}
	if kind == "sysfs" && info.SysfsLoaded {
		parts = append(parts, info.BootID)
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

func location(serial, path string) string { return serial + ":" + path }

// Fetch returns a header tree in the host's cache (opts.CacheDir,
// opts.AllowDisk, opts.Limits, opts.Require and opts.Log are used) for
// the kernel the device runs. It picks the source as kh fetch does on the
// device: /sys/kernel/kheaders.tar.xz, then the kheaders module files
// (read, not loaded; their vermagic must name the device's release),
// then, unless opts.Require is kheaders.KindHeaders, a tree made from
// the device's BTF and configuration. It pulls only the source it uses;
// a second Fetch for the same device and boot costs one adb round trip.
// The Info is the device's probe.
//
// On a warm Fetch the Info has only Serial, Release, BootID and BuildID.
func Fetch(ctx context.Context, d *Device, opts kheaders.Options) (*kheaders.Tree, *Info, error) {
	if t, info, ok := quickFetch(ctx, d, opts); ok {
		return t, info, nil
	}
	info, err := d.Probe(ctx)
	if err != nil {
		return nil, nil, err
	}
	t, err := fetchFrom(ctx, d, info, opts)
	if err == nil {
		if herr := kheaders.RecordHint(opts, deviceKey(d.Serial), t); herr != nil {
			d.log.Debug("could not record a cache hint", "err", herr)
		}
	}
	return t, info, err
}

// deviceKey names the hint to the source (and tree) the last Fetch from
// a device used.
func deviceKey(serial string) string {
	sum := sha256.Sum256([]byte("kh adb device 1\x00" + serial))
	return hex.EncodeToString(sum[:16])
}

// quickFetch is a warm Fetch: the source the last Fetch from this device
// used, proven unchanged (same kernel build, same file) by one short
// round trip, and its tree still in the cache.
func quickFetch(ctx context.Context, d *Device, opts kheaders.Options) (*kheaders.Tree, *Info, bool) {
	hints := kheaders.NewHints(opts)
	last, ok := hints.Lookup(deviceKey(d.Serial))
	if !ok {
		return nil, nil, false
	}
	kind := string(last.Source.Kind)
	path, ok := strings.CutPrefix(last.Source.Location, d.Serial+":")
	if !ok || (kind != "sysfs" && kind != "module" && kind != "btf") {
		return nil, nil, false
	}
	out, err := d.ExecOut(ctx, quickScript(path))
	if err != nil {
		return nil, nil, false
	}
	info, err := parseProbe(d.Serial, out, quickMagic)
	if err != nil || info.quick == nil || info.quick.Path != path {
		return nil, nil, false
	}
	extra := ""
	if kind == "btf" {
		extra = fmt.Sprint(info.Config)
	}
	t, ok := hints.Lookup(hintKey(info, kind, info.quick, extra))
	if !ok || t.Release != info.Release || t.Path != last.Path {
		return nil, nil, false
	}
	d.log.Debug("cache hit (the device's source is unchanged)", "path", t.Path)
	if kind == "btf" {
		d.log.Warn(btfWarning, "path", t.Path)
	}
	info.quick = nil
	return t, info, true
}

const btfWarning = "no kheaders source on the device: using a tree made from its BTF (vmlinux.h and kconfig.h); it serves CO-RE BPF programs, not BCC, which needs real headers"

func fetchFrom(ctx context.Context, d *Device, info *Info, opts kheaders.Options) (*kheaders.Tree, error) {
	log := opts.Log
	if log == nil {
		log = d.log
	}
	nf := &kheaders.NotFoundError{Release: info.Release}
	skip := func(what, why string) {
		log.Debug("source skipped", "source", what, "why", why)
		nf.Looked = append(nf.Looked, location(d.Serial, what)+": "+why)
	}
	cached := func(key string) (*kheaders.Tree, bool) {
		t, ok := kheaders.LookupHint(opts, key)
		if ok && t.Release == info.Release {
			log.Debug("cache hit (the device's source is unchanged)", "path", t.Path)
			return t, true
		}
		return nil, false
	}

	if f := info.Sysfs; f != nil {
		key := hintKey(info, "sysfs", f, "")
		if t, ok := cached(key); ok {
			return t, nil
		}
		log.Debug("source taken", "source", "sysfs", "device", d.Serial)
		data, err := d.readFile(ctx, info, f.Path, f.Size, false)
		if err != nil {
			return nil, err
		}
		a := &kheaders.Archive{Data: data, Source: kheaders.Source{Kind: kheaders.SourceSysfs, Location: location(d.Serial, f.Path)}, Release: info.Release}
		return d.checkedPublish(ctx, info, opts, f.Path, data, a, key)
	}
	skip(kheaders.SysfsArchive, "absent")

	for _, f := range info.Modules {
		key := hintKey(info, "module", &f, "")
		if t, ok := cached(key); ok {
			return t, nil
		}
		log.Debug("source taken", "source", "module", "device", d.Serial, "path", f.Path)
		data, err := d.readFile(ctx, info, f.Path, f.Size, false)
		if err != nil {
			return nil, err
		}
		a, err := kheaders.ParseArchive(data, location(d.Serial, f.Path))
		if err != nil {
			if err := d.explain(ctx, info, f.Path, data, err); errors.As(err, new(*TransferError)) {
				return nil, err
			}
			log.Debug("kheaders module not used", "module", f.Path, "why", err)
			skip(f.Path, err.Error())
			continue
		}
		if a.Release != info.Release {
			var err error = &VermagicError{Path: location(d.Serial, f.Path), Module: a.Release, Running: info.Release}
			if err := d.explain(ctx, info, f.Path, data, err); errors.As(err, new(*TransferError)) {
				return nil, err
			}
			log.Debug("kheaders module not used", "module", f.Path, "why", err)
			skip(f.Path, err.Error())
			continue
		}
		a.Source = kheaders.Source{Kind: kheaders.SourceModule, Location: location(d.Serial, f.Path)}
		return d.checkedPublish(ctx, info, opts, f.Path, data, a, key)
	}
	if len(info.Modules) == 0 {
		skip("kheaders module", "none in /system_dlkm, /vendor_dlkm, /vendor, /odm or /lib/modules/"+info.Release)
	}

	if opts.Require == kheaders.KindHeaders {
		skip(btf.KernelPath, "not used: --require kheaders")
		return nil, nf
	}
	if info.BTF == nil {
		skip(btf.KernelPath, "absent (no CONFIG_DEBUG_INFO_BTF)")
		return nil, nf
	}
	key := hintKey(info, "btf", info.BTF, fmt.Sprint(info.Config))
	if t, ok := cached(key); ok && t.Kind == kheaders.KindBTF {
		log.Warn(btfWarning, "path", t.Path)
		return t, nil
	}
	data, err := d.ReadFile(ctx, info, info.BTF.Path, -1)
	if err != nil {
		return nil, err
	}
	var cfg *kconfig.Config
	if info.Config {
		if cfg, err = d.Config(ctx, info); err != nil {
			log.Debug("no kernel configuration for kconfig.h", "err", err)
			cfg = nil
		}
	}
	in := kheaders.BTFInput{BTF: data, Config: cfg, Release: info.Release, Arch: info.SrcArch(),
		Source: kheaders.Source{Kind: kheaders.SourceBTF, Location: location(d.Serial, info.BTF.Path)}}
	return kheaders.PublishBTF(ctx, opts, in, key)
}

// ErrNoConfig means the device exposes no /proc/config.gz.
var ErrNoConfig = errors.New("the device has no /proc/config.gz (CONFIG_IKCONFIG_PROC)")

// Config reads the device's kernel configuration from /proc/config.gz.
func (d *Device) Config(ctx context.Context, info *Info) (*kconfig.Config, error) {
	if !info.Config {
		return nil, ErrNoConfig
	}
	data, err := d.ReadFile(ctx, info, "/proc/config.gz", -1)
	if err != nil {
		return nil, err
	}
	cfg, err := kconfig.Load(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", location(d.Serial, "/proc/config.gz"), err)
	}
	return cfg, nil
}

// BTF reads the device's kernel BTF (/sys/kernel/btf/vmlinux).
func (d *Device) BTF(ctx context.Context, info *Info) ([]byte, error) {
	if info.BTF == nil {
		return nil, fmt.Errorf("device %s has no %s (CONFIG_DEBUG_INFO_BTF)", d.Serial, btf.KernelPath)
	}
	return d.ReadFile(ctx, info, info.BTF.Path, -1)
}
