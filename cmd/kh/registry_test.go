package main

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khtool/kh/internal/kernel"
	"github.com/khtool/kh/internal/regtest"
	tk "github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/registry"
)

// khFails runs kh and checks that it fails with exit status 1 and a
// one-line error that mentions every want.
func khFails(t *testing.T, want []string, args ...string) string {
	t.Helper()
	out, errs, code := kh(t, args...)
	t.Logf("kh %s: %s", strings.Join(args, " "), strings.TrimSpace(errs))
	if code != 1 || out != "" || strings.Count(errs, "\n") != 1 || !strings.HasPrefix(errs, "kh: ") {
		t.Errorf("kh %v: exit %d, stdout %q, stderr %q; want exit 1 and one line on stderr", args, code, out, errs)
	}
	for _, w := range want {
		if !strings.Contains(errs, w) {
			t.Errorf("kh %v: stderr %q does not mention %q", args, errs, w)
		}
	}
	return errs
}

// noTrees checks that a cache holds no tree.
func noTrees(t *testing.T, cache string) {
	t.Helper()
	out, _, _ := kh(t, "list", "--cache-dir", cache, "-o", "json")
	if strings.TrimSpace(out) != "[]" {
		t.Errorf("the cache holds trees: %s", out)
	}
}

func testKernelFiles(t *testing.T, dir string) (d, release, buildID string) {
	t.Helper()
	root, err := tk.Root()
	if err != nil {
		tk.Skip(t, "%v", err)
	}
	d = filepath.Join(root, dir)
	read := func(n string) string {
		b, err := os.ReadFile(filepath.Join(d, n))
		if err != nil {
			tk.Skip(t, "%v", err)
		}
		return strings.TrimSpace(string(b))
	}
	return d, read("release"), read("build-id")
}

