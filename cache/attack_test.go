package cache

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	tk "github.com/khtool/kh/internal/testkernel"
)

// The red team's second user: Android's shell uid.
const attacker = 2000

// base returns a fresh root-owned 0755 directory on tmpfs, as root
// (skips otherwise).
func base(t *testing.T) string {
	t.Helper()
	tk.NeedRoot(t)
	return filepath.Dir(shmDir(t))
}

// mkdirOwned makes dir with mode and owner.
func mkdirOwned(t *testing.T, dir string, mode uint32, uid int) {
	t.Helper()
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, uid, uid); err != nil {
		t.Fatal(err)
	}
	if err := unix.Chmod(dir, uint32(mode)); err != nil {
		t.Fatal(err)
	}
}

func wantUntrusted(t *testing.T, err error, path, reason string) *UntrustedError {
	t.Helper()
	var u *UntrustedError
	if !errors.As(err, &u) || u.Path != path || !strings.Contains(u.Reason, reason) || !errors.Is(err, ErrNotTrusted) {
		t.Fatalf("got %v, want a refusal of %s (%q)", err, path, reason)
	}
	return u
}

func TestTrustRules(t *testing.T) {
	dir := func(uid, gid uint32, mode uint32) *unix.Stat_t {
		return &unix.Stat_t{Uid: uid, Gid: gid, Mode: unix.S_IFDIR | mode}
	}
	root := trust{uid: 0, gid: 0}
	shell := trust{uid: 2000, gid: 2000}
	rootOnAndroid := trust{uid: 0, gid: 0, android: true}
	for _, tc := range []struct {
		name string
		tr   trust
		st   *unix.Stat_t
		ok   bool
	}{
		{"root's 0755", root, dir(0, 0, 0o755), true},
		{"/tmp (1777)", root, dir(0, 0, 0o1777), true},
		{"world-writable, not sticky", root, dir(0, 0, 0o777), false},
		{"group root may write", root, dir(0, 0, 0o775), true},
		{"another group may write", root, dir(0, 50, 0o775), false},
		{"/data/local/tmp (shell:shell 0771) for root", root, dir(2000, 2000, 0o771), false},
		{"/data/local/tmp for the shell user", shell, dir(2000, 2000, 0o771), true},
		{"/data/local (root 0751) for the shell user", shell, dir(0, 0, 0o751), true},
		{"another user's directory", shell, dir(1001, 1001, 0o755), false},
		{"/data (system:system 0771) on Android", rootOnAndroid, dir(aidSystem, aidSystem, 0o771), true},
		{"/data (system:system 0771) for the shell on Android", trust{uid: 2000, gid: 2000, android: true}, dir(aidSystem, aidSystem, 0o771), true},
		{"uid 1000's directory off Android", root, dir(aidSystem, aidSystem, 0o771), false},
		{"a file, not a directory", root, &unix.Stat_t{Mode: unix.S_IFREG | 0o644}, false},
	} {
		why := tc.tr.ancestor(tc.st)
		if (why == "") != tc.ok {
			t.Errorf("%s: ancestor says %q, want ok=%v", tc.name, why, tc.ok)
		}
	}
}

