package adb

import (
	"encoding/binary"
	"errors"
	"testing"
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
