// Package kmod finds kernel module files on disk and reads them without
// loading them: the ELF inside a plain or compressed (.xz, .zst, .gz) .ko,
// its .modinfo (vermagic), and the bytes between two symbols, which is how
// kheaders.ko and configs.ko carry their payloads.
package kmod

import (
	"bufio"
	"bytes"
	"debug/elf"
	"errors"
	"fmt"
	"github.com/khtool/kh/internal/fsutil"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/khtool/kh/internal/decompress"
	"github.com/khtool/kh/internal/kernel"
)

// MaxSize caps the size of a module file and of its decompressed ELF.
const MaxSize = 256 << 20

// Suffixes are the module file name endings searched, in order.
var Suffixes = []string{".ko", ".ko.xz", ".ko.zst", ".ko.gz"}

// Dirs returns the directories searched for the modules of a kernel
// release, in order: the standard /lib/modules/RELEASE and the module
// partitions of Android devices.
func Dirs(release string) []string {
	return []string{
		"/lib/modules/" + release,
		"/vendor/lib/modules",
		"/vendor_dlkm/lib/modules",
		"/system_dlkm/lib/modules",
		"/odm/lib/modules",
	}
}

// Find returns the files of module name (for example "kheaders") found in
// the module directories of release under root ("/" for the running
// system). Names match with '-' and '_' treated alike, as the kernel does.
// A module missing everywhere gives an empty slice and no error.
func Find(root, release, name string) []string {
	var found []string
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			found = append(found, p)
		}
	}
	for _, d := range Dirs(release) {
		dir := kernel.Path(root, d)
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			continue
		}
		before := len(found)
		// The usual places first: cheap stats, no directory walk.
		for _, sub := range []string{"kernel/kernel", "", release, release + "/kernel/kernel"} {
			for _, s := range Suffixes {
				p := filepath.Join(dir, sub, name+s)
				if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
					add(p)
				}
			}
		}
		if len(found) > before {
			continue
		}
		for _, p := range fromModulesDep(dir, name) {
			add(p)
		}
		if len(found) > before {
			continue
		}
		for _, p := range walk(dir, name) {
			add(p)
		}
	}
	return found
}

// NameOf returns the module name of a module file path: its base name
// without the .ko suffix, with '-' written as '_'.
func NameOf(path string) string {
	b := filepath.Base(path)
	if i := strings.Index(b, ".ko"); i >= 0 {
		b = b[:i]
	}
	return strings.ReplaceAll(b, "-", "_")
}

// fromModulesDep looks the module up in dir/modules.dep, which lists every
// module path relative to dir.
func fromModulesDep(dir, name string) []string {
	f, err := os.Open(filepath.Join(dir, "modules.dep"))
	if err != nil {
		return nil
	}
	defer f.Close()
	want := NameOf(name)
	var out []string
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		rel, _, ok := strings.Cut(sc.Text(), ":")
		if !ok || NameOf(rel) != want {
			continue
		}
		p := rel
		if !filepath.IsAbs(p) {
			p = filepath.Join(dir, rel)
		}
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() {
			out = append(out, p)
		}
	}
	return out
}