func TestDefaultLocation(t *testing.T) {
	fake := func(dirs ...string) string {
		r := t.TempDir()
		for _, d := range dirs {
			if err := os.MkdirAll(filepath.Join(r, d), 0o755); err != nil {
				t.Fatal(err)
			}
		}
		return r
	}
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	android := fake("data/local/tmp", "mnt", "dev", "system")
	disk := tk.DiskDir(t)
	for _, d := range []string{"run/user/1001", "dev/shm"} {
		os.MkdirAll(filepath.Join(disk, d), 0o755)
	}
	for _, tc := range []struct {
		name   string
		root   string
		uid    int
		env    func(string) string
		want   string
		ondisk bool
	}{
		{"root on Linux", fake("run"), 0, env(), "/run/kh", false},
		{"root on Android: not where the binary goes", android, 0, env(), "/mnt/kh", false},
		{"root on Android without /mnt", fake("data/local/tmp", "dev"), 0, env(), "/dev/kh", false},
		{"the shell user on Android", android, 2000, env(), "/data/local/tmp/kh-cache-2000", true},
		{"XDG_RUNTIME_DIR not on tmpfs falls back to /dev/shm", disk, 1001, env("XDG_RUNTIME_DIR", "/run/user/1001"), "/dev/shm/kh-1001", false},
		{"KH_CACHE_DIR", android, 0, env("KH_CACHE_DIR", "/x"), "/x", false},
	} {
		l := defaultLocation(tc.root, tc.uid, tc.env)
		if l.dir != tc.want || l.ondisk != tc.ondisk {
			t.Errorf("%s: %+v, want %s (on disk %v)", tc.name, l, tc.want, tc.ondisk)
		}
		if l.dir == "/data/local/tmp/kh" {
			t.Errorf("%s: the default is where the README tells users to push kh", tc.name)
		}
	}
}

// TestAndroidDataLayout: on a device the shell user reaches its cache
// through directories it may search but not list (/data is 0771, owned
// by system, which kh trusts on Android only, so root here; /data/local
// is root's, 0751); that is no reason to refuse it. TestAndroid in
// internal/vmtest has the device's owners.
func TestAndroidDataLayout(t *testing.T) {
	b := base(t)
	data := filepath.Join(b, "data")
	mkdirOwned(t, data, 0o771, 0)
	mkdirOwned(t, filepath.Join(data, "local"), 0o751, 0)
	tmp := filepath.Join(data, "local", "tmp")
	mkdirOwned(t, tmp, 0o771, attacker)
	dir := filepath.Join(tmp, "kh-cache-2000")
	out, err := asUser(t, attacker, "open", dir)
	if err != nil || !strings.Contains(out, "opened "+dir) {
		t.Fatalf("the shell user cannot open its cache below /data/local/tmp: %v\n%s", err, out)
	}
	// Root still refuses that cache (the shell user owns what holds it).
	_, err = Open(Options{Dir: dir, AllowDisk: true})
	wantUntrusted(t, err, tmp, "owned by uid 2000")
}

// TestAncestorAnotherUserCanWrite is the red team's F1 on Android's
// layout: root's cache below /data/local/tmp (shell:shell 0771) is refused
// before anything is created there, while the shell user may use it.
func TestAncestorAnotherUserCanWrite(t *testing.T) {
	b := base(t)
	tmp := filepath.Join(b, "data-local-tmp")
	mkdirOwned(t, tmp, 0o771, attacker)
	_, err := Open(Options{Dir: filepath.Join(tmp, "kh")})
	u := wantUntrusted(t, err, tmp, "owned by uid 2000")
	if !u.Ancestor || u.Cache {
		t.Errorf("refusal %+v: want Ancestor", u)
	}
	if _, err := os.Lstat(filepath.Join(tmp, "kh")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Open created something in a directory another user can write: %v", err)
	}
	// Deeper below is no better.
	_, err = Open(Options{Dir: filepath.Join(tmp, "a/b/kh"), AllowDisk: true})
	wantUntrusted(t, err, tmp, "owned by uid 2000")

	// The shell user itself may keep its cache there.
	out, err := asUser(t, attacker, "open", filepath.Join(tmp, "kh-cache-2000"))
	if err != nil || !strings.Contains(out, "opened "+filepath.Join(tmp, "kh-cache-2000")) {
		t.Fatalf("the owner of the directory cannot open a cache there: %v\n%s", err, out)
	}
	// A user refuses another user's directory too (another user's
	// XDG_RUNTIME_DIR, a shared --cache-dir).
	other := filepath.Join(b, "run-user-65534")
	mkdirOwned(t, other, 0o755, 65534)
	out, err = asUser(t, attacker, "open", filepath.Join(other, "kh"))
	if err == nil || !strings.Contains(out, "refusing to use "+other+": it is owned by uid 65534") {
		t.Fatalf("uid %d used a cache in uid 65534's directory: %v\n%s", attacker, err, out)
	}
	// And root refuses that cache, too.
	_, err = Open(Options{Dir: filepath.Join(tmp, "kh-cache-2000")})
	wantUntrusted(t, err, tmp, "owned by uid 2000")
}

