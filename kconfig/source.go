package kconfig

import (
	"context"
	"errors"
	"fmt"
	"github.com/khtool/kh/internal/fsutil"
	"github.com/khtool/kh/internal/logx"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"

	"github.com/khtool/kh/internal/decompress"
	"github.com/khtool/kh/internal/kernel"
	"github.com/khtool/kh/internal/kmod"
)

// ErrNoConfig means no kernel configuration was found where it was
// looked for (the running kernel's usual places, or a directory).
var ErrNoConfig = errors.New("no configuration found")

// errNoConfigInDir is ErrNoConfig for a directory, worded for it.
var errNoConfigInDir = noConfigError("no kernel configuration in this directory")

// noConfigError is an ErrNoConfig with its own wording.
type noConfigError string

func (e noConfigError) Error() string        { return string(e) }
func (e noConfigError) Is(target error) bool { return target == ErrNoConfig }

// SourceKind says what kind of place a configuration was read from.
type SourceKind string

const (
	// SourceProc is /proc/config.gz of the running kernel
	// (CONFIG_IKCONFIG_PROC).
	SourceProc SourceKind = "proc"
	// SourceBoot is /boot/config-RELEASE, installed with the kernel.
	SourceBoot SourceKind = "boot"
	// SourceModule is the configs module (CONFIG_IKCONFIG=m) read from
	// disk without loading it.
	SourceModule SourceKind = "module"
	// SourceFile is a configuration file: .config, auto.conf, autoconf.h,
	// plain or compressed (config.gz).
	SourceFile SourceKind = "file"
	// SourceImage is a kernel image, module or other blob holding an
	// embedded configuration (IKCFG_ST ... IKCFG_ED).
	SourceImage SourceKind = "image"
	// SourceTree is a kernel header or build tree: its
	// include/config/auto.conf or include/generated/autoconf.h.
	SourceTree SourceKind = "tree"
)

// Source names where a configuration came from.
type Source struct {
	Kind     SourceKind `json:"kind"`
	Location string     `json:"location"`
	// Detail says more where there is more to say, such as where in a
	// kernel image the configuration was found.
	Detail string `json:"detail,omitempty"`
}

func (s Source) String() string {
	if s.Detail == "" {
		return fmt.Sprintf("%s %s", s.Kind, s.Location)
	}
	return fmt.Sprintf("%s %s (%s)", s.Kind, s.Location, s.Detail)
}

// Options tells the loaders where to look. The zero value means the
// running system.
type Options struct {
	// Root is the root directory the system paths are under ("" or "/"
	// for the running system; a fake root in tests).
	Root string
	// Release is the kernel release (uname -r) whose files are looked
	// for; "" means the running kernel's.
	Release string
	// Logger receives a debug message for each place tried; nil
	// discards them.
	Logger *slog.Logger
}

func (o Options) logger() *slog.Logger {
	return logx.OrDiscard(o.Logger)
}

func (o Options) release() (string, error) { return kernel.Release(o.Release) }

// MaxFileSize caps the size of a file read as a configuration source.
const MaxFileSize = MaxImageSize

// RunningFiles returns the files Running reads, in its order, before it
// looks for the configs module (kmod.Find(root, release, "configs")):
// /proc/config.gz, then /boot/config-RELEASE. Paths are absolute on the
// system (below Options.Root when one is given).
func RunningFiles(release string) []string {
	return []string{"/proc/config.gz", "/boot/config-" + release}
}

// Running returns the configuration of the running kernel (of
// opts.Release under opts.Root), from the first of these that has it:
// /proc/config.gz, /boot/config-RELEASE, and the configs module
// (configs.ko, plain or compressed, in /lib/modules/RELEASE or Android's
// module partitions), read from the file without loading it.
//
// /boot/config-RELEASE belongs to the release, not necessarily to the
// exact build that is running; the other two come from the kernel itself.
func Running(ctx context.Context, opts Options) (*Config, error) {
	log := opts.logger()
	release, err := opts.release()
	if err != nil {
		return nil, err
	}
	var tried []string
	files := RunningFiles(release)
	for i, kind := range []SourceKind{SourceProc, SourceBoot} {
		p := kernel.Path(opts.Root, files[i])
		c, err := readConfigFile(p, kind == SourceProc)
		if err == nil {
			c.Source = Source{Kind: kind, Location: p}
			log.Debug("config: read", "source", p)
			return c, nil
		}
		log.Debug("config: not usable", "source", p, "err", err)
		option := ""
		if kind == SourceProc {
			option = "CONFIG_IKCONFIG_PROC"
		}
		tried = append(tried, describeMiss(p, err, option))
	}

	mods := kmod.Find(opts.Root, release, "configs")
	for _, p := range mods {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		m, err := kmod.Open(p)
		if err == nil {
			var cfg []byte
			if cfg, err = configBetween(m); err == nil {
				var c *Config
				if c, err = Parse(cfg); err == nil {
					c.Source = Source{Kind: SourceModule, Location: p, Detail: "between " + symConfigStart + " and " + symConfigEnd}
					log.Debug("config: read", "source", p)
					return c, nil
				}
			}
		}
		log.Debug("config: not usable", "source", p, "err", err)
		tried = append(tried, fmt.Sprintf("%s: %v", p, err))
	}
	if len(mods) == 0 {
		var dirs []string
		for _, d := range kmod.Dirs(release) {
			dirs = append(dirs, kernel.Path(opts.Root, d))
		}
		tried = append(tried, "configs module (CONFIG_IKCONFIG=m): not found in "+strings.Join(dirs, ", "))
	}
	return nil, fmt.Errorf("%w for the running kernel %s: %s", ErrNoConfig, release, strings.Join(tried, "; "))
}