func TestPushFetchCLI(t *testing.T) {
	reg := regtest.Start(t, regtest.Options{})
	repo := reg.Repo("kernels/kh")
	cache := cacheDir(t)
	type kernelFiles struct{ dir, release, id, arch string }
	var ks []kernelFiles
	// (The registry package's tests push all four test kernels; two
	// keep this one short: each push checks the archive by extracting it.)
	for i, d := range []string{"x86_64", "6.12/arm64"} {
		dir, rel, id := testKernelFiles(t, d)
		arch := "x86"
		if strings.HasSuffix(d, "arm64") {
			arch = "arm64"
		}
		ks = append(ks, kernelFiles{dir, rel, id, arch})
		args := []string{"push", "--from", filepath.Join(dir, "kheaders.tar.xz"), "--btf", filepath.Join(dir, "vmlinux.btf"), "--config", filepath.Join(dir, "config"), "--build-id", id, repo}
		out, errs, code := kh(t, args...)
		if code != 0 || !strings.HasPrefix(out, "pushed "+repo+":buildid-"+id+" ("+rel+"-"+arch+")") || !strings.Contains(out, "headers+btf+config") {
			t.Fatalf("kh push %s: exit %d, %q, %q", d, code, out, errs)
		}
		if i > 0 {
			continue
		}
		out, _, code = kh(t, args...)
		if code != 0 || !strings.HasPrefix(out, "unchanged ") || !strings.Contains(out, "0 blobs uploaded") {
			t.Errorf("second kh push %s: exit %d, %q", d, code, out)
		}
	}

	// kh registry ls: a table and JSON.
	out, errs, code := kh(t, "registry", "ls", repo)
	if code != 0 || strings.Count(out, "\n") != 3 || !strings.HasPrefix(out, "RELEASE") || !strings.Contains(out, ks[0].id) {
		t.Errorf("kh registry ls: exit %d, %q, %q", code, out, errs)
	}
	out, _, code = kh(t, "registry", "ls", "-o", "json", repo)
	var list []registry.Entry
	if code != 0 || json.Unmarshal([]byte(out), &list) != nil || len(list) != 2 {
		t.Fatalf("kh registry ls -o json: exit %d, %q", code, out)
	}
	for _, e := range list {
		if len(e.Layers) != 3 || e.Size == 0 || len(e.Tags) != 2 {
			t.Errorf("entry %+v", e)
		}
	}

	// Another kernel's tree, BTF and configuration, by build ID and by
	// release; the tree has the name a local fetch gives it.
	k := ks[1]
	out, errs, code = kh(t, "fetch", "--cache-dir", cache, "--registry", repo, "--build-id", k.id)
	if code != 0 {
		t.Fatalf("kh fetch --registry --build-id: exit %d, %s", code, errs)
	}
	path := strings.TrimSpace(out)
	local, _, _ := kh(t, "fetch", "--cache-dir", cache, "--from", filepath.Join(k.dir, "kheaders.tar.xz"), "-o", "json")
	var m map[string]any
	json.Unmarshal([]byte(local), &m)
	if m["path"] != path || m["cached"] != true {
		t.Errorf("local fetch after the registry's: %s; want %s, cached", local, path)
	}
	out, _, code = kh(t, "fetch", "--cache-dir", cache, "--registry", repo, "--release", k.release, "--arch", k.arch, "-o", "json")
	json.Unmarshal([]byte(out), &m)
	if code != 0 || m["path"] != path || m["cached"] != true {
		t.Errorf("kh fetch --release: exit %d, %s", code, out)
	}
	// KH_REGISTRY instead of --registry.
	t.Setenv("KH_REGISTRY", repo)
	out, _, code = kh(t, "fetch", "--cache-dir", cache, "--build-id", k.id)
	if code != 0 || strings.TrimSpace(out) != path {
		t.Errorf("KH_REGISTRY: exit %d, %q", code, out)
	}
	t.Setenv("KH_REGISTRY", "")
	want, _, _ := kh(t, "btf", "--from", filepath.Join(k.dir, "vmlinux.btf"))
	got, errs, code := kh(t, "btf", "--registry", repo, "--build-id", k.id)
	if code != 0 || got != want || len(got) < 1000 {
		t.Errorf("kh btf --registry: exit %d (%s), %d bytes, want the %d of kh btf --from", code, errs, len(got), len(want))
	}
	cfg, _ := os.ReadFile(filepath.Join(k.dir, "config"))
	got, errs, code = kh(t, "config", "--registry", repo, "--build-id", k.id)
	if code != 0 || got != string(cfg) {
		t.Errorf("kh config --registry: exit %d (%s), %d bytes, want the %d of the config file", code, errs, len(got), len(cfg))
	}
	got, _, code = kh(t, "config", "--registry", repo, "--release", ks[0].release, "--arch", "x86", "CONFIG_IKHEADERS")
	if code != 0 || got != "CONFIG_IKHEADERS=m\n" {
		t.Errorf("kh config --registry --release OPTION: exit %d, %q", code, got)
	}

	// Bad input: one line, exit 1 or 2, nothing pushed or published.
	d := ks[0]
	khFails(t, []string{"no such artifact"}, "fetch", "--cache-dir", cache, "--registry", repo, "--build-id", strings.Repeat("ab", 20))
	khFails(t, []string{"already holds a different artifact"}, "push", "--from", filepath.Join(d.dir, "kheaders.ko"), "--build-id", d.id, repo)
	khFails(t, []string{"not --release 6.1.193"}, "push", "--from", filepath.Join(d.dir, "kheaders.tar.xz"), "--release", "6.1.193", "--build-id", strings.Repeat("cd", 20), repo)
	bad := filepath.Join(t.TempDir(), "bad.tar.xz")
	arc, _ := os.ReadFile(filepath.Join(d.dir, "kheaders.tar.xz"))
	os.WriteFile(bad, arc[:len(arc)/2], 0o644)
	khFails(t, []string{"bad archive"}, "push", "--from", bad, "--build-id", strings.Repeat("cd", 20), repo)
	if _, errs, code := kh(t, "push", "--from", bad, repo); code != 2 || !strings.Contains(errs, "build ID") {
		t.Errorf("push without a build ID: exit %d, %q; want a usage error", code, errs)
	}
	if _, errs, code := kh(t, "fetch", "--build-id", d.id); code != 2 || !strings.Contains(errs, "--registry") {
		t.Errorf("--build-id without a registry: exit %d, %q; want a usage error", code, errs)
	}
	out, _, _ = kh(t, "registry", "ls", "-o", "json", repo)
	if json.Unmarshal([]byte(out), &list); len(list) != 2 {
		t.Errorf("after refused pushes the repository holds %d artifacts, want 2", len(list))
	}
}