func TestAncestorModes(t *testing.T) {
	b := base(t)
	ww := filepath.Join(b, "ww")
	mkdirOwned(t, ww, 0o777, 0)
	_, err := Open(Options{Dir: filepath.Join(ww, "kh")})
	wantUntrusted(t, err, ww, "not sticky")

	sticky := filepath.Join(b, "sticky")
	mkdirOwned(t, sticky, 0o1777, 0)
	c, err := Open(Options{Dir: filepath.Join(sticky, "kh")})
	if err != nil {
		t.Fatalf("a cache in a sticky directory (like /dev/shm): %v", err)
	}
	c.Close()

	// Another user's symlink in the sticky directory is not followed
	// (a squat of /dev/shm/kh-UID).
	if out, err := tk.RunAs(t, attacker, "ln", "-s", b, filepath.Join(sticky, "squat")); err != nil {
		t.Fatalf("ln as uid %d: %v %s", attacker, err, out)
	}
	_, err = Open(Options{Dir: filepath.Join(sticky, "squat")})
	u := wantUntrusted(t, err, filepath.Join(sticky, "squat"), "symlink owned by uid 2000")
	if !u.Cache {
		t.Errorf("a squatted cache directory is not marked as the cache: %+v", u)
	}
	// A squatting directory is refused, marked as the cache itself.
	if out, err := tk.RunAs(t, attacker, "mkdir", "-m", "0755", filepath.Join(sticky, "kh-0")); err != nil {
		t.Fatalf("mkdir as uid %d: %v %s", attacker, err, out)
	}
	_, err = Open(Options{Dir: filepath.Join(sticky, "kh-0")})
	if u := wantUntrusted(t, err, filepath.Join(sticky, "kh-0"), "owned by uid 2000"); !u.Cache {
		t.Errorf("want Cache: %+v", u)
	}

	// Root's own symlink is followed, and the cache is where it leads.
	target := filepath.Join(b, "real")
	mkdirOwned(t, target, 0o755, 0)
	os.Symlink(target, filepath.Join(b, "link"))
	c, err = Open(Options{Dir: filepath.Join(b, "link")})
	if err != nil || c.Dir != target {
		t.Fatalf("through root's symlink: %v %v", c, err)
	}
	c.Close()
}

// TestRemoveNeverFollowsSymlinks is the red team's F1 scenario C: while
// a tree is removed, a directory in it keeps being exchanged with a
// symlink to a root-only directory elsewhere. Removal must never chmod or
// delete through the symlink.
func TestRemoveNeverFollowsSymlinks(t *testing.T) {
	b := base(t)
	secret := filepath.Join(b, "secret")
	mkdirOwned(t, secret, 0o700, 0)
	os.WriteFile(filepath.Join(secret, "shadow"), []byte("x"), 0o600)
	for round := range 200 {
		tree := filepath.Join(b, fmt.Sprintf("tree%d", round))
		os.MkdirAll(filepath.Join(tree, "a/d"), 0o755)
		os.WriteFile(filepath.Join(tree, "a/d/f"), nil, 0o444)
		os.Symlink(secret, filepath.Join(tree, "a/l"))
		os.Chmod(filepath.Join(tree, "a/d"), 0o555)
		os.Chmod(filepath.Join(tree, "a"), 0o555)
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				unix.Renameat2(unix.AT_FDCWD, filepath.Join(tree, "a/d"), unix.AT_FDCWD, filepath.Join(tree, "a/l"), unix.RENAME_EXCHANGE)
			}
		}()
		removeTree(tree)
		close(stop)
		wg.Wait()
		removeTree(tree)
		var st unix.Stat_t
		if err := unix.Stat(secret, &st); err != nil || st.Mode&0o7777 != 0o700 {
			t.Fatalf("round %d: %s is now %04o (%v): removal went through a symlink", round, secret, st.Mode&0o7777, err)
		}
		if _, err := os.Stat(filepath.Join(secret, "shadow")); err != nil {
			t.Fatalf("round %d: removal deleted a file through a symlink: %v", round, err)
		}
	}
}

