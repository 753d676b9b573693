package adb

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/khtool/kh/internal/kernel"
	"github.com/khtool/kh/internal/kmod"
)

// Root is how a command gets root on the device.
type Root string

// The ways to root, in the order they are tried.
const (
	RootADB  Root = "adb root" // adbd runs as root: commands already are
	RootSu0  Root = "su 0"     // su UID COMMAND (AOSP's userdebug su, toybox)
	RootSuC  Root = "su -c"    // su -c 'COMMAND' (Magisk, SuperSU)
	RootNone Root = ""
)

// ErrNoRoot means neither adbd nor su gives root on the device.
var ErrNoRoot = errors.New("no root on the device: run `adb root` (userdebug or eng build) or install su")

// AsRoot returns a command line that runs line as root the way the
// probe found (unchanged for RootADB and RootNone).
func (i *Info) AsRoot(line string) string {
	su := i.Su
	if su == "" {
		su = "su"
	}
	switch i.Root {
	case RootSu0:
		return Quote(su) + " 0 sh -c " + Quote(line)
	case RootSuC:
		return Quote(su) + " -c " + Quote(line)
	}
	return line
}

// File is a file on the device: its path and the identity stat gives it.
type File struct {
	Path  string
	Size  int64
	MTime int64
	Inode uint64
}

// Info is what one round trip tells about a device.
type Info struct {
	Serial  string
	Release string // uname -r
	Machine string // uname -m
	// BuildID is the running kernel's GNU build ID (/sys/kernel/notes).
	BuildID string
	// BootID changes at every boot (/proc/sys/kernel/random/boot_id).
	BootID string
	UID    int
	Root   Root
	// Su is the path of the su that gives root (RootSu0, RootSuC), found
	// in the device's PATH: called by its path, so that a shell with
	// built-in commands (busybox, toybox) runs the device's su, not its
	// own.
	Su string
	// Sysfs is /sys/kernel/kheaders.tar.xz, if present; SysfsLoaded says
	// it comes from a loaded kheaders module rather than vmlinux.
	Sysfs       *File
	SysfsLoaded bool
	// Modules are the kheaders module files found, in the order kh fetch
	// tries them on a device.
	Modules []File
	// BTF is /sys/kernel/btf/vmlinux, if present.
	BTF *File
	// Config tells whether /proc/config.gz exists.
	Config bool

	quick *File // the one source a quick probe asked about
}

// SrcArch is the kernel's SRCARCH (arm64, x86, ...).
func (i *Info) SrcArch() string { return kernel.SrcArch(i.Machine) }

// GOARCH is Go's name for the device's architecture, "" if Go has none.
func (i *Info) GOARCH() string {
	switch i.Machine {
	case "aarch64", "arm64":
		return "arm64"
	case "x86_64":
		return "amd64"
	case "i386", "i686":
		return "386"
	case "armv7l", "armv8l", "arm":
		return "arm"
	case "riscv64":
		return "riscv64"
	}
	return ""
}

// probeMagic starts a probe's answer; probeNotes separates its text from
// the raw bytes of /sys/kernel/notes, which end it.
const (
	probeMagic = "kh-adb-probe 1"
	quickMagic = "kh-adb-quick 1"
	probeNotes = "notes:"
)

// probeScript is the device side of Probe: POSIX sh and the toybox (or
// busybox) commands every Android has. stderr is dropped, since exec-out
// merges it into the answer.
func probeScript() string {
	var b strings.Builder
	b.WriteString(`exec 2>/dev/null
read R </proc/sys/kernel/osrelease
read B </proc/sys/kernel/random/boot_id
echo '` + probeMagic + `'
echo "release $R"
echo "machine $(uname -m)"
echo "boot $B"
U=$(id -u)
echo "uid $U"
S=
if [ "$U" != 0 ]; then o=$IFS; IFS=:; for d in $PATH; do [ -x "$d/su" ] && S=$d/su && break; done; IFS=$o; fi
if [ "$U" = 0 ]; then echo "root adb"
elif [ -z "$S" ]; then echo "root none"
elif [ "$("$S" 0 id -u </dev/null)" = 0 ]; then echo "root su0"; echo "su $S"
elif [ "$("$S" -c 'id -u' </dev/null)" = 0 ]; then echo "root suc"; echo "su $S"
else echo "root none"; fi
f() { s=$(stat -L -c '%s %Y %i' "$2") && echo "$1 $s $2"; }
f sysfs /sys/kernel/kheaders.tar.xz
[ -d /sys/module/kheaders ] && echo loaded
f btf /sys/kernel/btf/vmlinux
[ -e /proc/config.gz ] && echo config
`)
	// The module files, where kh fetch looks on the device itself
	// (kmod.Find): the usual places in each module directory, else a
	// search of it.
	for _, d := range kmod.Dirs("$R") {
		d = strings.ReplaceAll(d, "$R", `"$R"`)
		b.WriteString("n=0\n")
		for _, sub := range []string{"/kernel/kernel", "", `/"$R"`, `/"$R"/kernel/kernel`} {
			for _, s := range kmod.Suffixes {
				p := d + sub + "/kheaders" + s
				fmt.Fprintf(&b, "[ -f %s ] && f module %s && n=1\n", p, p)
			}
		}
		var names []string
		for _, s := range kmod.Suffixes {
			names = append(names, "-name kheaders"+s)
		}
		fmt.Fprintf(&b, "[ $n = 0 ] && [ -d %s ] && for p in $(find %s -type f \\( %s \\)); do f module \"$p\"; done\n", d, d, strings.Join(names, " -o "))
	}
	b.WriteString("echo '" + probeNotes + "'\ncat /sys/kernel/notes\n")
	return b.String()
}

