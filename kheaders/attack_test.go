package kheaders

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/khtool/kh/cache"
	tk "github.com/khtool/kh/internal/testkernel"
)

const nobody = 65534

// chownTree gives everything under dir to uid (and, with mode != 0,
// that mode to every directory).
func chownTree(t *testing.T, dir string, uid int, mode os.FileMode) {
	t.Helper()
	filepath.Walk(dir, func(p string, fi os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		os.Lchown(p, uid, uid)
		if mode != 0 && fi.IsDir() {
			os.Chmod(p, mode)
		}
		return nil
	})
}

// TestInPlaceTreeTrust is the red team's F2: a header tree used in place
// (--from DIR, /lib/modules/R/build) that another user could change is
// refused, naming what and why.
func TestInPlaceTreeTrust(t *testing.T) {
	tk.NeedRoot(t) // to give files to another user
	const rel = "6.1.0-9-amd64"
	ctx := context.Background()
	refused := func(t *testing.T, dir, path, reason string) {
		t.Helper()
		_, err := Fetch(ctx, Options{From: dir})
		var ut *UntrustedTreeError
		var u *cache.UntrustedError
		if !errors.As(err, &ut) || !errors.As(err, &u) || u.Path != path || !strings.Contains(u.Reason, reason) {
			t.Fatalf("Fetch --from %s: %v, want a refusal of %s (%s)", dir, err, path, reason)
		}
		if strings.Contains(err.Error(), "--") || strings.Contains(err.Error(), "\n") {
			t.Errorf("library error names a flag or is not one line: %v", err)
		}
	}
	t.Run("owned by nobody, mode 0777", func(t *testing.T) {
		dir := fakeRoot(t, buildDirFiles(rel))
		chownTree(t, dir, nobody, 0o777)
		refused(t, dir, dir, "owned by uid 65534")
	})
	t.Run("one group-writable header deep inside", func(t *testing.T) {
		dir := fakeRoot(t, buildDirFiles(rel))
		h := filepath.Join(dir, "arch/x86/include/generated/asm/foo.h")
		os.Chmod(h, 0o664)
		refused(t, dir, h, "writable by group or others")
	})
	t.Run("a subdirectory owned by another user", func(t *testing.T) {
		dir := fakeRoot(t, buildDirFiles(rel))
		os.Lchown(filepath.Join(dir, "include/linux"), nobody, nobody)
		refused(t, dir, filepath.Join(dir, "include/linux"), "owned by uid 65534")
	})
	t.Run("a symlink to another user's directory", func(t *testing.T) {
		dir := fakeRoot(t, buildDirFiles(rel))
		other := t.TempDir()
		os.WriteFile(filepath.Join(other, "evil.h"), nil, 0o644)
		chownTree(t, other, nobody, 0)
		os.Symlink(other, filepath.Join(dir, "include/evil"))
		refused(t, dir, other, "owned by uid 65534")
	})
	t.Run("inside another user's directory", func(t *testing.T) {
		home := t.TempDir()
		os.Chown(home, nobody, nobody)
		dir := filepath.Join(home, "linux")
		os.Mkdir(dir, 0o755)
		for p, b := range buildDirFiles(rel) {
			os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
			os.WriteFile(filepath.Join(dir, p), b, 0o644)
		}
		refused(t, dir, home, "owned by uid 65534")
	})
	t.Run("root's tree is used", func(t *testing.T) {
		dir := fakeRoot(t, buildDirFiles(rel))
		os.Symlink("linux/kconfig.h", filepath.Join(dir, "include/k.h"))
		if tree, err := Fetch(ctx, Options{From: dir}); err != nil || tree.Path != dir {
			t.Fatalf("%+v %v", tree, err)
		}
	})
	t.Run("automatic build directory owned by nobody", func(t *testing.T) {
		files := map[string][]byte{}
		for p, b := range buildDirFiles(rel) {
			files["/lib/modules/"+rel+"/build/"+p] = b
		}
		root := fakeRoot(t, files)
		chownTree(t, filepath.Join(root, "lib/modules", rel, "build"), nobody, 0o777)
		var log bytes.Buffer
		_, err := Fetch(ctx, Options{Root: root, Release: rel, CacheDir: tmpfsDir(t), Require: KindHeaders, Log: slog.New(slog.NewTextHandler(&log, nil))})
		var nf *NotFoundError
		if !errors.As(err, &nf) || !strings.Contains(err.Error(), "owned by uid 65534") {
			t.Fatalf("Fetch: %v", err)
		}
		if !strings.Contains(log.String(), "another user could change them") {
			t.Errorf("no warning: %s", log.String())
		}
	})
}

