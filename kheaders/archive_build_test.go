package kheaders

import (
	"archive/tar"
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"testing"

	"github.com/ulikunitz/xz"
)

// tarEntry describes one entry of a test archive.
type tarEntry struct {
	name     string
	typ      byte
	body     string
	linkname string
	mode     int64
	size     int64 // if nonzero, overrides len(body) in the header
}

func file(name, body string) tarEntry { return tarEntry{name: name, typ: tar.TypeReg, body: body} }
func dir(name string) tarEntry        { return tarEntry{name: name, typ: tar.TypeDir} }
func link(name, target string) tarEntry {
	return tarEntry{name: name, typ: tar.TypeSymlink, linkname: target}
}

// minimalTree is the smallest archive that passes as a kernel header tree.
func minimalTree() []tarEntry {
	return []tarEntry{
		dir("./"),
		dir("./arch/"), dir("./arch/x86/"), dir("./arch/x86/include/"),
		file("./arch/x86/include/asm.h", "/* asm */\n"),
		dir("./include/"), dir("./include/generated/"),
		file("./include/generated/utsrelease.h", "#define UTS_RELEASE \"6.1.0-test\"\n"),
		dir("./include/linux/"),
		file("./include/linux/kconfig.h", "#define __LINUX_KCONFIG_H\n"),
	}
}

func makeTar(t testing.TB, entries []tarEntry) []byte {
	t.Helper()
	var b bytes.Buffer
	w := tar.NewWriter(&b)
	for _, e := range entries {
		mode := e.mode
		if mode == 0 {
			mode = 0o644
		}
		h := &tar.Header{Name: e.name, Typeflag: e.typ, Linkname: e.linkname, Mode: mode, Format: tar.FormatPAX}
		if e.typ == tar.TypeReg {
			h.Size = int64(len(e.body))
		}
		if err := w.WriteHeader(h); err != nil {
			t.Fatalf("tar header %q: %v", e.name, err)
		}
		if e.body != "" {
			if _, err := w.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func xzCompress(t testing.TB, data []byte) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := xz.WriterConfig{CheckSum: xz.CRC64}.NewWriter(&b)
	if err != nil {
		t.Fatal(err)
	}
	w.Write(data)
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func makeArchive(t testing.TB, entries []tarEntry) []byte {
	return xzCompress(t, makeTar(t, entries))
}

// setDict rewrites the LZMA2 dictionary byte of the first block header of
// an xz stream and fixes the header's CRC32, as an attacker would.
func setDict(t testing.TB, data []byte, dictByte byte) []byte {
	t.Helper()
	out := append([]byte(nil), data...)
	const blockStart = 12
	size := (int(out[blockStart]) + 1) * 4
	hdr := out[blockStart : blockStart+size]
	flags := hdr[1]
	i := 2
	skipVLI := func() {
		for hdr[i]&0x80 != 0 {
			i++
		}
		i++
	}
	if flags&0x40 != 0 {
		skipVLI()
	}
	if flags&0x80 != 0 {
		skipVLI()
	}
	if hdr[i] != 0x21 || hdr[i+1] != 1 {
		t.Fatalf("first filter is not LZMA2: % x", hdr)
	}
	hdr[i+2] = dictByte
	binary.LittleEndian.PutUint32(hdr[size-4:], crc32.ChecksumIEEE(hdr[:size-4]))
	return out
}