// TestPublishRechecks: a tree that fails the trust checks after the
// rename is not returned (before, Publish returned whatever it renamed).
func TestPublishRechecks(t *testing.T) {
	tk.NeedRoot(t)
	c, err := Open(Options{Dir: shmDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_, err = c.Publish(context.Background(), digest, func(ctx context.Context, dir string) (Manifest, error) {
		os.WriteFile(filepath.Join(dir, "f"), nil, 0o444)
		os.Chown(dir, attacker, attacker)
		return Manifest{Kind: "test", Release: "6.1.192", Arch: "x86"}, nil
	})
	wantUntrusted(t, err, filepath.Join(c.Dir, "6.1.192-b39c262a18360de1"), "owned by uid 2000")
}

// TestLockExclusiveAcrossUnlink: a lock file removed by its holder (as a
// sweep does) while another process waits on the old file never lets two
// holders in at once.
func TestLockExclusiveAcrossUnlink(t *testing.T) {
	c, err := Open(Options{Dir: shmDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	name := lockPrefix + digest[:digestLen]
	ctx := context.Background()
	for range 50 {
		first, err := c.lock(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		got := make(chan *fileLock)
		go func() {
			l, err := c.lock(ctx, name) // opens the old file and waits
			if err != nil {
				t.Error(err)
			}
			got <- l
		}()
		time.Sleep(2 * time.Millisecond)
		c.removeLocked(name, first) // unlink, then release
		second := <-got
		if _, err := c.tryLockFile(name, true); !errors.Is(err, errBusy) {
			t.Fatalf("a third locker got the lock while the second holds it: %v", err)
		}
		second.unlock()
	}
}

func TestRemoveKeepsHeldTree(t *testing.T) {
	ctx := context.Background()
	c, err := Open(Options{Dir: shmDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	calls := 0
	tree, err := c.Publish(ctx, digest, build(&calls))
	if err != nil {
		t.Fatal(err)
	}
	h, err := HoldTree(ctx, tree.Path)
	if err != nil {
		t.Fatal(err)
	}
	name := filepath.Base(tree.Path)
	var iu *InUseError
	if err := c.Remove(ctx, name); !errors.As(err, &iu) || !errors.Is(err, ErrInUse) || iu.Path != tree.Path {
		t.Fatalf("Remove of a held tree: %v", err)
	}
	res, err := c.RemoveAll(ctx)
	if err != nil || len(res.Kept) != 1 || len(res.Removed) != 0 {
		t.Fatalf("RemoveAll with a held tree: %+v %v", res, err)
	}
	if _, err := c.Get(name); err != nil {
		t.Fatalf("held tree damaged: %v", err)
	}
	h.Release()
	if err := c.Remove(ctx, name); err != nil {
		t.Fatal(err)
	}
	if _, err := HoldTree(ctx, tree.Path); !errors.Is(err, ErrNotCached) {
		t.Fatalf("hold of a removed tree: %v", err)
	}
	for _, n := range dirNames(t, c.Dir) {
		if strings.HasPrefix(n, trashPrefix) || treeNameRE.MatchString(n) {
			t.Errorf("left after Remove: %s", n)
		}
	}
}

// TestSweep is the red team's F8: what killed runs and failed archives
// leave is removed by the next run (stages, trash, temporary hints) and
// by Sweep (locks nobody holds, hints of gone trees); what a live process
// holds stays.
func TestSweep(t *testing.T) {
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
	c.Close()
	dead := "0123456789abcdef"
	live := "fedcba9876543210"
	mk := func(p string) {
		os.MkdirAll(filepath.Join(dir, p, "sub"), 0o755)
		os.WriteFile(filepath.Join(dir, p, "sub/f"), nil, 0o444)
		os.Chmod(filepath.Join(dir, p, "sub"), 0o555)
		os.Chmod(filepath.Join(dir, p), 0o555)
	}
	mk(stagePrefix + dead + "-1")
	mk(stagePrefix + live + "-2")
	mk(trashPrefix + "6.1.0-" + dead + "-3")
	os.WriteFile(filepath.Join(dir, tmpHintPrefix+dead+"-4"), nil, 0o444)
	os.WriteFile(filepath.Join(dir, lockPrefix+dead), nil, 0o600)
	os.WriteFile(filepath.Join(dir, hintPrefix+"gone"), []byte(`{"tree":"6.1.0-`+dead+`"}`), 0o444)
	// A live run of digest live: its lock is held.
	lf, err := os.OpenFile(filepath.Join(dir, lockPrefix+live), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}

	// A warm run (Open, nothing published) removes the dead leftovers.
	c, err = Open(Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	names := strings.Join(dirNames(t, dir), " ")
	for _, gone := range []string{stagePrefix + dead, trashPrefix, tmpHintPrefix} {
		if strings.Contains(names, gone) {
			t.Errorf("after a warm open, %s* is still there: %s", gone, names)
		}
	}
	if !strings.Contains(names, stagePrefix+live) {
		t.Errorf("a live run's stage was removed: %s", names)
	}
	swept := c.Sweep()
	names = strings.Join(dirNames(t, dir), " ")
	if strings.Contains(names, lockPrefix+dead) || strings.Contains(names, hintPrefix+"gone") {
		t.Errorf("after Sweep: %s (swept %v)", names, swept)
	}
	if !strings.Contains(names, lockPrefix+live) || !strings.Contains(names, stagePrefix+live) {
		t.Errorf("Sweep removed what a live run holds: %s", names)
	}
	if _, err := c.Get(filepath.Base(tree.Path)); err != nil {
		t.Errorf("Sweep damaged a tree: %v", err)
	}
}

// TestMountOnlyWhereAllowed is issue 14 item 2 and the cache part of item
// 11: as root, a named directory that is not tmpfs gets no tmpfs over it
// unless asked (and then only when empty); a mount is announced; removing
// everything unmounts it and removes the mount point kh created.
func TestMountOnlyWhereAllowed(t *testing.T) {
	if !tk.PrivateMounts(t) {
		return
	}
	disk := tk.DiskDir(t)
	notes := filepath.Join(disk, "notes.txt")
	os.WriteFile(notes, []byte("mine"), 0o644)
	var nt *NotTmpfsError
	if _, err := Open(Options{Dir: disk}); !errors.As(err, &nt) || !nt.Mountable || nt.MountErr != nil {
		t.Fatalf("a named directory on disk: %v", err)
	}
	if _, err := Open(Options{Dir: disk, MountTmpfs: true}); !errors.As(err, &nt) || !errors.Is(err, errNotEmpty) {
		t.Fatalf("--mount-tmpfs on a directory with files: %v", err)
	}
	if b, err := os.ReadFile(notes); err != nil || string(b) != "mine" {
		t.Fatalf("the user's file is hidden: %q %v", b, err)
	}

	var log bytes.Buffer
	dir := filepath.Join(disk, "new")
	c, err := Open(Options{Dir: dir, MountTmpfs: true, Log: slog.New(slog.NewTextHandler(&log, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if !c.Mounted || !c.MountedByKh() || !strings.Contains(log.String(), "mounted a tmpfs") {
		t.Fatalf("mounted %v/%v, log %q", c.Mounted, c.MountedByKh(), log.String())
	}
	calls := 0
	tree, err := c.Publish(context.Background(), digest, build(&calls))
	if err != nil {
		t.Fatal(err)
	}
	// A held tree keeps the tmpfs mounted, and says so.
	h, err := HoldTree(context.Background(), tree.Path)
	if err != nil {
		t.Fatal(err)
	}
	if res, err := c.RemoveAll(context.Background()); err != nil || len(res.Kept) != 1 {
		t.Fatalf("RemoveAll: %+v %v", res, err)
	}
	h.Release()
	if res, err := c.RemoveAll(context.Background()); err != nil || len(res.Removed) != 1 {
		t.Fatalf("RemoveAll: %+v %v", res, err)
	}
	if ok, err := c.Unmount(); !ok || err != nil {
		t.Fatalf("Unmount: %v %v", ok, err)
	}
	if _, err := os.Lstat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the mount point kh created is left: %v", err)
	}
	// A directory kh did not create stays after the unmount.
	kept := filepath.Join(disk, "kept")
	os.Mkdir(kept, 0o755)
	c, err = Open(Options{Dir: kept, MountTmpfs: true})
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := c.Unmount(); !ok || err != nil {
		t.Fatalf("Unmount: %v %v", ok, err)
	}
	if _, err := os.Stat(kept); err != nil {
		t.Errorf("a mount point kh did not create was removed: %v", err)
	}

	// Runs that open the cache at once mount one tmpfs, not one each.
	racy := filepath.Join(disk, "racy")
	var wg sync.WaitGroup
	dirs := make([]string, 8)
	for i := range dirs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := Open(Options{Dir: racy, MountTmpfs: true})
			if err != nil {
				t.Error(err)
				return
			}
			var st unix.Stat_t
			unix.Fstat(c.fd(), &st)
			dirs[i] = fmt.Sprint(st.Dev)
			c.Close()
		}()
	}
	wg.Wait()
	info, _ := os.ReadFile("/proc/self/mountinfo")
	defer func() {
		for unix.Unmount(racy, unix.MNT_DETACH) == nil {
		}
	}()
	if n := strings.Count(string(info), " "+racy+" "); n != 1 {
		t.Errorf("%d mounts on %s after concurrent opens, want 1", n, racy)
	}
	for _, d := range dirs {
		if d != dirs[0] {
			t.Errorf("concurrent opens use different file systems: %v", dirs)
			break
		}
	}
}

func dirNames(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// asUser runs this test binary as uid (with setpriv) to do one helper
// action (see TestHelperAsUser) and returns its output.
func asUser(t *testing.T, uid int, action string, args ...string) (string, error) {
	t.Helper()
	tk.NeedRoot(t)
	bin := filepath.Join(filepath.Dir(shmDir(t)), "cache.test")
	src, err := os.Open(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	dst.Close()
	argv := []string{"env", "KH_TEST_HELPER=" + action, "KH_TEST_ARGS=" + strings.Join(args, "\x1f"), bin, "-test.run=^TestHelperAsUser$", "-test.v"}
	cmd := exec.Command("setpriv", append([]string{fmt.Sprintf("--reuid=%d", uid), fmt.Sprintf("--regid=%d", uid), "--clear-groups", "--"}, argv...)...)
	cmd.Dir = "/"
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// TestHelperAsUser is not a test: it is the action asUser runs as
// another user.
func TestHelperAsUser(t *testing.T) {
	action := os.Getenv("KH_TEST_HELPER")
	if action == "" {
		t.Skip("a helper for other tests")
	}
	args := strings.Split(os.Getenv("KH_TEST_ARGS"), "\x1f")
	switch action {
	case "open":
		c, err := Open(Options{Dir: args[0], AllowDisk: true})
		if err != nil {
			t.Fatal(err)
		}
		fmt.Println("opened", c.Dir)
		c.Close()
	default:
		t.Fatalf("unknown helper %q", action)
	}
}