// bigTree is a synthetic header tree of n files in a few directories.
func bigTree(n int) []tarEntry {
	e := minimalTree()
	for d := range 8 {
		e = append(e, dir(fmt.Sprintf("./include/d%d/", d)))
	}
	for i := range n {
		e = append(e, file(fmt.Sprintf("./include/d%d/f%04d.h", i%8, i), strings.Repeat(fmt.Sprintf("/* %d */\n", i), 20)))
	}
	return e
}

// TestCleanRacesFetch is the red team's F5 stress test: rounds of
// concurrent fetches (held, as kh exec and kh build hold their tree, and
// plain) and cleans (a plain clean removes the tree, which belongs to no
// running kernel, and clean --all). No fetch may fail, and every held
// tree must be complete while it is held.
func TestCleanRacesFetch(t *testing.T) {
	const rounds, fetchers = 40, 4
	archive := makeArchive(t, bigTree(600))
	src := filepath.Join(t.TempDir(), "a.tar.xz")
	os.WriteFile(src, archive, 0o644)
	cacheDir := tmpfsDir(t)
	noKernel := t.TempDir() // a root with no running kernel's sources
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	ref, err := Fetch(ctx, Options{From: src, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	want := treeListing(t, ref.Path)
	opts := Options{From: src, CacheDir: cacheDir}
	cleanOpts := Options{CacheDir: cacheDir, Root: noKernel, Release: "0.0.0-none"}
	var fetches, failures, incomplete, kept atomic.Int64
	start := time.Now()
	done := 0
	for round := range rounds {
		done++
		var wg sync.WaitGroup
		for i := range fetchers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fetches.Add(1)
				if i%2 == 1 {
					if _, err := Fetch(ctx, opts); err != nil {
						failures.Add(1)
						t.Errorf("round %d: fetch: %v", round, err)
					}
					return
				}
				tree, hold, err := FetchHeld(ctx, opts)
				if err != nil {
					failures.Add(1)
					t.Errorf("round %d: held fetch: %v", round, err)
					return
				}
				defer hold.Release()
				if got := treeListing(t, tree.Path); got != want {
					incomplete.Add(1)
					t.Errorf("round %d: tree %s is not complete: %s", round, tree.Path, firstDiff(want, got))
				}
			}()
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 3 {
				res, err := Clean(ctx, cleanOpts, (round+j)%3 == 2)
				if err != nil {
					t.Errorf("round %d: clean: %v", round, err)
					continue
				}
				kept.Add(int64(len(res.Kept)))
				time.Sleep(time.Millisecond)
			}
		}()
		wg.Wait()
		if t.Failed() {
			break
		}
	}
	t.Logf("%d rounds, %d fetches, %d failed, %d incomplete trees, %d trees kept by clean because held, %v",
		done, fetches.Load(), failures.Load(), incomplete.Load(), kept.Load(), time.Since(start).Round(time.Millisecond))
	// Nothing is left but trees, locks and hints.
	for _, n := range dirNames(cacheDir) {
		if strings.HasPrefix(n, ".stage-") || strings.HasPrefix(n, ".trash-") || strings.HasPrefix(n, ".tmp-") {
			t.Errorf("left behind: %s", n)
		}
	}
}