// TestRegistryFaultsCLI: every fault is one line on stderr, exit status
// 1, and nothing in the cache.
func TestRegistryFaultsCLI(t *testing.T) {
	const user, password = "fleet", "n0t-In-0utput"
	reg := regtest.Start(t, regtest.Options{User: user, Password: password})
	repo := reg.Repo("kh")
	d, rel, id := testKernelFiles(t, "x86_64")
	// A BTF-only artifact: quick to push (no archive to check).
	files := []string{"--btf", filepath.Join(d, "vmlinux.btf"), "--config", filepath.Join(d, "config"), "--release", rel, "--build-id", id}
	good, bad := reg.AuthFile(t, user, password), reg.AuthFile(t, user, "wrong")
	t.Setenv("REGISTRY_AUTH_FILE", good)
	if out, errs, code := kh(t, append(append([]string{"push"}, files...), repo)...); code != 0 {
		t.Fatalf("push with credentials: exit %d, %s %s", code, out, errs)
	}
	cache := cacheDir(t)
	t.Setenv("REGISTRY_AUTH_FILE", bad)
	for _, args := range [][]string{
		{"fetch", "--cache-dir", cache, "--registry", repo, "--build-id", id},
		append(append([]string{"push"}, files...), repo),
		{"registry", "ls", repo},
	} {
		if errs := khFails(t, []string{"unauthorized", bad}, args...); strings.Contains(errs, password) || strings.Contains(errs, "wrong") {
			t.Errorf("a credential is printed: %s", errs)
		}
	}
	noTrees(t, cache)

	t.Setenv("REGISTRY_AUTH_FILE", good)
	reg.Stop()
	khFails(t, []string{"unreachable", "connection refused"}, "fetch", "--cache-dir", cache, "--registry", repo, "--build-id", id)
	noTrees(t, cache)

	// TLS: the CA file is needed, and enough.
	tls := regtest.Start(t, regtest.Options{TLS: true})
	khFails(t, []string{"certificate"}, append(append([]string{"push"}, files...), tls.Repo("kh"))...)
	if _, errs, code := kh(t, append(append([]string{"push", "--ca-file", tls.CAFile}, files...), tls.Repo("kh"))...); code != 0 {
		t.Errorf("push over TLS with --ca-file: %s", errs)
	}
	t.Setenv("KH_REGISTRY_CA_FILE", tls.CAFile)
	if out, errs, code := kh(t, "fetch", "--cache-dir", cache, "--registry", tls.Repo("kh"), "--build-id", id); code != 0 || !strings.HasPrefix(out, "/") {
		t.Errorf("fetch over TLS with KH_REGISTRY_CA_FILE: %s", errs)
	}
}

