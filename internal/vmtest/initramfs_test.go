package vmtest

import (
	"github.com/khtool/kh/internal/testkernel"

	"bytes"
	"compress/gzip"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestInitramfs writes an archive and reads it back with GNU cpio, an
// independent implementation of the newc format.
func TestInitramfs(t *testing.T) {
	testkernel.NeedTool(t, "cpio")
	dir := t.TempDir()
	host := filepath.Join(dir, "prog")
	if err := os.WriteFile(host, []byte("#!binary\x00\x01"), 0o755); err != nil {
		t.Fatal(err)
	}
	odd := bytes.Repeat([]byte("x"), 4097) // data needing padding
	files := []File{
		{Path: "/bin/prog", HostPath: host},
		{Path: "/bin/alias", Symlink: "prog"},
		{Path: "/etc/deep/conf", Data: odd, Mode: 0o600},
		{Path: "/tmp", Dir: true, Mode: 0o777 | os.ModeSticky},
		{Path: "/empty", Data: nil},
		{Path: "/data", Dir: true, Mode: 0o771, UID: 1000, GID: 1000},
		{Path: "/data/mine", Data: []byte("x"), UID: 2000, GID: 2000},
	}
	gz := filepath.Join(dir, "initramfs.cpio.gz")
	if err := writeInitramfs(gz, files); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(gz)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	cpio := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("cpio", append([]string{"--quiet"}, args...)...)
		cmd.Stdin = bytes.NewReader(raw)
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("cpio %s: %v", args, err)
		}
		return string(out)
	}
	// Listing: every entry, parents before children, with its type and mode.
	listing := cpio("-itv")
	var got []string
	for _, l := range strings.Split(strings.TrimSpace(listing), "\n") {
		fields := strings.Fields(l)
		entry := fields[0] + " " + strings.Join(fields[8:], " ")
		if strings.HasPrefix(fields[0], "c") { // device: "5, 1" instead of a size
			entry = fields[0] + " " + fields[4] + fields[5] + " " + strings.Join(fields[9:], " ")
		}
		got = append(got, entry)
	}
	want := []string{
		"drwxr-xr-x dev",
		"crw------- 5,1 dev/console",
		"drwxrwxrwt tmp",
		"drwxrwx--x data",
		"drwxr-xr-x bin",
		"-rwxr-xr-x bin/prog",
		"lrwxrwxrwx bin/alias -> prog",
		"drwxr-xr-x etc",
		"drwxr-xr-x etc/deep",
		"-rw------- etc/deep/conf",
		"-rw-r--r-- empty",
		"-rw-r--r-- data/mine",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("cpio -itv:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// Owners: root unless a File says otherwise.
	owners := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(cpio("-itv", "--numeric-uid-gid")), "\n") {
		fields := strings.Fields(l)
		owners[fields[len(fields)-1]] = fields[2] + ":" + fields[3]
	}
	for name, want := range map[string]string{"data": "1000:1000", "data/mine": "2000:2000", "etc/deep/conf": "0:0", "dev": "0:0"} {
		if owners[name] != want {
			t.Errorf("%s owned by %q, want %s", name, owners[name], want)
		}
	}
	if out := cpio("-i", "--to-stdout", "etc/deep/conf"); out != string(odd) {
		t.Errorf("etc/deep/conf: %d bytes, want %d", len(out), len(odd))
	}
	if out := cpio("-i", "--to-stdout", "bin/prog"); out != "#!binary\x00\x01" {
		t.Errorf("bin/prog = %q", out)
	}
}

func TestInitramfsErrors(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []File{
		{Path: "relative", Data: []byte("x")},
		{Path: "/", Dir: true},
		{Path: "/x", HostPath: filepath.Join(dir, "missing")},
		{Path: "/x", HostPath: dir},
	} {
		if err := writeInitramfs(filepath.Join(dir, "out"), []File{f}); err == nil {
			t.Errorf("%+v: no error", f)
		}
	}
}
