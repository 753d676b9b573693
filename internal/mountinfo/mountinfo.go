// Package mountinfo parses /proc/self/mountinfo (proc(5)): the one parser
// and the one unescaping of mount points kh uses, for the doctor's mount
// checks, tracefs discovery and the cache's "did kh mount this tmpfs".
//
// It only reads and parses; it must not mount, unmount or decide policy.
package mountinfo

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/khtool/kh/internal/kernel"
)

// Mount is one line of /proc/self/mountinfo.
type Mount struct {
	Dir    string // mount point
	FSType string // file system type, e.g. "tracefs"
	Source string // mount source, e.g. "tracefs" or "/dev/sda1"
}

// Read returns the mounts that root/proc/self/mountinfo lists (root is
// "/" for the running system).
func Read(root string) ([]Mount, error) {
	f, err := os.Open(kernel.Path(root, "/proc/self/mountinfo"))
	if err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	defer f.Close()
	return Parse(f)
}

// Parse parses the mountinfo format:
// "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER".
// Malformed lines are skipped.
func Parse(r io.Reader) ([]Mount, error) {
	var out []Mount
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		sep := -1
		for i, s := range f {
			if s == "-" && i >= 6 {
				sep = i
				break
			}
		}
		if sep < 0 || len(f) < sep+3 {
			continue
		}
		out = append(out, Mount{Dir: Unescape(f[4]), FSType: f[sep+1], Source: Unescape(f[sep+2])})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read mounts: %w", err)
	}
	return out, nil
}

// Unescape undoes the octal escapes (\040 for a space) of mountinfo.
func Unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// At returns the mount of type fstype whose mount point is dir (the last
// one, as later mounts hide earlier ones), or false. An empty fstype
// matches any type.
func At(mounts []Mount, fstype, dir string) (Mount, bool) {
	var found Mount
	ok := false
	for _, m := range mounts {
		if m.Dir == dir && (fstype == "" || m.FSType == fstype) {
			found, ok = m, true
		}
	}
	return found, ok
}

// First returns the first mount of type fstype, or false.
func First(mounts []Mount, fstype string) (Mount, bool) {
	for _, m := range mounts {
		if m.FSType == fstype {
			return m, true
		}
	}
	return Mount{}, false
}
