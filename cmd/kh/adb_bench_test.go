package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/khtool/kh/internal/vmtest"
	"github.com/khtool/kh/internal/vmtest/adbtest"
)

// TestADBBench times kh fetch --adb against what it replaces, in one run
// against the x86_64 6.12 guest, and reports the figures (it asserts
// nothing about them: two shared cores are too noisy for that):
//
//	warm: kh fetch --adb with the tree cached, vs one `adb exec-out true`
//	cold: kh fetch --adb into an empty cache, vs `adb exec-out cat` of
//	      the module + a cold `kh fetch --from` of that file
//
// It runs only with KH_BENCH_ADB=1 (scripts/bench-adb sets it);
// KH_BENCH_RUNS sets the runs per command (default 9), each figure is the
// median.
func TestADBBench(t *testing.T) {
	if os.Getenv("KH_BENCH_ADB") != "1" {
		t.Skip("a benchmark: KH_BENCH_ADB=1 (scripts/bench-adb) runs it")
	}
	runs := 9
	if n, err := strconv.Atoi(os.Getenv("KH_BENCH_RUNS")); err == nil && n > 0 {
		runs = n
	}
	t.Cleanup(func() { adbHarness.Close() })
	khDir := adbKhDir(t)
	bin := filepath.Join(khDir, "kh")
	k := vmtest.KernelVersionFor(t, vmtest.X86_64, vmtest.V6_12)
	srv := adbtest.Start(t)
	g := adbtest.BootGuest(t, &adbHarness, adbtest.GuestConfig{Kernel: k, MemoryMB: 1024})
	g.StartDaemon(t, 0)
	srv.Connect(t, g.Addrs[0])
	shm, err := os.MkdirTemp("/dev/shm", "kh-adb-bench-")
	if err != nil {
		t.Skipf("no /dev/shm: %v", err)
	}
	os.Chmod(shm, 0o755)
	t.Cleanup(func() { os.RemoveAll(shm) })
	env := srv.Env()
	adb := srv.ADB
	serial := g.Addrs[0]

	timeIt := func(prepare func(), name string, args ...string) time.Duration {
		t.Helper()
		var ds []time.Duration
		for range runs {
			if prepare != nil {
				prepare()
			}
			c := exec.Command(args[0], args[1:]...)
			c.Env = env
			start := time.Now()
			out, err := c.Output()
			d := time.Since(start)
			if err != nil {
				t.Fatalf("%s: %v: %s", name, err, out)
			}
			ds = append(ds, d)
		}
		slices.Sort(ds)
		return ds[len(ds)/2]
	}
	cache := filepath.Join(shm, "cache")
	fresh := func() { os.RemoveAll(cache) }
	module := filepath.Join(shm, "kheaders.ko")

	// Interleave nothing: each figure is a median of its own runs, all
	// in this one session against the same guest.
	execTrue := timeIt(nil, "adb exec-out true", adb, "-s", serial, "exec-out", "true")
	coldAdb := timeIt(fresh, "kh fetch --adb (cold)", bin, "fetch", "--cache-dir", cache, "-s", serial)
	warmAdb := timeIt(nil, "kh fetch --adb (warm)", bin, "fetch", "--cache-dir", cache, "-s", serial)
	pull := timeIt(nil, "adb exec-out cat", "sh", "-c", fmt.Sprintf("%s -s %s exec-out cat %s > %s", adb, serial, adbtest.ModulePath, module))
	coldFrom := timeIt(fresh, "kh fetch --from (cold)", bin, "fetch", "--cache-dir", cache, "--from", module)

	ms := func(d time.Duration) string { return fmt.Sprintf("%7.1f ms", float64(d.Microseconds())/1000) }
	var b strings.Builder
	fmt.Fprintf(&b, "x86_64 6.12 guest under TCG, %d runs each, medians; module %s\n", runs, adbtest.ModulePath)
	fmt.Fprintf(&b, "adb exec-out true           %s\n", ms(execTrue))
	fmt.Fprintf(&b, "kh fetch --adb (warm)       %s  = %.2fx adb exec-out true (target <= 2x)\n", ms(warmAdb), float64(warmAdb)/float64(execTrue))
	fmt.Fprintf(&b, "adb exec-out cat MODULE     %s\n", ms(pull))
	fmt.Fprintf(&b, "kh fetch --from (cold)      %s\n", ms(coldFrom))
	fmt.Fprintf(&b, "kh fetch --adb (cold)       %s  = %.2fx (cat + fetch --from = %s) (target <= 1.2x)\n", ms(coldAdb), float64(coldAdb)/float64(pull+coldFrom), ms(pull+coldFrom))
	t.Log("\n" + b.String())
	if out := os.Getenv("KH_BENCH_OUT"); out != "" {
		os.WriteFile(out, []byte(b.String()), 0o644)
	}
}
