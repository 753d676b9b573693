package cache

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	tk "github.com/khtool/kh/internal/testkernel"
)

const digest = "b39c262a18360de1d34b026891c6d69193fa8a60af1aedb0dcc58ccfa1567603"

// shmDir returns a fresh directory on tmpfs, or skips.
func shmDir(t *testing.T) string {
	t.Helper()
	var st unix.Statfs_t
	if err := unix.Statfs("/dev/shm", &st); err != nil || st.Type != unix.TMPFS_MAGIC {
		tk.Skip(t, "/dev/shm is not tmpfs")
	}
	d, err := os.MkdirTemp("/dev/shm", "kh-cache-test-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(d, 0o755)
	t.Cleanup(func() { removeTree(d) })
	return filepath.Join(d, "cache")
}

func build(calls *int) BuildFunc {
	return func(ctx context.Context, dir string) (Manifest, error) {
		*calls++
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o444); err != nil {
			return Manifest{}, err
		}
		return Manifest{Kind: "test", Release: "6.1.192", Arch: "x86", Files: 1, Bytes: 1}, nil
	}
}

func TestPublishLookupRemove(t *testing.T) {
	ctx := context.Background()
	c, err := Open(Options{Dir: shmDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Lookup(digest); !errors.Is(err, ErrNotCached) {
		t.Fatalf("Lookup of an empty cache: %v", err)
	}
	calls := 0
	tree, err := c.Publish(ctx, digest, build(&calls))
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Base(tree.Path) != "6.1.192-b39c262a18360de1" || tree.SHA256 != digest || tree.Cached {
		t.Fatalf("published %+v", tree)
	}
	again, err := c.Publish(ctx, digest, build(&calls))
	if err != nil || calls != 1 || !again.Cached || again.Path != tree.Path {
		t.Fatalf("second Publish: %+v %v, %d builds", again, err, calls)
	}
	if err := c.SetHint("k", tree, Source{Kind: "file", Location: "/x"}); err != nil {
		t.Fatal(err)
	}
	if ht, src, ok := c.FromHint("k"); !ok || ht.Path != tree.Path || src.Location != "/x" {
		t.Fatalf("FromHint: %+v %+v %v", ht, src, ok)
	}
	entries, err := c.List()
	if err != nil || len(entries) != 1 || entries[0].Err != nil {
		t.Fatalf("List: %+v %v", entries, err)
	}
	if err := c.Remove(ctx, entries[0].Name); err != nil {
		t.Fatal(err)
	}
	if _, _, ok := c.FromHint("k"); ok {
		t.Error("hint survives its tree")
	}
	if _, err := c.Lookup(digest); !errors.Is(err, ErrNotCached) {
		t.Fatalf("Lookup after Remove: %v", err)
	}
}

func TestFailedBuildPublishesNothing(t *testing.T) {
	dir := shmDir(t)
	c, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	_, err = c.Publish(context.Background(), digest, func(ctx context.Context, d string) (Manifest, error) {
		os.WriteFile(filepath.Join(d, "partial"), nil, 0o444)
		return Manifest{}, boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Publish: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if !strings.HasPrefix(e.Name(), lockPrefix) {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestUntrusted(t *testing.T) {
	dir := shmDir(t)
	c, err := Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	tree, err := c.Publish(context.Background(), digest, build(&calls))
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(tree.Path, 0o777)
	var u *UntrustedError
	if _, err := c.Lookup(digest); !errors.As(err, &u) || !strings.Contains(u.Reason, "writable by group or others") {
		t.Fatalf("Lookup of a world-writable tree: %v", err)
	}
}

func TestNotTmpfs(t *testing.T) {
	disk := tk.DiskDir(t)
	// Root too: a named directory gets no tmpfs unless asked
	// (TestMountOnlyWhereAllowed).
	_, err := Open(Options{Dir: filepath.Join(disk, "c")})
	var nt *NotTmpfsError
	if !errors.Is(err, ErrNotTmpfs) || !errors.As(err, &nt) || nt.Dir != filepath.Join(disk, "c") {
		t.Fatalf("Open on disk: %v", err)
	}
	if strings.Contains(err.Error(), "--") {
		t.Errorf("library error names a flag: %v", err)
	}
	if _, err := Open(Options{Dir: filepath.Join(disk, "c"), AllowDisk: true}); err != nil {
		t.Fatalf("AllowDisk: %v", err)
	}
}

func TestNotTmpfsError(t *testing.T) {
	err := error(&NotTmpfsError{Dir: "/d", FSType: "ext4", MountErr: unix.EPERM})
	if !errors.Is(err, ErrNotTmpfs) || !errors.Is(err, unix.EPERM) || err.Error() != "cache directory /d is on ext4, not tmpfs, and mounting a tmpfs there failed: operation not permitted" {
		t.Fatalf("%v", err)
	}
}

func TestPermissionError(t *testing.T) {
	err := error(permissionError{unix.EROFS})
	if !errors.Is(err, fs.ErrPermission) || !errors.Is(err, unix.EROFS) {
		t.Fatalf("%v does not satisfy fs.ErrPermission and EROFS", err)
	}
}
