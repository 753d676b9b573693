package xz

import (
	"bytes"
	"context"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/khtool/kh/internal/testkernel"
)

// runBlocks returns an xz stream of n blocks, each decoding to the same
// 4 KiB (a literal and 15 matches, about 40 bytes of input), and what a
// block decodes to.
func runBlocks(n int) ([]byte, []byte) {
	lz, plain := encodeLZMA2(func(e *lzmaEncoder) {
		e.literal('k')
		for range 15 {
			e.match(0, 273)
		}
	})
	blocks := make([]testBlock, n)
	for i := range blocks {
		blocks[i] = testBlock{lzma2: lz, plain: plain, dictProp: 0}
	}
	return writeXZ(checkCRC32, blocks, -1), plain
}

// TestManyBlocksLinear decodes a stream of 262,144 blocks of 4 KiB (1
// GiB of output from 10 MB of input; the most blocks the cap allows for
// that output). A decoder that does work proportional to the number of
// blocks for every block (as startBlock did, recomputing the window over
// all blocks) needs 262,144^2 = 6.9e10 steps for it: on main, before the
// fix, half as many blocks took 59 s, so this would take about 4
// minutes of CPU; linear decoding takes about a second per mode. The
// decode stops with an error after 60 s of CPU time (testkernel.CPUBudget), a hang
// guard far from either figure, and CPU time, unlike the wall clock,
// does not grow on a loaded machine: the test does not time anything.
func TestManyBlocksLinear(t *testing.T) {
	const n = 256 << 10
	data, plain := runBlocks(n)
	ctx, cancel := testkernel.CPUBudget(t, time.Minute, "decoding is not linear in the blocks")
	defer cancel()
	for _, mode := range []string{"indexed", "prefix"} {
		t.Run(mode, func(t *testing.T) {
			var r *Reader
			var err error
			if mode == "indexed" {
				r, err = NewReader(data, Limits{})
			} else {
				r, err = NewPrefixReader(data, Limits{})
			}
			if err != nil {
				t.Fatal(err)
			}
			r.SetContext(ctx)
			got, err := r.WriteTo(io.Discard)
			if err != nil {
				t.Fatalf("after %d bytes: %v", got, err)
			}
			if want := int64(n * len(plain)); got != want {
				t.Fatalf("decoded %d bytes, want %d", got, want)
			}
			if b := r.Info().Blocks; b != n {
				t.Fatalf("Info().Blocks = %d, want %d", b, n)
			}
		})
	}
}

// TestBlockCap: a stream may hold one block per MinBlockOutput bytes of
// output plus BlockSlack; more is refused with a one-line ErrLimit
// error, before anything is decoded (NewReader) or at the first block
// beyond the cap (NewPrefixReader).
func TestBlockCap(t *testing.T) {
	one := func(n, size int) []byte {
		plain := bytes.Repeat([]byte{'x'}, size)
		blocks := make([]testBlock, n)
		for i := range blocks {
			blocks[i] = testBlock{lzma2: append(lzma2Stored(1, plain), 0), plain: plain}
		}
		return writeXZ(checkCRC32, blocks, -1)
	}
	for _, c := range []struct {
		name      string
		data      []byte
		wantError bool
	}{
		{"16 tiny blocks", one(BlockSlack, 1), false},
		{"17 tiny blocks", one(BlockSlack+1, 1), true},
		{"1000 blocks of one byte", one(1000, 1), true},
		{"4 KiB blocks", one(200, MinBlockOutput), false},
		{"2 KiB blocks", one(200, MinBlockOutput/2), true},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewReader(c.data, Limits{})
			if !c.wantError {
				if err != nil {
					t.Fatal(err)
				}
			} else {
				if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "blocks for") || strings.Contains(err.Error(), "\n") {
					t.Fatalf("NewReader: %v, want a one-line ErrLimit error about blocks", err)
				}
			}
			r, err := NewPrefixReader(c.data, Limits{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = r.WriteTo(io.Discard)
			if !c.wantError {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "blocks for") {
				t.Fatalf("NewPrefixReader: %v, want an ErrLimit error about blocks", err)
			}
		})
	}
}

// cancelWriter cancels a context at its first write.
type cancelWriter struct {
	cancel context.CancelFunc
	n      int64
}

func (w *cancelWriter) Write(p []byte) (int, error) {
	w.cancel()
	w.n += int64(len(p))
	return len(p), nil
}

// TestCancel: once the context given to SetContext is done, WriteTo and
// Read stop at the next step with an error wrapping ctx.Err(), and stay
// stopped; the cancellation comes from inside the decode (the first
// write of output), so the test is deterministic.
func TestCancel(t *testing.T) {
	data, _ := runBlocks(4096)
	for _, mode := range []string{"indexed", "parallel", "prefix"} {
		t.Run(mode, func(t *testing.T) {
			var r *Reader
			var err error
			switch mode {
			case "indexed":
				r, err = NewReader(data, Limits{})
			case "parallel":
				r, err = NewParallelReader(data, Limits{})
			default:
				r, err = NewPrefixReader(data, Limits{})
			}
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			ctx, cancel := context.WithCancel(context.Background())
			r.SetContext(ctx)
			w := &cancelWriter{cancel: cancel}
			_, err = r.WriteTo(w)
			if !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "xz: ") {
				t.Fatalf("WriteTo after cancel: %v, want an xz error wrapping context.Canceled", err)
			}
			if w.n > decodeStep {
				t.Fatalf("%d bytes written after the cancel, want at most one step (%d)", w.n, decodeStep)
			}
			if _, err := r.Read(make([]byte, 10)); !errors.Is(err, context.Canceled) {
				t.Fatalf("Read after cancel: %v", err)
			}
		})
	}
	// A legacy .lzma stream too.
	lz, _ := encodeLZMAAlone(someOps, -1, true)
	r, err := NewLZMAReader(lz, Limits{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r.SetContext(ctx)
	if _, err := r.Read(make([]byte, 10)); !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "lzma: ") {
		t.Fatalf("lzma Read after cancel: %v", err)
	}
}
