package vmtest_test

import (
	"context"
	"net"
	"os"
	"strings"
	"testing"

	"github.com/khtool/kh/cache"
	"github.com/khtool/kh/internal/regtest"
	"github.com/khtool/kh/internal/vmtest"
	"github.com/khtool/kh/kheaders"
	"github.com/khtool/kh/registry"
)

// guestRegistry is where the guest reaches the host's registry: qemu's
// user networking forwards this address (guestfwd) to the registry on the
// host's 127.0.0.1, so nothing but qemu touches the host's network.
const guestRegistry = "10.0.2.100:5000"

// TestFetchRegistryInGuest boots a Linux 6.12 guest whose initramfs has
// no kheaders.ko (and whose kernel has no CONFIG_IKHEADERS built in), so
// that the kernel has no header source of its own, and fetches its
// headers from the host's registry by the guest kernel's build ID: the
// tree is byte-identical to tar -xJf of the archive and has the name a
// local fetch gives it; a second fetch is warm and makes no request; plain
// HTTP to a registry that is not on loopback needs --insecure.
func TestFetchRegistryInGuest(t *testing.T) {
	t.Parallel() // guests of different tests boot side by side
	vmtest.ForEachArch(t, func(t *testing.T, arch vmtest.Arch) {
		k := vmtest.KernelVersionFor(t, arch, vmtest.V6_12)
		want := hostDigest(t, k)
		read := func(name string) []byte {
			b, err := os.ReadFile(k.File(name))
			if err != nil {
				t.Fatal(err)
			}
			return b
		}
		archive := read("kheaders.tar.xz")
		id := strings.TrimSpace(string(read("build-id")))

		reg := regtest.Start(t, regtest.Options{})
		repo, err := registry.Open(reg.Repo("kh"), registry.Options{})
		if err != nil {
			t.Fatal(err)
		}
		a := &registry.Artifact{
			Identity: registry.Identity{Release: k.Release, Arch: kernelSrcArch(arch), BuildID: id, Source: "file"},
			Headers:  archive, BTF: read("vmlinux.btf"), Config: read("config"),
		}
		if _, err := repo.Push(context.Background(), a, registry.PushOptions{}); err != nil {
			t.Fatal(err)
		}
		_, port, _ := net.SplitHostPort(reg.Addr)
		vm := harness.Boot(t, vmtest.Config{
			Kernel: k,
			QEMUArgs: []string{
				"-netdev", "user,id=n0,restrict=on,guestfwd=tcp:" + guestRegistry + "-tcp:127.0.0.1:" + port,
				"-device", "virtio-net-pci,netdev=n0",
			},
		})
		if vm.Stat(t, kheaders.SysfsArchive).Exists || vm.Stat(t, k.KheadersModulePath()).Exists {
			t.Fatal("the guest has a kheaders source of its own")
		}
		vm.Run(t, "vmtest", "ifup", "eth0", "10.0.2.15/24").OK(t)
		guestRepo := guestRegistry + "/kh"

		tree, r := fetchJSON(t, vm, "--registry", guestRepo, "--insecure")
		if want := (kheaders.Source{Kind: kheaders.SourceRegistry, Location: guestRepo + ":buildid-" + id}); tree.Source != want {
			t.Errorf("source %+v, want %+v", tree.Source, want)
		}
		name := cache.TreeName(k.Release, (&kheaders.Archive{Data: archive}).Digest())
		if tree.Cached || tree.Kind != kheaders.KindHeaders || tree.Release != k.Release || !strings.HasSuffix(tree.Path, "/"+name) {
			t.Errorf("tree %+v, want a fresh kheaders tree named %s; stderr %s", tree.Manifest, name, r.Stderr)
		}
		vmtest.WantDigest(t, vm.Digest(t, tree.Path, kheaders.ManifestName, kheaders.DefinesHeader), want)

		// Warm: the build-ID hint, no request (KH_REGISTRY this time).
		again := vm.RunCommand(t, vmtest.Command{Args: []string{"kh", "fetch", "-o", "json", "-v", "--insecure"}, Env: []string{"KH_REGISTRY=" + guestRepo}}).OK(t)
		if !strings.Contains(string(again.Stdout), `"cached": true`) || !strings.Contains(string(again.Stdout), tree.Path) || strings.Contains(string(again.Stderr), "resolving") {
			t.Errorf("second fetch: %s %s", again.Stdout, again.Stderr)
		}

		// Without --insecure kh speaks TLS to a registry that is not on
		// loopback, and gets plain HTTP back. (Last: qemu forwards
		// 10.0.2.100 over a single connection to the registry, which
		// the registry closes after this.)
		r = vm.Run(t, "kh", "fetch", "--registry", guestRepo, "--cache-dir", "/tmp/no-insecure")
		r.Exit(t, 1)
		if !strings.Contains(string(r.Stderr), "HTTP response to HTTPS client") || strings.Count(string(r.Stderr), "\n") != 1 {
			t.Errorf("plain HTTP without --insecure: %q", r.Stderr)
		}
		if st := vm.Stat(t, "/tmp/no-insecure"); st.Exists {
			if got := vm.Run(t, "kh", "list", "--cache-dir", "/tmp/no-insecure", "-o", "json").OK(t); strings.TrimSpace(string(got.Stdout)) != "[]" {
				t.Errorf("a failed fetch left trees: %s", got.Stdout)
			}
		}

	})
}

func kernelSrcArch(a vmtest.Arch) string {
	if a == vmtest.ARM64 {
		return "arm64"
	}
	return "x86"
}
