package xz

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"

	"github.com/khtool/kh/internal/testkernel"
)

// TestLZMADecoderGenerated checks that lzmadec.go is what gen_lzmadec.go
// makes of lzmadec.go.tmpl: edit the template, then run
// `go generate ./internal/xz`.
func TestLZMADecoderGenerated(t *testing.T) {
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goTool); err != nil {
		goTool = testkernel.NeedTool(t, "go")
	}
	out := filepath.Join(t.TempDir(), "lzmadec.go")
	cmd := exec.Command(goTool, "run", "gen_lzmadec.go", "-o", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go run gen_lzmadec.go: %v\n%s", err, b)
	}
	want, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("lzmadec.go")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatal("lzmadec.go is not what lzmadec.go.tmpl generates: run `go generate ./internal/xz`")
	}
}
