package lzo

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"os/exec"
	"testing"

	tk "github.com/khtool/kh/internal/testkernel"
)

func lzop(t *testing.T, data []byte, args ...string) []byte {
	t.Helper()
	tk.NeedTool(t, "lzop")
	cmd := exec.Command("lzop", args...)
	cmd.Stdin = bytes.NewReader(data)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("lzop %v: %v", args, err)
	}
	return out
}

func TestNewReader(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	data := make([]byte, 600<<10) // three blocks of lzop's 256 KiB
	for i := range data {
		data[i] = "abcdefgh"[rng.IntN(8)]
	}
	for _, level := range []string{"-1", "-9"} {
		z := lzop(t, data, level, "-c")
		r, err := NewReader(z, int64(len(data)))
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("lzop %s: %d bytes, %v", level, len(got), err)
		}
		// One byte less than the output: ErrTooLarge, not a short read.
		r, _ = NewReader(z, int64(len(data))-1)
		if _, err := io.ReadAll(r); !errors.Is(err, ErrTooLarge) {
			t.Errorf("lzop %s under the cap: %v", level, err)
		}
	}
	if _, err := NewReader([]byte("not lzop at all"), 1<<20); !errors.Is(err, ErrCorrupt) {
		t.Errorf("not lzop: %v", err)
	}
}
