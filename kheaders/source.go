package kheaders

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/khtool/kh/internal/fsutil"
	"os"
	"path/filepath"
	"strings"

	"github.com/khtool/kh/internal/decompress"
	"github.com/khtool/kh/internal/kernel"
	"github.com/khtool/kh/internal/kmod"
	"golang.org/x/sys/unix"
)

// Well-known locations, relative to the filesystem root.
const (
	SysfsArchive = "/sys/kernel/kheaders.tar.xz"
	kernelNotes  = "/sys/kernel/notes"
	moduleNotes  = "/sys/module/kheaders/notes/.note.gnu.build-id"
	moduleDir    = "/sys/module/kheaders"
	procConfig   = "/proc/config.gz"
)

// The symbols between which kheaders.ko carries its archive.
const (
	symStart = "kernel_headers_data"
	symEnd   = "kernel_headers_data_end"
)

// Archive is a kheaders archive (the bytes of kheaders.tar.xz) and where
// it came from.
type Archive struct {
	Data   []byte
	Source Source
	// Release is the kernel release the source vouches for: uname -r for
	// the running kernel's sources, the vermagic of a module file, ""
	// for a bare archive file. Fetch refuses an archive whose
	// include/generated/utsrelease.h says otherwise.
	Release string
}

// Digest returns the hex SHA-256 of the archive: the cache key.
func (a *Archive) Digest() string {
	sum := sha256.Sum256(a.Data)
	return hex.EncodeToString(sum[:])
}

// ErrNotArchive means a file is neither a kheaders archive nor a kernel
// module.
var ErrNotArchive = errors.New("neither a kheaders archive (tar.xz) nor a kernel module")

// ReadArchive reads a kheaders archive from a file: an xz archive
// (kheaders.tar.xz), or a kheaders module (kheaders.ko, plain or .xz,
// .zst, .gz), whose embedded archive is read without loading it.
func ReadArchive(path string) (*Archive, error) {
	data, err := fsutil.ReadRegular(path, kmod.MaxSize)
	if err != nil {
		return nil, err
	}
	return parseArchive(data, path)
}

// ParseArchive is ReadArchive for bytes already read, for example pulled
// from a device; name is the Source.Location and names it in errors.
func ParseArchive(data []byte, name string) (*Archive, error) {
	return parseArchive(data, name)
}

// parseArchive is ReadArchive for the bytes read from path.
func parseArchive(data []byte, path string) (*Archive, error) {
	if bytes.HasPrefix(data, xzMagic) {
		// An xz file may be an archive or a compressed module: only the
		// latter decompresses to ELF, and its first bytes tell.
		if !xzHoldsELF(data) {
			return &Archive{Data: data, Source: Source{Kind: SourceFile, Location: path}}, nil
		}
	}
	m, err := kmod.Parse(data)
	if errors.Is(err, kmod.ErrNotModule) {
		return nil, fmt.Errorf("%s: %w", path, ErrNotArchive)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	a, err := archiveFromModule(m)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	a.Source.Location = path
	return a, nil
}

// xzHoldsELF tells whether an xz stream decompresses to an ELF file, by
// decoding only its first bytes.
func xzHoldsELF(data []byte) bool {
	head, err := decompress.Head(decompress.XZ, data, 4)
	return err == nil && bytes.Equal(head, []byte("\x7fELF"))
}

func archiveFromModule(m *kmod.Module) (*Archive, error) {
	if names := m.Modinfo("name"); len(names) > 0 && names[0] != "kheaders" {
		return nil, fmt.Errorf("module %q is not kheaders", names[0])
	}
	data, err := m.Between(symStart, symEnd)
	if err != nil {
		return nil, fmt.Errorf("not a kheaders module: %w", err)
	}
	return &Archive{Data: data, Source: Source{Kind: SourceModule, Location: m.Path}, Release: m.Release()}, nil
}

// SourceKey returns a short identity of an archive source that changes
// whenever the archive could: a file's device, inode, size, and change
// times; for the sysfs file, the GNU build ID of the running kernel and of
// the loaded kheaders module. It lets a warm fetch find its tree without
// reading and hashing the archive. It returns "" where no such proof is
// available, and Fetch then hashes the archive: among others for a file
// that another user owns or can write, since its owner can change it
// without changing any of those (writing through a shared mmap keeps
// the change times on tmpfs).
func SourceKey(root string, src Source, release string) string {
	var parts []string
	switch src.Kind {
	case SourceSysfs:
		// The archive is in the kheaders module if loaded, else built
		// into vmlinux: either way covered by a build ID.
		kid, err := kernel.BuildID(kernel.Path(root, kernelNotes))
		if err != nil {
			return ""
		}
		mid := "builtin"
		if _, err := os.Stat(kernel.Path(root, moduleDir)); err == nil {
			if mid, err = kernel.BuildID(kernel.Path(root, moduleNotes)); err != nil {
				return ""
			}
		}
		u, err := kernel.Running()
		if err != nil {
			return ""
		}
		fi, err := os.Stat(src.Location)
		if err != nil {
			return ""
		}
		parts = []string{"sysfs", release, u.Version, kid, mid, fmt.Sprint(fi.Size())}
	case SourceModule, SourceFile:
		var st unix.Stat_t
		if err := unix.Stat(src.Location, &st); err != nil {
			return ""
		}
		return fileKey(src, release, &st)
	default:
		return ""
	}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// fileKey is SourceKey for a file with status st (from fstat of the
// file that is read, where the caller has it open).
func fileKey(src Source, release string, st *unix.Stat_t) string {
	if st.Mode&unix.S_IFMT != unix.S_IFREG || (st.Uid != 0 && int(st.Uid) != os.Geteuid()) || st.Mode&0o022 != 0 {
		return ""
	}
	abs, _ := filepath.Abs(src.Location)
	parts := []string{string(src.Kind), release, abs, fmt.Sprint(st.Dev, st.Ino, st.Size, st.Mtim.Nano(), st.Ctim.Nano())}
	sum := sha256.Sum256([]byte(strings.Join(parts, "\x00")))
	return hex.EncodeToString(sum[:16])
}

// loadModule loads a kheaders module file into the running kernel with
// finit_module(2), letting the kernel decompress it where it can; an
// already loaded module is fine.
func loadModule(m *kmod.Module) error {
	f, err := os.Open(m.Path)
	if err != nil {
		return err
	}
	defer f.Close()
	flags := 0
	if m.Compression != decompress.None {
		flags = unix.MODULE_INIT_COMPRESSED_FILE
	}
	err = unix.FinitModule(int(f.Fd()), "", flags)
	if err != nil && flags != 0 && !errors.Is(err, unix.EEXIST) && !errors.Is(err, unix.EPERM) {
		// The kernel cannot decompress this format: hand it the ELF.
		err = unix.InitModule(m.Image, "")
	}
	switch {
	case err == nil, errors.Is(err, unix.EEXIST):
		return nil
	case errors.Is(err, unix.EPERM):
		return fmt.Errorf("load %s: %w (needs root with CAP_SYS_MODULE, and module loading not disabled or locked down)", m.Path, err)
	}
	return fmt.Errorf("load %s: %w", m.Path, err)
}
