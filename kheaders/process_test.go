package kheaders

import (
	"context"
	"fmt"
	"github.com/khtool/kh/cache"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMain lets tests re-execute the test binary as a separate fetching
// process (KH_TEST_FETCH=archive,cache), as concurrent kh runs would be.
func TestMain(m *testing.M) {
	if spec := os.Getenv("KH_TEST_FETCH"); spec != "" {
		from, cacheDir, _ := strings.Cut(spec, ",")
		t, err := Fetch(context.Background(), Options{From: from, CacheDir: cacheDir})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Printf("%t %s\n", t.Cached, t.Path)
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func fetchProcess(archive, cacheDir string) *exec.Cmd {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "KH_TEST_FETCH="+archive+","+cacheDir)
	return cmd
}

func TestConcurrentProcesses(t *testing.T) {
	archive := filepath.Join(testkernel(t, "x86_64"), "kheaders.tar.xz")
	cacheDir := tmpfsDir(t)
	cmds := make([]*exec.Cmd, 4)
	outs := make([]strings.Builder, 4)
	for i := range cmds {
		cmds[i] = fetchProcess(archive, cacheDir)
		cmds[i].Stdout = &outs[i]
		cmds[i].Stderr = os.Stderr
	}
	for _, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
	}
	extracted, path := 0, ""
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Fatalf("process %d: %v", i, err)
		}
		cached, p, _ := strings.Cut(strings.TrimSpace(outs[i].String()), " ")
		if cached == "false" {
			extracted++
		}
		if path == "" {
			path = p
		} else if p != path {
			t.Fatalf("paths differ: %s vs %s", p, path)
		}
	}
	if extracted != 1 {
		t.Fatalf("%d processes extracted, want 1", extracted)
	}
}

// TestKilledMidway kills a fetching process at various moments. Whatever
// it leaves must never be trusted as a tree unless complete, and the next
// fetch must succeed and clean up the leftovers.
func TestKilledMidway(t *testing.T) {
	archive := filepath.Join(testkernel(t, "x86_64"), "kheaders.tar.xz")
	want := len(treeListing(t, mustFetch(t, archive, tmpfsDir(t)).Path))
	for _, delay := range []time.Duration{2 * time.Millisecond, 20 * time.Millisecond, 80 * time.Millisecond, 200 * time.Millisecond, 400 * time.Millisecond, 700 * time.Millisecond} {
		t.Run(delay.String(), func(t *testing.T) {
			cacheDir := tmpfsDir(t)
			cmd := fetchProcess(archive, cacheDir)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			time.Sleep(delay)
			cmd.Process.Signal(syscall.SIGKILL)
			cmd.Wait()
			leftovers := 0
			if c, err := cache.Open(cache.Options{Dir: cacheDir, Existing: true}); err == nil {
				entries, _ := c.List()
				for _, e := range entries {
					if e.Err != nil {
						t.Fatalf("killed run left an untrusted tree: %v", e.Err)
					}
					if got := len(treeListing(t, e.Tree.Path)); got != want {
						t.Fatalf("killed run published an incomplete tree (%d != %d bytes of listing)", got, want)
					}
				}
				names := dirNames(c.Dir)
				for _, n := range names {
					if strings.HasPrefix(n, ".stage-") {
						leftovers++
					}
				}
			}
			tree := mustFetch(t, archive, cacheDir)
			if got := len(treeListing(t, tree.Path)); got != want {
				t.Fatalf("tree after recovery differs")
			}
			names := dirNames(cacheDir)
			for _, n := range names {
				if strings.HasPrefix(n, ".stage-") {
					t.Fatalf("staging leftovers not cleaned: %s", n)
				}
			}
			t.Logf("killed after %v: %d staging leftovers, cleaned by the next run", delay, leftovers)
		})
	}
}

func mustFetch(t *testing.T, archive, cacheDir string) *Tree {
	t.Helper()
	tree, err := Fetch(context.Background(), Options{From: archive, CacheDir: cacheDir})
	if err != nil {
		t.Fatal(err)
	}
	return tree
}
