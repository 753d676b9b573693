package layering

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

const module = "github.com/khtool/kh"

// imports returns, for every package of the module, the module's
// packages it imports (in its non-test files).
func imports(t *testing.T) map[string][]string {
	t.Helper()
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	cmd := exec.Command(goTool, "list", "-f", "{{.ImportPath}}{{range .Imports}} {{.}}{{end}}", module+"/...")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	graph := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		pkg := strings.TrimPrefix(strings.TrimPrefix(f[0], module), "/")
		graph[pkg] = nil
		for _, imp := range f[1:] {
			if rel, ok := strings.CutPrefix(imp, module+"/"); ok {
				graph[pkg] = append(graph[pkg], rel)
			}
		}
	}
	if len(graph) < 10 {
		t.Fatalf("go list found %d packages: %s", len(graph), out)
	}
	return graph
}

func isInternal(p string) bool { return strings.HasPrefix(p, "internal/") }
func isHarness(p string) bool {
	return p == "internal/testkernel" || p == "internal/regtest" || p == "internal/vmtest" || strings.HasPrefix(p, "internal/vmtest/")
}
func isCmd(p string) bool { return strings.HasPrefix(p, "cmd/") }

// rules returns why pkg must not import imp, or "".
func rules(pkg, imp string) string {
	tracing := map[string]bool{"toolenv": true, "compile": true, "loader": true, "doctor": true}
	switch {
	case isCmd(imp):
		return "nothing imports the CLI"
	case isHarness(imp) && !isHarness(pkg):
		return "product code does not import a test harness"
	case isInternal(pkg) && !isInternal(imp) && !isHarness(pkg):
		return "internal packages are leaves: no top-level package"
	case pkg == "cache" && !isInternal(imp):
		return "the cache knows nothing of what its trees hold"
	case tracing[pkg] && tracing[imp]:
		return "the tracing packages do one job each and do not import one another"
	}
	return ""
}

func TestLayering(t *testing.T) {
	for pkg, imps := range imports(t) {
		for _, imp := range imps {
			if why := rules(pkg, imp); why != "" {
				t.Errorf("%s imports %s: %s", pkg, imp, why)
			}
		}
	}
}

// TestRules: each rule rejects what it names (so TestLayering can fail).
func TestRules(t *testing.T) {
	for _, tc := range []struct{ pkg, imp string }{
		{"kheaders", "cmd/kh"},
		{"loader", "internal/testkernel"},
		{"kheaders", "internal/vmtest"},
		{"internal/kmod", "kheaders"},
		{"cache", "kheaders"},
		{"doctor", "loader"},
	} {
		if rules(tc.pkg, tc.imp) == "" {
			t.Errorf("%s importing %s is allowed", tc.pkg, tc.imp)
		}
	}
	for _, tc := range []struct{ pkg, imp string }{
		{"cmd/kh", "kheaders"},
		{"kheaders", "cache"},
		{"doctor", "kheaders"},
		{"internal/vmtest", "internal/testkernel"},
		{"internal/kmod", "internal/decompress"},
	} {
		if why := rules(tc.pkg, tc.imp); why != "" {
			t.Errorf("%s importing %s is refused: %s", tc.pkg, tc.imp, why)
		}
	}
}
