package logx

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
)

func TestOrDiscard(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(slog.NewTextHandler(&buf, nil))
	if OrDiscard(l) != l {
		t.Error("a given logger is replaced")
	}
	d := OrDiscard(nil)
	if d == nil || d.Enabled(context.Background(), slog.LevelError) {
		t.Error("nil does not give a logger that drops everything")
	}
}
