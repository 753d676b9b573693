package main

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khtool/kh/cache"
	tk "github.com/khtool/kh/internal/testkernel"
	"github.com/khtool/kh/kheaders"
)

func TestRunListAndCleanDirect(t *testing.T) {
	ff := miniTree(t)
	a, out, _ := testApp("")
	ctx := context.Background()
	// No cache yet: an empty list, and nothing to clean.
	if err := a.runList(&listOptions{cache: ff.cache, output: "json"}); err != nil || strings.TrimSpace(out.String()) != "[]" {
		t.Fatalf("list of no cache: %q %v", out, err)
	}
	a, out, _ = testApp("")
	if err := a.runFetch(ctx, &fetchOptions{fetch: ff, output: "text"}); err != nil {
		t.Fatal(err)
	}
	tree := strings.TrimSpace(out.String())
	a, out, _ = testApp("")
	if err := a.runList(&listOptions{cache: ff.cache, output: "json"}); err != nil {
		t.Fatal(err)
	}
	var rows []struct{ Name, Path string }
	if err := json.Unmarshal(out.Bytes(), &rows); err != nil || len(rows) != 1 || rows[0].Path != tree {
		t.Fatalf("list -o json: %v %s", err, out)
	}
	a, out, _ = testApp("")
	if err := a.runList(&listOptions{cache: ff.cache, output: "text"}); err != nil || !strings.Contains(out.String(), tree) || !strings.HasPrefix(out.String(), "RELEASE") {
		t.Fatalf("list: %v %s", err, out)
	}
	var ue *usageError
	if err := a.runList(&listOptions{cache: ff.cache, output: "yaml"}); !asUsage(err, &ue) {
		t.Errorf("list -o yaml: %v", err)
	}

	// A tree held (as kh exec holds it) is kept, and clean says so.
	_, hold, err := kheaders.FetchHeld(ctx, kheaders.Options{From: ff.from, CacheDir: ff.cache.dir})
	if err != nil {
		t.Fatal(err)
	}
	a, out, errb := testApp("")
	if err := a.runClean(ctx, &cleanOptions{cache: ff.cache, output: "text", all: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(errb.String(), "kh: kept "+tree+": in use") || out.Len() != 0 {
		t.Fatalf("clean --all of a held tree: stdout %q stderr %q", out, errb)
	}
	hold.Release()
	a, out, _ = testApp("")
	if err := a.runClean(ctx, &cleanOptions{cache: ff.cache, output: "json", all: true}); err != nil {
		t.Fatal(err)
	}
	var res kheaders.CleanResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil || len(res.Removed) != 1 || res.Removed[0] != tree {
		t.Fatalf("clean --all -o json: %v %s", err, out)
	}
}

// TestCacheAdvice: the CLI says what to do about each refusal.
func TestCacheAdvice(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want []string
	}{
		{&cache.UntrustedError{Path: "/dev/shm/kh-1001", Reason: "it is owned by uid 65534", Cache: true}, []string{"remove it", "--cache-dir"}},
		{&cache.UntrustedError{Path: "/data/local/tmp", Reason: "it is owned by uid 2000", Ancestor: true}, []string{"only you or root can change", "--cache-dir"}},
		{&kheaders.UntrustedTreeError{Dir: "/home/u/linux", Err: &cache.UntrustedError{Path: "/home/u/linux/include/a.h", Reason: "it is writable by group or others (mode 0664)"}}, []string{"--from", "archive", "chmod -R go-w"}},
		{&cache.NotTmpfsError{Dir: "/srv/c", FSType: "ext4", Mountable: true}, []string{"--mount-tmpfs", "--allow-disk"}},
	} {
		line := errorLine(tc.err)
		if strings.Count(line, "\n") != 0 {
			t.Errorf("not one line: %q", line)
		}
		for _, w := range tc.want {
			if !strings.Contains(line, w) {
				t.Errorf("%q does not say %q", line, w)
			}
		}
	}
}

// TestExecHoldsTree is the red team's F5c: kh clean, run while a command
// started by kh exec uses the tree, keeps the tree (and says so) instead
// of deleting it under the command.
func TestExecHoldsTree(t *testing.T) {
	bin := khBinary(t)
	ff := miniTree(t)
	script := `cd "$KH_HEADERS" && n=$(find . -type f | wc -l) && "$KH" clean --all --cache-dir "$C" && m=$(find . -type f | wc -l) && echo "$n $m"`
	out, errs, st := runKh(t, bin, []string{"KH=" + bin, "C=" + ff.cache.dir}, "exec", "--cache-dir", ff.cache.dir, "--from", ff.from, "--", "sh", "-c", script)
	if st.ExitCode() != 0 {
		t.Fatalf("kh exec: %d %s %s", st.ExitCode(), out, errs)
	}
	f := strings.Fields(out)
	if len(f) != 2 || f[0] != f[1] || f[0] == "0" {
		t.Fatalf("files before and after kh clean: %q (stderr %s)", out, errs)
	}
	if !strings.Contains(errs, "kh: kept ") || !strings.Contains(errs, "in use") {
		t.Errorf("kh clean did not say it kept the tree: %s", errs)
	}
	// Once the command is gone, the tree can go.
	out, errs, st = runKh(t, bin, nil, "clean", "--all", "--cache-dir", ff.cache.dir)
	if st.ExitCode() != 0 || !strings.Contains(out, "removed ") {
		t.Fatalf("kh clean --all afterwards: %s %s", out, errs)
	}
}

// TestUntrustedTreeCLI: root's kh fetch refuses another user's tree with
// one line that says why and what to do.
func TestUntrustedTreeCLI(t *testing.T) {
	tk.NeedRoot(t)
	dir := t.TempDir()
	for p, b := range map[string]string{
		"include/generated/utsrelease.h":       `#define UTS_RELEASE "6.1.0-9-amd64"` + "\n",
		"include/linux/kconfig.h":              "\n",
		"arch/x86/include/generated/asm/foo.h": "\n",
	} {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755)
		os.WriteFile(filepath.Join(dir, p), []byte(b), 0o644)
	}
	os.Chown(filepath.Join(dir, "include/linux/kconfig.h"), 65534, 65534)
	_, errs, code := kh(t, "fetch", "--from", dir)
	if code != 1 || strings.Count(errs, "\n") != 1 || !strings.Contains(errs, "owned by uid 65534") || !strings.Contains(errs, "--from") {
		t.Fatalf("exit %d, stderr %q", code, errs)
	}
	var ut *kheaders.UntrustedTreeError
	if _, err := kheaders.Fetch(context.Background(), kheaders.Options{From: dir}); !errors.As(err, &ut) {
		t.Fatalf("library error %v", err)
	}
}