func describeMiss(path string, err error, option string) string {
	if errors.Is(err, fs.ErrNotExist) {
		if option != "" {
			return fmt.Sprintf("%s: not present (%s)", path, option)
		}
		return path + ": not present"
	}
	return err.Error()
}

// readConfigFile reads a .config, gzip-compressed when gz is set.
func readConfigFile(path string, gz bool) (*Config, error) {
	data, err := fsutil.ReadRegular(path, MaxConfigSize)
	if err != nil {
		return nil, err
	}
	if gz {
		if data, err = decompress.Decode(decompress.Gzip, data, MaxConfigSize); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// Open reads a configuration from path: a directory is a header tree
// (OpenTree), a file is anything Load understands.
func Open(ctx context.Context, path string) (*Config, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if fi.IsDir() {
		return OpenTree(path)
	}
	data, err := fsutil.ReadRegular(path, MaxFileSize)
	if err != nil {
		return nil, err
	}
	c, err := Load(ctx, data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	c.Source.Location = path
	return c, nil
}

// Load reads a configuration from the contents of a file: a .config or
// auto.conf, an autoconf.h, either of them compressed (config.gz), or
// a kernel image, module or boot image with an embedded configuration
// (see Extract). The returned Source has no Location.
func Load(ctx context.Context, data []byte) (*Config, error) {
	if len(data) == 0 {
		return nil, fmt.Errorf("empty file, not a kernel configuration or image")
	}
	if f := decompress.Sniff(data); f != decompress.None && decompress.HeaderOK(f, data) {
		// config.gz, or a compressed kernel or module: look at the start
		// of the decoded data to tell.
		if text, ok := decodeIfText(f, data); ok {
			c, err := parseText(text)
			if err != nil {
				return nil, fmt.Errorf("%s-compressed text: %w", f, err)
			}
			c.Source = Source{Kind: SourceFile, Detail: string(f) + "-compressed"}
			return c, nil
		}
	} else if isText(data) {
		c, err := parseText(data)
		if err != nil {
			return nil, err
		}
		c.Source = Source{Kind: SourceFile}
		return c, nil
	}
	cfg, where, err := Extract(ctx, data)
	if err != nil {
		return nil, err
	}
	c, err := Parse(cfg)
	if err != nil {
		return nil, fmt.Errorf("configuration embedded at %s: %w", where, err)
	}
	c.Source = Source{Kind: SourceImage, Detail: where}
	return c, nil
}

// decodeIfText decodes a compressed file whose content is text (a
// compressed configuration); ok is false for anything else.
func decodeIfText(f decompress.Format, data []byte) ([]byte, bool) {
	r, err := decompress.NewReader(f, data, MaxConfigSize)
	if err != nil {
		return nil, false
	}
	defer r.Close()
	head := make([]byte, 4096)
	n, err := io.ReadFull(r, head)
	head = head[:n]
	if n == 0 || !isText(head) {
		return nil, false
	}
	if err != nil { // short: all of it
		return head, true
	}
	rest, err := io.ReadAll(r)
	if err != nil {
		return nil, false
	}
	return append(head, rest...), true
}

// isText reports whether data looks like a text file: no NUL byte and no
// other control characters but whitespace in its first 8 KiB.
func isText(data []byte) bool {
	head := data[:min(len(data), 8192)]
	for _, c := range head {
		if c < 0x20 && c != '\n' && c != '\r' && c != '\t' && c != '\f' {
			return false
		}
	}
	return true
}

// parseText parses a .config or auto.conf, or an autoconf.h when the
// first line that is not blank or a comment is a #define.
func parseText(data []byte) (*Config, error) {
	for _, l := range strings.Split(stripComments(string(data[:min(len(data), 1<<16)])), "\n") {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, "# ") || t == "#" {
			continue
		}
		if strings.HasPrefix(t, "#define") {
			return ParseAutoconf(data)
		}
		break
	}
	return Parse(data)
}

// Tree files, relative to a header or build tree, in the order OpenTree
// tries them.
var treeFiles = []string{"include/config/auto.conf", "include/generated/autoconf.h", ".config"}

// OpenTree reads the configuration of a kernel header or build tree: its
// include/config/auto.conf where present (what the build used), else
// include/generated/autoconf.h read back (see ParseAutoconf for what
// that loses), else a .config at its top.
func OpenTree(dir string) (*Config, error) {
	for _, rel := range treeFiles {
		p := filepath.Join(dir, rel)
		data, err := fsutil.ReadRegular(p, MaxConfigSize)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		var c *Config
		if strings.HasSuffix(rel, ".h") {
			c, err = ParseAutoconf(data)
		} else {
			c, err = Parse(data)
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", p, err)
		}
		c.Source = Source{Kind: SourceTree, Location: dir, Detail: rel}
		return c, nil
	}
	return nil, fmt.Errorf("%s: %w (looked for %s)", dir, errNoConfigInDir, strings.Join(treeFiles, ", "))
}
