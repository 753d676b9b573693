package adb

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/khtool/kh/internal/testkernel"
)

func TestParseDevices(t *testing.T) {
	out := "* daemon not running; starting now at tcp:5037\nList of devices attached\n127.0.0.1:5555\tdevice\nR58M\tunauthorized\n\n"
	got := parseDevices([]byte(out))
	if len(got) != 2 || got[0] != (listed{"127.0.0.1:5555", "device"}) || got[1] != (listed{"R58M", "unauthorized"}) {
		t.Errorf("parseDevices = %v", got)
	}
}

func TestQuote(t *testing.T) {
	for in, want := range map[string]string{"/data/local/tmp/x": "/data/local/tmp/x", "a b": "'a b'", "it's": `'it'\''s'`, "": "''", "$(x)": "'$(x)'"} {
		if got := Quote(in); got != want {
			t.Errorf("Quote(%q) = %q, want %q", in, got, want)
		}
	}
}

func notes(id []byte) []byte {
	b := make([]byte, 12)
	binary.LittleEndian.PutUint32(b[0:], 4)
	binary.LittleEndian.PutUint32(b[4:], uint32(len(id)))
	binary.LittleEndian.PutUint32(b[8:], 3)
	b = append(b, "GNU\x00"...)
	return append(b, id...)
}

func TestParseProbe(t *testing.T) {
	out := []byte(probeMagic + "\nrelease 6.12.117\nmachine aarch64\nboot abc\nuid 2000\nroot su0\nsu /system/xbin/su\n" +
		"module 4508440 1700000000 42 /system_dlkm/lib/modules/kheaders.ko\nbtf 100 0 7 /sys/kernel/btf/vmlinux\nconfig\n" + probeNotes + "\n")
	out = append(out, notes([]byte{0xde, 0xad, 0xbe, 0xef, '\n', '\r', 0, 1})...)
	info, err := parseProbe("s", out, probeMagic)
	if err != nil {
		t.Fatal(err)
	}
	if info.Release != "6.12.117" || info.GOARCH() != "arm64" || info.SrcArch() != "arm64" || info.UID != 2000 || info.Root != RootSu0 || info.Su != "/system/xbin/su" ||
		info.AsRoot("cat /x") != "/system/xbin/su 0 sh -c 'cat /x'" ||
		info.BuildID != "deadbeef0a0d0001" || info.Sysfs != nil || !info.Config || info.BTF == nil || len(info.Modules) != 1 ||
		info.Modules[0] != (File{Path: "/system_dlkm/lib/modules/kheaders.ko", Size: 4508440, MTime: 1700000000, Inode: 42}) {
		t.Errorf("parseProbe = %+v", info)
	}
	var pe *ProbeError
	if _, err := parseProbe("s", []byte("/system/bin/sh: not found\n"), probeMagic); !errors.As(err, &pe) {
		t.Errorf("a shell error: err = %v, want a ProbeError", err)
	}
	if _, err := parseProbe("s", out[:len(out)-20], probeMagic); !errors.As(err, &pe) {
		t.Errorf("truncated notes: err = %v, want a ProbeError", err)
	}
}

func TestFindKh(t *testing.T) {
	arm64 := "/usr/local/lib/kh-test/arm64/busybox"
	if _, err := os.Stat(arm64); err != nil {
		testkernel.Skip(t, "no static arm64 ELF to stand in for a kh (%v): see .ci/run", err)
	}
	dir := t.TempDir()
	self := filepath.Join(dir, "kh")
	copyFile(t, "/bin/ls", self) // dynamically linked: not pushable
	copyFile(t, arm64, filepath.Join(dir, "kh-linux-arm64"))
	t.Setenv("GOBIN", "")
	t.Setenv("HOME", dir)
	if got, err := FindKh("arm64", self); err != nil || got != filepath.Join(dir, "kh-linux-arm64") {
		t.Errorf("FindKh(arm64) = %q, %v", got, err)
	}
	if err := CheckKh(self, runtime.GOARCH); err == nil || !strings.Contains(err.Error(), "dynamically linked") {
		t.Errorf("CheckKh of a dynamic binary: %v", err)
	}
	if err := CheckKh(filepath.Join(dir, "kh-linux-arm64"), "amd64"); err == nil {
		t.Error("CheckKh accepted an arm64 binary for amd64")
	}
	_, err := FindKh("riscv64", self)
	var nf *KhNotFoundError
	if !errors.As(err, &nf) || !strings.Contains(err.Error(), "GOOS=linux GOARCH=riscv64 CGO_ENABLED=0 go build") {
		t.Errorf("FindKh(riscv64): %v", err)
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	b, err := os.ReadFile(from)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(to, b, 0o755); err != nil {
		t.Fatal(err)
	}
}