// TestPushRunningCLI publishes this host's kernel (BTF and configuration:
// a BTF-only artifact where it has no kheaders) with kh push, and fetches
// it back with kh fetch --registry: the same tree, under the same name,
// as the local BTF fallback makes.
func TestPushRunningCLI(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/btf/vmlinux"); err != nil {
		tk.Skip(t, "this host's kernel has no BTF")
	}
	if _, err := os.Stat("/sys/kernel/kheaders.tar.xz"); err == nil {
		t.Skip("this host's kernel has kheaders: kh fetch never reaches the registry")
	}
	id, err := kernel.BuildID("/sys/kernel/notes")
	if err != nil {
		tk.Skip(t, "%v", err)
	}
	reg := regtest.Start(t, regtest.Options{})
	repo := reg.Repo("hosts/kh")
	out, errs, code := kh(t, "push", "-o", "json", repo)
	if code != 0 {
		t.Fatalf("kh push (running kernel): exit %d, %s", code, errs)
	}
	var res registry.PushResult
	if err := json.Unmarshal([]byte(out), &res); err != nil || res.BuildID != id || !res.Has(registry.BTF) {
		t.Fatalf("kh push -o json: %v, %s", err, out)
	}
	regCache, localCache := cacheDir(t), cacheDir(t)
	out, errs, code = kh(t, "fetch", "-o", "json", "--cache-dir", regCache, "--registry", repo)
	var fromReg, local map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &fromReg) != nil {
		t.Fatalf("kh fetch --registry: exit %d, %s", code, errs)
	}
	src, _ := fromReg["source"].(map[string]any)
	if src["kind"] != "registry" || (res.Has(registry.Headers) != (fromReg["kind"] == "kheaders")) {
		t.Errorf("kh fetch --registry: %s", out)
	}
	out, _, code = kh(t, "fetch", "-o", "json", "--cache-dir", localCache)
	if code != 0 || json.Unmarshal([]byte(out), &local) != nil {
		t.Fatalf("kh fetch: exit %d", code)
	}
	if filepath.Base(local["path"].(string)) != filepath.Base(fromReg["path"].(string)) {
		t.Errorf("registry tree %s, local tree %s: not the same name", fromReg["path"], local["path"])
	}
	// Warm, with the registry gone.
	reg.Stop()
	out, errs, code = kh(t, "fetch", "-o", "json", "--cache-dir", regCache, "--registry", repo)
	var warm map[string]any
	if code != 0 || json.Unmarshal([]byte(out), &warm) != nil || warm["cached"] != true || warm["path"] != fromReg["path"] {
		t.Errorf("warm kh fetch --registry with the registry stopped: exit %d, %s %s", code, out, errs)
	}
}

// TestPushKernelFlag reads the build ID for kh push from an ELF kernel
// image's .notes section (made here with clang and llvm-objcopy, holding
// the x86_64 test kernel's build ID as vmlinux would).
func TestPushKernelFlag(t *testing.T) {
	clang, objcopy := tk.NeedTool(t, "clang"), tk.NeedTool(t, "llvm-objcopy")
	d, rel, id := testKernelFiles(t, "x86_64")
	desc, err := hex.DecodeString(id)
	if err != nil {
		t.Fatal(err)
	}
	notes := binary.NativeEndian.AppendUint32(nil, 4)
	notes = binary.NativeEndian.AppendUint32(notes, uint32(len(desc)))
	notes = binary.NativeEndian.AppendUint32(notes, 3)
	notes = append(append(notes, "GNU\x00"...), desc...)
	dir := t.TempDir()
	src, obj, np := filepath.Join(dir, "k.c"), filepath.Join(dir, "vmlinux"), filepath.Join(dir, "notes")
	os.WriteFile(src, []byte("int start_kernel(void) { return 0; }\n"), 0o644)
	os.WriteFile(np, notes, 0o644)
	for _, c := range [][]string{{clang, "-c", "-o", obj, src}, {objcopy, "--add-section", ".notes=" + np, obj}} {
		if out, err := exec.Command(c[0], c[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%v: %v: %s", c, err, out)
		}
	}
	reg := regtest.Start(t, regtest.Options{})
	out, errs, code := kh(t, "push", "-o", "json", "--kernel", obj, "--btf", filepath.Join(d, "vmlinux.btf"), "--config", filepath.Join(d, "config"), "--release", rel, reg.Repo("kh"))
	var res registry.PushResult
	if code != 0 || json.Unmarshal([]byte(out), &res) != nil || res.BuildID != id || res.Arch != "x86" || res.Has(registry.Headers) {
		t.Fatalf("kh push --kernel: exit %d, %s %s", code, out, errs)
	}
	khFails(t, []string{"not an ELF kernel image"}, "push", "--kernel", filepath.Join(d, "bzImage"), "--btf", filepath.Join(d, "vmlinux.btf"), "--release", rel, "--arch", "x86", reg.Repo("kh"))
}
