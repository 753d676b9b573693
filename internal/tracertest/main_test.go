package tracertest

import (
	"os"
	"testing"

	"github.com/khtool/kh/internal/vmtest"
)

// harness boots the guests of this package's tests.
var harness vmtest.Harness

func TestMain(m *testing.M) {
	code := m.Run()
	harness.Close()
	os.Exit(code)
}
