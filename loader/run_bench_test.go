package loader

import (
	"context"
	"encoding/binary"
	"testing"
)

// BenchmarkDecodeRecord decodes a struct event-like record through BTF,
// the per-record cost of kh run's decoding.
func BenchmarkDecodeRecord(b *testing.B) {
	raw := make([]byte, 48)
	binary.NativeEndian.PutUint32(raw, 2)
	copy(raw[12:], "bash")
	d := &recordDecoder{name: "event", typ: eventType(), size: 48}
	b.SetBytes(int64(len(raw)))
	for b.Loop() {
		if _, err := d.decode(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkLoadAttachClose loads tracepoint.bpf.o, attaches it and
// tears it down: the fixed cost of a kh run.
func BenchmarkLoadAttachClose(b *testing.B) {
	path := bpfObject(b, "tracepoint")
	requireBPF(b)
	ctx := context.Background()
	for b.Loop() {
		obj, err := Load(ctx, path, LoadOptions{})
		if err != nil {
			b.Fatal(err)
		}
		if err := obj.Attach(ctx); err != nil {
			b.Fatal(err)
		}
		if err := obj.Close(); err != nil {
			b.Fatal(err)
		}
	}
}
