package vmtest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/khtool/kh/btf"
	"github.com/khtool/kh/compile"
	"github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/internal/vmtest"
	"github.com/khtool/kh/kheaders"
)

// hostHeader is btf.WriteC's vmlinux.h for file (on base, if given).
func hostHeader(t *testing.T, file, base string) []byte {
	t.Helper()
	var b *btf.Spec
	if base != "" {
		var err error
		if b, err = btf.Load(base); err != nil {
			t.Fatal(err)
		}
	}
	s, err := btf.LoadSplit(file, b)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := btf.WriteC(context.Background(), &out, s, nil); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// buildSyscallsProgram compiles testdata/tracing/syscalls.bpf.c with kh's
// Build against the real header tree of kernel k, as an engineer would on
// a host for a device.
func buildSyscallsProgram(t *testing.T, k *vmtest.Kernel) string {
	t.Helper()
	testkernel.NeedTool(t, "clang")
	testkernel.NeedTool(t, "llc")
	cache, err := os.MkdirTemp("/dev/shm", "kh-vmtest-cache-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(cache, 0o755)
	t.Cleanup(func() {
		kheaders.Clean(context.Background(), kheaders.Options{CacheDir: filepath.Join(cache, "c")}, true)
		os.RemoveAll(cache)
	})
	tree, err := kheaders.Fetch(context.Background(), kheaders.Options{From: k.File("kheaders.tar.xz"), CacheDir: filepath.Join(cache, "c")})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "syscalls.bpf.o")
	var stderr bytes.Buffer
	if err := compile.Build(context.Background(), tree, "../../testdata/tracing/syscalls.bpf.c", out, compile.Options{Stderr: &stderr}); err != nil {
		t.Fatalf("kh build for %s: %v\n%s", k.Arch, err, stderr.String())
	}
	return out
}

var guestPrintk = regexp.MustCompile(`kh-guest-(tp|kp) tgid=(\d+)`)

// TestToolsInGuest proves, in one boot per kernel (Linux 6.1 and 6.12,
// x86_64 and arm64): kh config reads
// /proc/config.gz (equal to the kernel's .config); kh btf writes what
// package btf writes for the same BTF on the host; without a kheaders
// module kh fetch publishes a BTF tree (and --require kheaders refuses);
// with the module loaded kh btf --module kheaders gives the module's types
// as package btf does on the host; and kh run attaches a program built with kh build
// against the kernel's own header tree to a syscall tracepoint and a
// kprobe, and prints their events when the syscall is made.
func TestToolsInGuest(t *testing.T) {
	t.Parallel() // guests of different tests boot side by side
	vmtest.ForEachKernel(t, func(t *testing.T, k *vmtest.Kernel) {
		// What package btf writes on the host (proven there against
		// bpftool v7.7.0 and the BTF itself).
		wantBTF, wantModule := hostHeader(t, k.File("vmlinux.btf"), ""), hostHeader(t, k.File("kheaders.ko"), k.File("vmlinux.btf"))
		prog := buildSyscallsProgram(t, k)
		vm := harness.Boot(t, vmtest.Config{Kernel: k, MemoryMB: 1024, Files: []vmtest.File{
			{Path: "/bpf/syscalls.bpf.o", HostPath: prog},
		}})

		// kh config: /proc/config.gz, parsed, printed back exactly.
		cfg := vm.Run(t, "kh", "config").OK(t)
		if want := hostFile(t, k.File("config")); !bytes.Equal(cfg.Stdout, want) {
			t.Errorf("kh config in the guest differs from the kernel's config (%d vs %d bytes)", len(cfg.Stdout), len(want))
		}
		opts := vm.Run(t, "kh", "config", "KPROBES", "CONFIG_BPF_SYSCALL", "IKHEADERS").OK(t)
		if string(opts.Stdout) != "CONFIG_KPROBES=y\nCONFIG_BPF_SYSCALL=y\nCONFIG_IKHEADERS=m\n" {
			t.Errorf("kh config OPTIONS: %q", opts.Stdout)
		}

		// kh btf: the running kernel's vmlinux.h, as bpftool makes it.
		vm.Run(t, "kh", "btf", "-O", "/tmp/vmlinux.h").OK(t)
		if got := vm.ReadFile(t, "/tmp/vmlinux.h"); !bytes.Equal(got, wantBTF) {
			t.Errorf("kh btf in the guest (%d bytes) differs from btf.WriteC on the host (%d bytes)", len(got), len(wantBTF))
		}

		// No kheaders module: kh fetch publishes a BTF tree.
		r := vm.Run(t, "kh", "fetch", "-o", "json").OK(t)
		var tree kheaders.Tree
		if err := json.Unmarshal(r.Stdout, &tree); err != nil {
			t.Fatal(err)
		}
		if tree.Kind != kheaders.KindBTF || tree.Source.Kind != kheaders.SourceBTF || tree.Release != k.Release {
			t.Errorf("fetch without kheaders: %+v", tree.Manifest)
		}
		if !strings.Contains(string(r.Stderr), "CO-RE") {
			t.Errorf("fetch did not say the BTF tree serves CO-RE programs: %s", r.Stderr)
		}
		if got := vm.ReadFile(t, tree.Path+"/"+kheaders.BTFHeader); !bytes.Equal(got, wantBTF) {
			t.Error("the BTF tree's vmlinux.h differs from btf.WriteC's")
		}
		if got := vm.ReadFile(t, tree.Path+"/"+kheaders.BTFConfigHeader); !bytes.Contains(got, []byte("#define CONFIG_KPROBES 1\n")) {
			t.Error("the BTF tree's kconfig.h lacks CONFIG_KPROBES")
		}
		if vm.Run(t, "kh", "fetch", "--require", "kheaders").ExitCode != 1 {
			t.Error("kh fetch --require kheaders did not fail without kheaders")
		}

		// Load the kheaders module: kh btf --module kheaders.
		vm.WriteFile(t, k.KheadersModulePath(), hostFile(t, k.File("kheaders.ko")), 0o644)
		loaded, _ := fetchJSON(t, vm, "--load-module")
		if loaded.Kind != kheaders.KindHeaders || loaded.Source.Kind != kheaders.SourceSysfs {
			t.Errorf("fetch --load-module: %+v", loaded.Manifest)
		}
		vm.Run(t, "kh", "btf", "--module", "kheaders", "-O", "/tmp/kheaders.h").OK(t)
		if got := vm.ReadFile(t, "/tmp/kheaders.h"); !bytes.Equal(got, wantModule) {
			t.Errorf("kh btf --module kheaders (%d bytes) differs from btf.WriteC on the host (%d bytes)", len(got), len(wantModule))
		}

		// kh run: the program built against this kernel's headers, on a
		// syscall tracepoint and a kprobe, triggered by faccessat.
		res := vm.RunGroup(t,
			vmtest.Command{Args: []string{"kh", "run", "--duration", "40s", "/bpf/syscalls.bpf.o"}, Timeout: 3 * time.Minute},
			vmtest.Command{Args: []string{"vmtest", "access", "/kh-guest-probe", "70", "0.5"}, Timeout: 3 * time.Minute},
		)
		run := res[0].OK(t)
		res[1].OK(t)
		seen := map[string]string{}
		for _, m := range guestPrintk.FindAllStringSubmatch(string(run.Stdout), -1) {
			seen[m[1]] = m[2]
		}
		if seen["tp"] == "" || seen["kp"] == "" {
			t.Errorf("kh run printed no event from the tracepoint and the kprobe (seen %v):\n%s\n%s", seen, run.Stdout, run.Stderr)
		} else if seen["tp"] != seen["kp"] {
			t.Errorf("tracepoint and kprobe saw different tgids: %v", seen)
		}
	})
}
