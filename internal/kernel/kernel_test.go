package kernel

import (
	"encoding/binary"
	"os"
	"testing"
)

func TestSrcArch(t *testing.T) {
	for in, want := range map[string]string{
		"x86_64": "x86", "amd64": "x86", "i686": "x86", "aarch64": "arm64", "arm64": "arm64",
		"armv7l": "arm", "riscv64": "riscv", "ppc64le": "powerpc", "s390x": "s390",
		"mips64": "mips", "loongarch64": "loongarch", "sparc64": "sparc", "ia64": "ia64",
	} {
		if got := SrcArch(in); got != want {
			t.Errorf("SrcArch(%q) = %q, want %q", in, got, want)
		}
	}
}

func note(name string, typ uint32, desc []byte) []byte {
	bo := binary.NativeEndian
	n := append([]byte(name), 0)
	b := bo.AppendUint32(nil, uint32(len(n)))
	b = bo.AppendUint32(b, uint32(len(desc)))
	b = bo.AppendUint32(b, typ)
	b = append(b, n...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	b = append(b, desc...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func TestParseBuildID(t *testing.T) {
	notes := append(note("Xen", 1, []byte{1, 2, 3}), note("GNU", ntGNUBuildID, []byte{0xde, 0xad, 0xbe, 0xef, 0x01})...)
	id, err := ParseBuildID(notes)
	if err != nil || id != "deadbeef01" {
		t.Fatalf("ParseBuildID = %q, %v", id, err)
	}
	if _, err := ParseBuildID(note("Linux", 6, []byte{1})); err != ErrNoBuildID {
		t.Fatalf("no build ID: err = %v", err)
	}
	bad := note("GNU", ntGNUBuildID, make([]byte, 20))
	if _, err := ParseBuildID(bad[:20]); err == nil {
		t.Fatal("truncated note accepted")
	}
}

func TestRunningBuildID(t *testing.T) {
	if _, err := os.Stat("/sys/kernel/notes"); err != nil {
		t.Skip("no /sys/kernel/notes on this machine")
	}
	id, err := BuildID("/sys/kernel/notes")
	if err != nil {
		t.Fatal(err)
	}
	if len(id) < 16 {
		t.Fatalf("build ID %q too short", id)
	}
}

func TestRelease(t *testing.T) {
	if r, err := Release("6.1.192"); err != nil || r != "6.1.192" {
		t.Errorf("Release(6.1.192) = %q, %v", r, err)
	}
	u, err := Running()
	if err != nil {
		t.Fatal(err)
	}
	if r, err := Release(""); err != nil || r != u.Release || r == "" {
		t.Errorf("Release(\"\") = %q, %v; uname -r is %q", r, err, u.Release)
	}
}
