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

	// Round robin: each round runs every command once, so that the load
	// of the shared machine falls on all of them alike; each figure is
	// the median of its runs.
	type cmd struct {
		name    string
		prepare func()
		args    []string
		times   []time.Duration
	}
	cache := filepath.Join(shm, "cache")
	fresh := func() { os.RemoveAll(cache) }
	module := filepath.Join(shm, "kheaders.ko")
	cmds := []*cmd{
		{name: "kh fetch --adb (cold)", prepare: fresh, args: []string{bin, "fetch", "--cache-dir", cache, "-s", serial}},
		{name: "kh fetch --adb (warm)", args: []string{bin, "fetch", "--cache-dir", cache, "-s", serial}},
		{name: "adb exec-out true", args: []string{adb, "-s", serial, "exec-out", "true"}},
		{name: "adb exec-out cat", args: []string{"sh", "-c", fmt.Sprintf("%s -s %s exec-out cat %s > %s", adb, serial, adbtest.ModulePath, module)}},
		{name: "kh fetch --from (cold)", prepare: fresh, args: []string{bin, "fetch", "--cache-dir", cache, "--from", module}},
	}
	for range runs {
		for _, c := range cmds {
			if c.prepare != nil {
				c.prepare()
			}
			x := exec.Command(c.args[0], c.args[1:]...)
			x.Env = env
			start := time.Now()
			out, err := x.Output()
			d := time.Since(start)
			if err != nil {
				t.Fatalf("%s: %v: %s", c.name, err, out)
			}
			c.times = append(c.times, d)
		}
	}
	median := func(c *cmd) time.Duration {
		slices.Sort(c.times)
		return c.times[len(c.times)/2]
	}
	coldAdb, warmAdb, execTrue, pull, coldFrom := median(cmds[0]), median(cmds[1]), median(cmds[2]), median(cmds[3]), median(cmds[4])

	ms := func(d time.Duration) string { return fmt.Sprintf("%7.1f ms", float64(d.Microseconds())/1000) }
	var b strings.Builder
	fmt.Fprintf(&b, "x86_64 6.12 guest under TCG, %d rounds (each command once per round), medians; module %s\n", runs, adbtest.ModulePath)
	fmt.Fprintf(&b, "adb exec-out true           %s\n", ms(execTrue))
	fmt.Fprintf(&b, "kh fetch --adb (warm)       %s  = %.2fx adb exec-out true (target <= 2x)\n", ms(warmAdb), float64(warmAdb)/float64(execTrue))
	fmt.Fprintf(&b, "adb exec-out cat MODULE     %s\n", ms(pull))
	fmt.Fprintf(&b, "kh fetch --from (cold)      %s\n", ms(coldFrom))
	fmt.Fprintf(&b, "kh fetch --adb (cold)       %s  = %.2fx (cat + fetch --from = %s) (target <= 1.2x)\n", ms(coldAdb), float64(coldAdb)/float64(pull+coldFrom), ms(pull+coldFrom))
	for _, c := range cmds {
		fmt.Fprintf(&b, "  %-24s runs: %v\n", c.name, c.times)
	}
	t.Log("\n" + b.String())
	if out := os.Getenv("KH_BENCH_OUT"); out != "" {
		os.WriteFile(out, []byte(b.String()), 0o644)
	}
}
