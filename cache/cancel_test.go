package cache

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestPublishAfterCancel (issue 12, F4): a build that completes although
// the context was cancelled meanwhile (as when SIGTERM arrives at the end
// of an extraction) publishes nothing: no tree, no stage, and Publish
// returns the context's error. Before the fix the tree was published.
func TestPublishAfterCancel(t *testing.T) {
	c, err := Open(Options{Dir: shmDir(t)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	_, err = c.Publish(ctx, digest, func(_ context.Context, dir string) (Manifest, error) {
		if err := os.WriteFile(filepath.Join(dir, "f"), []byte("x"), 0o444); err != nil {
			return Manifest{}, err
		}
		cancel() // the build itself did not notice
		return Manifest{Kind: "test", Release: "6.1.192", Arch: "x86", Files: 1, Bytes: 1}, nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Publish after cancel: %v, want context.Canceled", err)
	}
	if _, err := c.Lookup(digest); !errors.Is(err, ErrNotCached) {
		t.Fatalf("Lookup after a cancelled Publish: %v, want ErrNotCached", err)
	}
	trees, _ := filepath.Glob(filepath.Join(c.Dir, "6.*"))
	stages, _ := filepath.Glob(filepath.Join(c.Dir, stagePrefix+"*"))
	if len(trees)+len(stages) > 0 {
		t.Fatalf("left in the cache: %v %v", trees, stages)
	}
}
