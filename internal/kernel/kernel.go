// Package kernel answers small questions about a Linux kernel: its release
// and machine (uname), the kernel's source-architecture name (SRCARCH) for a
// machine or GOARCH, and the GNU build ID that identifies one exact build.
//
// Everything takes a root directory (normally "/") so tests can point it at
// a fake /sys.
package kernel

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
)

// Uname is the part of uname(2) that kh uses.
type Uname struct {
	Release string // uname -r, e.g. "6.1.192"
	Version string // uname -v, e.g. "#1 SMP PREEMPT_DYNAMIC ..."
	Machine string // uname -m, e.g. "x86_64", "aarch64"
}

// Running returns uname(2) of the running kernel.
func Running() (Uname, error) {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return Uname{}, fmt.Errorf("uname: %w", err)
	}
	return Uname{
		Release: unix.ByteSliceToString(u.Release[:]),
		Version: unix.ByteSliceToString(u.Version[:]),
		Machine: unix.ByteSliceToString(u.Machine[:]),
	}, nil
}

// Release returns release, or the running kernel's (uname -r) if it is
// empty: how callers that may be told which kernel to look at default
// to this one.
func Release(release string) (string, error) {
	if release != "" {
		return release, nil
	}
	u, err := Running()
	if err != nil {
		return "", err
	}
	return u.Release, nil
}

// SrcArch maps a machine name (uname -m), a GOARCH, or a kernel ARCH value
// to the kernel's SRCARCH: the directory name under arch/ in a kernel tree.
// Unknown names are returned unchanged.
func SrcArch(machine string) string {
	m := machine
	switch {
	case m == "x86_64" || m == "amd64" || m == "386" || m == "i386" || m == "i486" || m == "i586" || m == "i686" || m == "x86":
		return "x86"
	case strings.HasPrefix(m, "aarch64") || strings.HasPrefix(m, "arm64"):
		return "arm64"
	case strings.HasPrefix(m, "arm") || m == "sa110":
		return "arm"
	case strings.HasPrefix(m, "s390"):
		return "s390"
	case strings.HasPrefix(m, "parisc"):
		return "parisc"
	case strings.HasPrefix(m, "ppc") || strings.HasPrefix(m, "powerpc"):
		return "powerpc"
	case strings.HasPrefix(m, "mips"):
		return "mips"
	case strings.HasPrefix(m, "riscv"):
		return "riscv"
	case strings.HasPrefix(m, "loongarch") || m == "loong64":
		return "loongarch"
	case strings.HasPrefix(m, "sparc"):
		return "sparc"
	case strings.HasPrefix(m, "sh"):
		return "sh"
	}
	return m
}

// ntGNUBuildID is the ELF note type of a GNU build ID (NT_GNU_BUILD_ID).
const ntGNUBuildID = 3

// ErrNoBuildID means the notes hold no GNU build ID.
var ErrNoBuildID = errors.New("no GNU build ID note")

// BuildID returns the GNU build ID, as lower-case hex, from a file of ELF
// notes such as /sys/kernel/notes (the running kernel) or
// /sys/module/NAME/notes/.note.gnu.build-id (a loaded module).
func BuildID(notesFile string) (string, error) {
	data, err := os.ReadFile(notesFile)
	if err != nil {
		return "", fmt.Errorf("read build ID: %w", err)
	}
	id, err := ParseBuildID(data)
	if err != nil {
		return "", fmt.Errorf("%s: %w", notesFile, err)
	}
	return id, nil
}

// ParseBuildID finds the GNU build ID in a sequence of ELF notes (native
// byte order, 4-byte alignment, as the kernel exports them).
func ParseBuildID(notes []byte) (string, error) {
	return parseNotes(notes, binary.NativeEndian)
}

func parseNotes(notes []byte, bo binary.ByteOrder) (string, error) {
	for len(notes) >= 12 {
		namesz := int(bo.Uint32(notes[0:]))
		descsz := int(bo.Uint32(notes[4:]))
		typ := bo.Uint32(notes[8:])
		notes = notes[12:]
		nameEnd := align4(namesz)
		descEnd := nameEnd + align4(descsz)
		if namesz < 0 || descsz < 0 || nameEnd > len(notes) || descEnd > len(notes) || nameEnd+descsz > len(notes) {
			return "", fmt.Errorf("malformed ELF note")
		}
		name := bytes.TrimRight(notes[:namesz], "\x00")
		if typ == ntGNUBuildID && string(name) == "GNU" && descsz > 0 {
			return hex.EncodeToString(notes[nameEnd : nameEnd+descsz]), nil
		}
		notes = notes[descEnd:]
	}
	return "", ErrNoBuildID
}

func align4(n int) int { return (n + 3) &^ 3 }

// Path joins a root directory (such as "/" or a test's fake root) and an
// absolute system path.
func Path(root, abs string) string {
	if root == "" || root == "/" {
		return abs
	}
	return filepath.Join(root, abs)
}