// quickScript asks only what a warm fetch needs to prove that the source
// it used last time is unchanged: the release, the boot, the kernel's
// build ID and the stat identity of that one file. Shell builtins but
// for stat and cat: every fork counts on a slow device.
func quickScript(path string) string {
	return `exec 2>/dev/null
read R </proc/sys/kernel/osrelease
read B </proc/sys/kernel/random/boot_id
echo '` + quickMagic + `'
echo "release $R"
echo "boot $B"
[ -d /sys/module/kheaders ] && echo loaded
[ -e /proc/config.gz ] && echo config
stat -L -c 'file %s %Y %i %n' ` + Quote(path) + `
echo '` + probeNotes + `'
exec cat /sys/kernel/notes
`
}

// ProbeError is a device whose answer to the probe makes no sense (no
// shell, an unexpected shell, the connection lost).
type ProbeError struct {
	Serial string
	Reason string
}

func (e *ProbeError) Error() string {
	return fmt.Sprintf("device %s: unexpected answer to kh's probe: %s", e.Serial, e.Reason)
}

// Probe asks the device, in one adb round trip, for its kernel's
// identity, how to get root and which header sources it has.
func (d *Device) Probe(ctx context.Context) (*Info, error) {
	out, err := d.ExecOut(ctx, probeScript())
	if err != nil {
		return nil, err
	}
	return parseProbe(d.Serial, out, probeMagic)
}

func parseProbe(serial string, out []byte, magic string) (*Info, error) {
	bad := func(f string, a ...any) (*Info, error) {
		return nil, &ProbeError{Serial: serial, Reason: fmt.Sprintf(f, a...)}
	}
	i := bytes.Index(out, []byte("\n"+probeNotes+"\n"))
	if !bytes.HasPrefix(out, []byte(magic+"\n")) || i < 0 {
		return bad("%q", firstLine(out))
	}
	text, notes := string(out[len(magic)+1:i+1]), out[i+len(probeNotes)+2:]
	info := &Info{Serial: serial, UID: -1}
	for _, line := range strings.Split(text, "\n") {
		key, val, _ := strings.Cut(line, " ")
		switch key {
		case "release":
			info.Release = val
		case "machine":
			info.Machine = val
		case "boot":
			info.BootID = val
		case "uid":
			if n, err := strconv.Atoi(val); err == nil {
				info.UID = n
			}
		case "root":
			info.Root = map[string]Root{"adb": RootADB, "su0": RootSu0, "suc": RootSuC}[val]
		case "su":
			info.Su = val
		case "loaded":
			info.SysfsLoaded = true
		case "config":
			info.Config = true
		case "sysfs", "btf", "module", "file":
			f, ok := parseFile(val)
			if !ok {
				return bad("%q", line)
			}
			switch key {
			case "sysfs":
				info.Sysfs = &f
			case "btf":
				info.BTF = &f
			case "file":
				info.quick = &f
			default:
				info.Modules = append(info.Modules, f)
			}
		}
	}
	if info.Release == "" || (info.Machine == "" && magic == probeMagic) {
		return bad("no kernel release or machine")
	}
	id, err := kernel.ParseBuildID(notes)
	if err != nil {
		return bad("/sys/kernel/notes: %v", err)
	}
	info.BuildID = id
	return info, nil
}

// parseFile reads "SIZE MTIME INODE PATH".
func parseFile(s string) (File, bool) {
	f := strings.SplitN(s, " ", 4)
	if len(f) != 4 {
		return File{}, false
	}
	size, err1 := strconv.ParseInt(f[0], 10, 64)
	mtime, err2 := strconv.ParseInt(f[1], 10, 64)
	ino, err3 := strconv.ParseUint(f[2], 10, 64)
	if err1 != nil || err2 != nil || err3 != nil || !strings.HasPrefix(f[3], "/") {
		return File{}, false
	}
	return File{Path: f[3], Size: size, MTime: mtime, Inode: ino}, true
}

func firstLine(b []byte) string {
	if i := bytes.IndexByte(b, '\n'); i >= 0 {
		b = b[:i]
	}
	if len(b) > 120 {
		b = b[:120]
	}
	return string(b)
}