// walk searches dir recursively, to a bounded depth and number of entries.
func walk(dir, name string) []string {
	const maxDepth, maxEntries = 8, 200000
	want := NameOf(name)
	var out []string
	n := 0
	base := strings.Count(dir, string(filepath.Separator))
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if n++; n > maxEntries {
			return filepath.SkipAll
		}
		if d.IsDir() {
			if strings.Count(p, string(filepath.Separator))-base >= maxDepth {
				return filepath.SkipDir
			}
			return nil
		}
		if d.Type().IsRegular() && hasSuffix(p) && NameOf(p) == want {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func hasSuffix(p string) bool {
	for _, s := range Suffixes {
		if strings.HasSuffix(p, s) {
			return true
		}
	}
	return false
}

// Module is a module file read into memory and parsed as ELF.
type Module struct {
	// Path is where the module was read from ("" for Parse).
	Path string
	// Compression is the container the ELF came in (decompress.None for a
	// plain .ko).
	Compression decompress.Format
	// Image is the decompressed ELF image.
	Image []byte

	elf *elf.File
}

// Open reads and parses the module file at path.
func Open(path string) (*Module, error) {
	data, err := fsutil.ReadRegular(path, MaxSize)
	if err != nil {
		return nil, err
	}
	m, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	m.Path = path
	return m, nil
}

// ErrNotModule means the data is not an ELF kernel module.
var ErrNotModule = errors.New("not a kernel module (no ELF header)")

// Parse parses module data, decompressing it first when it is an xz, zstd
// or gzip container.
func Parse(data []byte) (*Module, error) {
	m := &Module{Compression: decompress.Sniff(data)}
	if m.Compression != decompress.None {
		img, err := decompress.Decode(m.Compression, data, MaxSize)
		if err != nil {
			return nil, fmt.Errorf("decompress module: %w", err)
		}
		data = img
	}
	if !bytes.HasPrefix(data, []byte(elf.ELFMAG)) {
		return nil, ErrNotModule
	}
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("parse module ELF: %w", err)
	}
	m.Image, m.elf = data, f
	return m, nil
}

// ELF returns the parsed ELF file.
func (m *Module) ELF() *elf.File { return m.elf }

// Modinfo returns the values of key in the module's .modinfo section
// ("vermagic", "name", "depends", ...), in order.
func (m *Module) Modinfo(key string) []string {
	sec := m.elf.Section(".modinfo")
	if sec == nil || sec.Type == elf.SHT_NOBITS {
		return nil
	}
	data, err := m.section(sec)
	if err != nil {
		return nil
	}
	var out []string
	for _, kv := range bytes.Split(data, []byte{0}) {
		k, v, ok := bytes.Cut(kv, []byte("="))
		if ok && string(k) == key {
			out = append(out, string(v))
		}
	}
	return out
}

// Vermagic returns the module's vermagic string, e.g. "6.1.192 SMP mod_unload".
func (m *Module) Vermagic() string {
	if v := m.Modinfo("vermagic"); len(v) > 0 {
		return v[0]
	}
	return ""
}

// Release returns the kernel release the module was built for: the first
// word of its vermagic.
func (m *Module) Release() string {
	f := strings.Fields(m.Vermagic())
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// Between returns the bytes from symbol start up to symbol end, which must
// lie in the same section. The slice aliases the module image.
func (m *Module) Between(start, end string) ([]byte, error) {
	syms, err := m.elf.Symbols()
	if err != nil {
		return nil, fmt.Errorf("read symbols: %w", err)
	}
	var s, e *elf.Symbol
	for i := range syms {
		switch syms[i].Name {
		case start:
			s = &syms[i]
		case end:
			e = &syms[i]
		}
	}
	if s == nil || e == nil {
		return nil, fmt.Errorf("symbols %s and %s not found", start, end)
	}
	if s.Section != e.Section || s.Section == elf.SHN_UNDEF || int(s.Section) >= len(m.elf.Sections) {
		return nil, fmt.Errorf("symbols %s and %s are not in one section", start, end)
	}
	sec := m.elf.Sections[s.Section]
	data, err := m.section(sec)
	if err != nil {
		return nil, err
	}
	lo, hi := s.Value, e.Value
	if m.elf.Type != elf.ET_REL { // addresses, not section offsets
		lo -= sec.Addr
		hi -= sec.Addr
	}
	if lo > hi || hi > uint64(len(data)) {
		return nil, fmt.Errorf("symbols %s..%s (%#x..%#x) lie outside section %s (%d bytes)", start, end, lo, hi, sec.Name, len(data))
	}
	return data[lo:hi], nil
}

// section returns a section's bytes, aliasing the image where possible.
func (m *Module) section(sec *elf.Section) ([]byte, error) {
	if sec.Type == elf.SHT_NOBITS {
		return nil, fmt.Errorf("section %s has no data", sec.Name)
	}
	if sec.Flags&elf.SHF_COMPRESSED == 0 {
		if sec.Offset > uint64(len(m.Image)) || sec.Size > uint64(len(m.Image))-sec.Offset {
			return nil, fmt.Errorf("section %s lies outside the file", sec.Name)
		}
		return m.Image[sec.Offset : sec.Offset+sec.Size], nil
	}
	return sec.Data()
}
