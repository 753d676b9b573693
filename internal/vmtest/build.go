package vmtest

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
)

// Harness builds guest programs and boots VMs. A test binary keeps one
// Harness for all its tests so that each program is built once per
// architecture; the zero value is ready to use and safe for concurrent
// use. Close removes its build directory:
//
//	var harness vmtest.Harness
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		harness.Close()
//		os.Exit(code)
//	}
type Harness struct {
	mu      sync.Mutex
	dir     string // build outputs; created on first use
	modRoot string
	builds  map[buildKey]*buildResult
}

type buildKey struct {
	pkg  string
	arch Arch
}

type buildResult struct {
	once sync.Once
	path string
	err  error
}

// Packages the harness always builds.
const (
	initPackage = "./internal/vmtest/guestinit"
	khPackage   = "./cmd/kh"
)

// Close removes the harness's build directory.
func (h *Harness) Close() error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dir == "" {
		return nil
	}
	err := os.RemoveAll(h.dir)
	h.dir = ""
	h.builds = nil
	return err
}

// workdir returns the build directory and module root, creating the
// former on first use.
func (h *Harness) workdir(ctx context.Context) (dir, modRoot string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.dir == "" {
		root, err := moduleRoot(ctx)
		if err != nil {
			return "", "", err
		}
		d, err := os.MkdirTemp("", "kh-vmtest-")
		if err != nil {
			return "", "", fmt.Errorf("vmtest build dir: %w", err)
		}
		h.dir, h.modRoot = d, root
	}
	return h.dir, h.modRoot, nil
}

// Build cross-compiles the main package pkg (a path relative to the module
// root, like "./cmd/kh") as a static linux binary for arch and returns its
// path. Each (pkg, arch) is built once per Harness.
func (h *Harness) Build(ctx context.Context, pkg string, arch Arch) (string, error) {
	dir, root, err := h.workdir(ctx)
	if err != nil {
		return "", err
	}
	h.mu.Lock()
	if h.builds == nil {
		h.builds = make(map[buildKey]*buildResult)
	}
	key := buildKey{pkg, arch}
	b := h.builds[key]
	if b == nil {
		b = &buildResult{}
		h.builds[key] = b
	}
	h.mu.Unlock()
	b.once.Do(func() {
		name := strings.NewReplacer("/", "_", ".", "_").Replace(strings.Trim(pkg, "./"))
		out := filepath.Join(dir, string(arch), name)
		b.err = goBuild(ctx, root, pkg, arch, out)
		b.path = out
	})
	return b.path, b.err
}

func goBuild(ctx context.Context, root, pkg string, arch Arch, out string) error {
	goarch := arch.GOARCH()
	if goarch == "" {
		return fmt.Errorf("build %s: unknown arch %q", pkg, arch)
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return fmt.Errorf("build %s: go command: %w: %w", pkg, ErrUnavailable, err)
	}
	// No VCS stamping: it needs a working git, and kh's version does not
	// come from it.
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, pkg)
	cmd.Dir = root
	// GOAMD64=v1 and GOARM64=v8.0: what qemu's default CPU models offer.
	// -race in GOFLAGS would need cgo: drop it.
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+goarch, "GOAMD64=v1", "GOARM64=v8.0",
		"GOFLAGS="+withoutRace(os.Getenv("GOFLAGS")))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("go build %s for %s: %w: %s", pkg, goarch, err, strings.TrimSpace(stderr.String()))
	}
	return nil
}

// withoutRace removes -race from a GOFLAGS value.
func withoutRace(goflags string) string {
	var keep []string
	for _, f := range strings.Fields(goflags) {
		if f != "-race" && f != "--race" && !strings.HasPrefix(f, "-race=") && !strings.HasPrefix(f, "--race=") {
			keep = append(keep, f)
		}
	}
	return strings.Join(keep, " ")
}
