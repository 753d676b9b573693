package btf

import (
	"bytes"
	"context"
	"encoding/binary"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	tk "github.com/khtool/kh/internal/testkernel"
)

// moduleRoot is the repository root (this file is in btf/).
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..")
}

func testdata(parts ...string) string {
	return filepath.Join(append([]string{moduleRoot(), "testdata", "btf"}, parts...)...)
}

// testkernel returns the directory of a test kernel with its
// vmlinux.btf, or skips (fails under KH_STRICT=1).
func testkernel(t testing.TB, arch string) string {
	t.Helper()
	return filepath.Dir(tk.File(t, arch, "vmlinux.btf"))
}

func mustLoad(t testing.TB, path string, base *Spec) *Spec {
	t.Helper()
	s, err := LoadSplit(path, base)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func cHeader(t testing.TB, s *Spec, opts *Options) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteC(context.Background(), &buf, s, opts); err != nil {
		t.Fatalf("WriteC: %v", err)
	}
	return buf.Bytes()
}

// sameText fails with the first differing line of got and want.
func sameText(t testing.TB, what string, got, want []byte) {
	t.Helper()
	if bytes.Equal(got, want) {
		return
	}
	g := strings.Split(string(got), "\n")
	w := strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl || i >= len(g) || i >= len(w) {
			lo := max(0, i-3)
			t.Fatalf("%s: differs at line %d (got %d lines, want %d)\ngot:  %q\nwant: %q\ncontext (want):\n%s",
				what, i+1, len(g), len(w), gl, wl, strings.Join(w[lo:min(len(w), i+3)], "\n"))
		}
	}
	t.Fatalf("%s: differs (%d vs %d bytes)", what, len(got), len(want))
}

// rawBuilder writes raw BTF by hand, for what cilium/ebpf's Builder
// cannot express (legacy bitfields, 8-byte ENUM, DECL_TAG on anything)
// and for corrupt inputs.
type rawBuilder struct {
	words []uint32
	strs  []byte
	ids   int
	// For split BTF: the base's string length (offsets continue from
	// it) and no leading NUL.
	strBase uint32
}

func newRaw() *rawBuilder { return &rawBuilder{strs: []byte{0}} }

// newSplitRaw builds split BTF on top of base.
func newSplitRaw(base *Spec) *rawBuilder {
	return &rawBuilder{strBase: uint32(len(base.strs)), ids: base.NumTypes()}
}

func (b *rawBuilder) str(s string) uint32 {
	if s == "" {
		return 0
	}
	off := b.strBase + uint32(len(b.strs))
	b.strs = append(append(b.strs, s...), 0)
	return off
}

func info(kind, vlen int, kflag bool) uint32 {
	i := uint32(kind)<<24 | uint32(vlen)
	if kflag {
		i |= 1 << 31
	}
	return i
}

// add appends a type and returns its ID (counting from first).
func (b *rawBuilder) add(name string, info, st uint32, rest ...uint32) uint32 {
	b.words = append(b.words, b.str(name), info, st)
	b.words = append(b.words, rest...)
	b.ids++
	return uint32(b.ids)
}

func (b *rawBuilder) bytes(bo binary.ByteOrder) []byte {
	types := make([]byte, 4*len(b.words))
	for i, w := range b.words {
		bo.PutUint32(types[4*i:], w)
	}
	hdr := make([]byte, 24)
	bo.PutUint16(hdr, btfMagic)
	hdr[2] = 1
	bo.PutUint32(hdr[4:], 24)
	bo.PutUint32(hdr[8:], 0)
	bo.PutUint32(hdr[12:], uint32(len(types)))
	bo.PutUint32(hdr[16:], uint32(len(types)))
	bo.PutUint32(hdr[20:], uint32(len(b.strs)))
	return append(append(hdr, types...), b.strs...)
}