// TestHintNeedsTrustedFile is the red team's F6: a --from file another
// user owns (who can change it without changing its stat identity, by
// writing through a shared mmap) gets no hint: every fetch reads it.
func TestHintNeedsTrustedFile(t *testing.T) {
	tk.NeedRoot(t) // to give the file to another user
	ctx := context.Background()
	hints := func(dir string) int {
		n := 0
		for _, e := range dirNames(dir) {
			if strings.HasPrefix(e, ".hint-") {
				n++
			}
		}
		return n
	}
	// Control: root's own file gets a hint.
	cacheDir := tmpfsDir(t)
	own := filepath.Join(filepath.Dir(cacheDir), "own.tar.xz")
	os.WriteFile(own, makeArchive(t, minimalTree()), 0o644)
	if _, err := Fetch(ctx, Options{From: own, CacheDir: cacheDir}); err != nil {
		t.Fatal(err)
	}
	if hints(cacheDir) != 1 {
		t.Fatalf("no hint for root's own file: %v", dirNames(cacheDir))
	}

	cacheDir = tmpfsDir(t)
	att := filepath.Join(filepath.Dir(cacheDir), "att.tar.xz")
	data := makeArchive(t, minimalTree())
	os.WriteFile(att, data, 0o644)
	os.Chown(att, nobody, nobody)
	for range 2 {
		if _, err := Fetch(ctx, Options{From: att, CacheDir: cacheDir}); err != nil {
			t.Fatal(err)
		}
	}
	if hints(cacheDir) != 0 {
		t.Fatalf("a hint for another user's file: %v", dirNames(cacheDir))
	}
	// The owner rewrites it through a shared mmap: same inode, size and
	// times, other content (here: a corrupt archive).
	var before, after unix.Stat_t
	unix.Stat(att, &before)
	f, err := os.OpenFile(att, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(int(f.Fd()), 0, len(data), unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	m[len(m)/2] ^= 0xff
	unix.Munmap(m)
	f.Close()
	unix.Stat(att, &after)
	if _, err := Fetch(ctx, Options{From: att, CacheDir: cacheDir}); err == nil {
		t.Fatalf("the rewritten file was served from the cache (stat identity unchanged: %v)", before.Mtim == after.Mtim && before.Ino == after.Ino)
	}
}

// TestCleanSweepsLeftovers is issue 14 item 11 and the red team's F8 as a
// user sees them: a failed archive's lock and a killed run's stage are
// removed by kh clean, and the stage already by the next warm fetch.
func TestCleanSweepsLeftovers(t *testing.T) {
	ctx := context.Background()
	cacheDir := tmpfsDir(t)
	src := filepath.Join(t.TempDir(), "a.tar.xz")
	os.WriteFile(src, makeArchive(t, minimalTree()), 0o644)
	bad := filepath.Join(t.TempDir(), "bad.tar.xz")
	os.WriteFile(bad, xzCompress(t, []byte("not a tar archive")), 0o644)
	if _, err := Fetch(ctx, Options{From: src, CacheDir: cacheDir}); err != nil {
		t.Fatal(err)
	}
	if _, err := Fetch(ctx, Options{From: bad, CacheDir: cacheDir}); err == nil {
		t.Fatal("a bad archive was accepted")
	}
	stage := filepath.Join(cacheDir, ".stage-0123456789abcdef-42")
	os.MkdirAll(filepath.Join(stage, "include"), 0o755)
	os.Chmod(stage, 0o555)
	if _, err := Fetch(ctx, Options{From: src, CacheDir: cacheDir}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Lstat(stage); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a warm fetch kept a dead stage: %v", dirNames(cacheDir))
	}
	res, err := Clean(ctx, Options{CacheDir: cacheDir, Root: t.TempDir(), Release: "0.0.0-none"}, false)
	if err != nil {
		t.Fatal(err)
	}
	left := dirNames(cacheDir)
	if len(left) != 0 || len(res.Removed) != 1 {
		t.Errorf("after kh clean: %v (result %+v)", left, res)
	}
}
