package loader

import (
	"bytes"
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"
)

func TestParseSection(t *testing.T) {
	good := map[string]AttachPoint{
		"kprobe/do_sys_openat2":                   {Kind: AttachKprobe, Target: "do_sys_openat2"},
		"kprobe/vfs_read+0x10":                    {Kind: AttachKprobe, Target: "vfs_read", Offset: 16},
		"kretprobe/vfs_read":                      {Kind: AttachKretprobe, Target: "vfs_read"},
		"ksyscall/openat":                         {Kind: AttachKsyscall, Target: "openat"},
		"kretsyscall/openat":                      {Kind: AttachKretsyscall, Target: "openat"},
		"tracepoint/syscalls/sys_enter_openat":    {Kind: AttachTracepoint, Target: "syscalls/sys_enter_openat"},
		"tp/sched/sched_switch":                   {Kind: AttachTracepoint, Target: "sched/sched_switch"},
		"raw_tracepoint/sys_enter":                {Kind: AttachRawTracepoint, Target: "sys_enter"},
		"raw_tp/sched_switch":                     {Kind: AttachRawTracepoint, Target: "sched_switch"},
		"fentry/vfs_read":                         {Kind: AttachFentry, Target: "vfs_read"},
		"fexit/vfs_read":                          {Kind: AttachFexit, Target: "vfs_read"},
		"tp_btf/sched_switch":                     {Kind: AttachTpBTF, Target: "sched_switch"},
		"uprobe//usr/bin/bash:readline":           {Kind: AttachUprobe, Path: "/usr/bin/bash", Target: "readline"},
		"uretprobe//usr/bin/bash:readline+4":      {Kind: AttachUretprobe, Path: "/usr/bin/bash", Target: "readline", Offset: 4},
		"uprobe/libc.so.6:malloc":                 {Kind: AttachUprobe, Path: "libc.so.6", Target: "malloc"},
		"uprobe//proc/self/exe:main.foo/bar.baz":  {Kind: AttachUprobe, Path: "/proc/self/exe", Target: "main.foo/bar.baz"},
		"uprobe//a:b:c":                           {Kind: AttachUprobe, Path: "/a:b", Target: "c"},
		"kprobe/__x64_sys_getpid+0":               {Kind: AttachKprobe, Target: "__x64_sys_getpid"},
		"raw_tp/sys_exit":                         {Kind: AttachRawTracepoint, Target: "sys_exit"},
		"tracepoint/raw_syscalls/sys_enter_extra": {Kind: AttachTracepoint, Target: "raw_syscalls/sys_enter_extra"},
	}
	for sec, want := range good {
		got, err := ParseSection(sec)
		if err != nil || got != want {
			t.Errorf("ParseSection(%q) = %+v, %v; want %+v", sec, got, err, want)
		}
	}
	bad := []string{
		"", "socket", "xdp", "kprobe", "kprobe/", "kprobe.multi/vfs_*", "usdt/x:y:z", "lsm/file_open",
		"tracepoint/syscalls", "tracepoint/a/b/c", "tp//x", "kretprobe/vfs_read+8", "kprobe/vfs_read+zz",
		"uprobe/bash", "uprobe//bin/bash:", "uprobe/:readline", "raw_tp/a/b", "fentry/", "kh_nonsense/foo", "?kprobe/x",
	}
	for _, sec := range bad {
		if ap, err := ParseSection(sec); err == nil {
			t.Errorf("ParseSection(%q) = %+v, want an error", sec, ap)
		} else if strings.Contains(err.Error(), "\n") {
			t.Errorf("ParseSection(%q): multi-line error %q", sec, err)
		}
	}
}

func TestKernelVersionCode(t *testing.T) {
	for rel, want := range map[string]uint32{
		"6.1.192":                  6<<16 | 1<<8 | 192,
		"6.18.44-fc-v669":          6<<16 | 18<<8 | 44,
		"5.4.300":                  5<<16 | 4<<8 | 255,
		"6.8.0-rc3":                6<<16 | 8<<8,
		"4.19":                     4<<16 | 19<<8,
		"6.6.30-android15-8-g1234": 6<<16 | 6<<8 | 30,
		"garbage":                  0,
	} {
		if got := kernelVersionCode(rel); got != want {
			t.Errorf("kernelVersionCode(%q) = %#x, want %#x", rel, got, want)
		}
	}
}

func TestPutKconfigValue(t *testing.T) {
	boolT := &btf.Int{Name: "_Bool", Size: 1, Encoding: btf.Bool}
	charT := &btf.Int{Name: "char", Size: 1, Encoding: btf.Signed}
	intT := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	u8T := &btf.Int{Name: "unsigned char", Size: 1}
	u64T := &btf.Int{Name: "long long unsigned int", Size: 8}
	tri := &btf.Enum{Name: "libbpf_tristate", Size: 4}
	other := &btf.Enum{Name: "other", Size: 4}
	str8 := &btf.Array{Type: charT, Nelems: 8}
	le := func(v uint64, n int) []byte {
		b := make([]byte, 8)
		binary.NativeEndian.PutUint64(b, v)
		if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 { // big-endian host
			return b[8-n:]
		}
		return b[:n]
	}
	cases := []struct {
		typ  btf.Type
		raw  string
		want []byte
		err  bool
	}{
		{boolT, "y", []byte{1}, false},
		{boolT, "n", []byte{0}, false},
		{boolT, "m", nil, true},
		{&btf.Typedef{Name: "bool", Type: boolT}, "y", []byte{1}, false},
		{tri, "y", le(1, 4), false},
		{tri, "m", le(2, 4), false},
		{tri, "n", le(0, 4), false},
		{tri, "42", nil, true},
		{other, "y", nil, true},
		{charT, "m", []byte{'m'}, false},
		{charT, "7", nil, true},
		{intT, "250", le(250, 4), false},
		{intT, "-3", le(uint64(0xfffffffd), 4), false},
		{intT, "0x10", le(16, 4), false},
		{intT, "y", nil, true},
		{intT, `"x"`, nil, true},
		{intT, "4294967296", nil, true},
		{u8T, "255", []byte{255}, false},
		{u8T, "256", nil, true},
		{u64T, "18446744073709551615", le(^uint64(0), 8), false},
		{str8, `"(none)"`, []byte("(none)\x00\x00"), false},
		{str8, `"a \"q\""`, []byte("a \"q\"\x00\x00"), false},
		{str8, `"truncated!"`, []byte("truncat\x00"), false},
		{str8, "y", nil, true},
		{&btf.Pointer{Target: intT}, "1", nil, true},
	}
	for _, c := range cases {
		dst := make([]byte, max(len(c.want), 8))
		err := putKconfigValue(dst, c.typ, c.raw)
		if c.err {
			if err == nil {
				t.Errorf("%v = %s: no error", c.typ, c.raw)
			}
			continue
		}
		if err != nil {
			t.Errorf("%v = %s: %v", c.typ, c.raw, err)
			continue
		}
		if !bytes.Equal(dst[:len(c.want)], c.want) {
			t.Errorf("%v = %s: wrote %x, want %x", c.typ, c.raw, dst[:len(c.want)], c.want)
		}
	}
}

func TestVerifierSummary(t *testing.T) {
	log := []string{
		"0: R1=ctx() R10=fp0",
		"7: (79) r1 = *(u64 *)(r0 +0)",
		"R0 invalid mem access 'map_value_or_null'",
		"verification time 12 usec",
		"stack depth 8",
		"processed 7 insns (limit 1000000) max_states_per_insn 0",
		"",
	}
	got := strings.Join(verifierSummary(log), ": ")
	if got != "7: (79) r1 = *(u64 *)(r0 +0): R0 invalid mem access 'map_value_or_null'" {
		t.Errorf("summary %q", got)
	}
	if got := verifierSummary(nil); len(got) != 1 {
		t.Errorf("empty log: %q", got)
	}
	e := &RejectedError{Program: "p", Section: "kprobe/x", Log: log}
	if msg := e.Error(); strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "program p (kprobe/x) rejected by the verifier: ") {
		t.Errorf("Error() = %q", msg)
	}
}

func TestHideKconfig(t *testing.T) {
	// Not ELF, and ELF without BTF: untouched.
	for _, data := range [][]byte{[]byte("junk"), nil} {
		out, ext := hideKconfig(data)
		if ext != nil || !bytes.Equal(out, data) {
			t.Errorf("hideKconfig(%q) changed it", data)
		}
	}
	path := bpfObject(t, "kconfig")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out, ext := hideKconfig(data)
	if ext == nil {
		t.Fatal("kconfig.bpf.o: no .kconfig found")
	}
	if bytes.Contains(out, []byte("\x00.kconfig\x00")) && bytes.Count(out, []byte("\x00.kconfig\x00")) >= bytes.Count(data, []byte("\x00.kconfig\x00")) {
		t.Error(".kconfig still in the BTF strings")
	}
	if len(out) != len(data) {
		t.Errorf("size changed: %d -> %d", len(data), len(out))
	}
	if weak, ok := ext.undefined["CONFIG_KH_NO_SUCH_OPTION"]; !ok || !weak {
		t.Errorf("CONFIG_KH_NO_SUCH_OPTION: undefined %v weak %v", ok, weak)
	}
	if weak, ok := ext.undefined["CONFIG_HZ"]; !ok || weak {
		t.Errorf("CONFIG_HZ: undefined %v weak %v", ok, weak)
	}
	// The original is not modified.
	if !bytes.Contains(data, []byte("\x00.kconfig\x00")) {
		t.Error("hideKconfig modified its input")
	}
	// An object without externs is left alone.
	plain, err := os.ReadFile(bpfObject(t, "tracepoint"))
	if err != nil {
		t.Fatal(err)
	}
	if out, ext := hideKconfig(plain); ext != nil || !bytes.Equal(out, plain) {
		t.Error("object without __kconfig changed")
	}
}

func TestKallsyms(t *testing.T) {
	path := filepath.Join(t.TempDir(), "kallsyms")
	os.WriteFile(path, []byte("ffffffff81000000 T _stext\n0000000000000000 T __arm64_sys_bpf\n0000000000000000 T __arm64_sys_openat\n0000000000000000 t do_sys_openat2\n"), 0o644)
	k, err := readKallsyms(path)
	if err != nil {
		t.Fatal(err)
	}
	if p, ok := k.syscallPrefix(); p != "__arm64_" || !ok {
		t.Errorf("prefix %q %v", p, ok)
	}
	if s, err := k.syscallSymbol("openat"); s != "__arm64_sys_openat" || err != nil {
		t.Errorf("openat: %q %v", s, err)
	}
	if _, err := k.syscallSymbol("nosuch"); err == nil {
		t.Error("missing syscall: no error")
	}
	old := filepath.Join(t.TempDir(), "kallsyms")
	os.WriteFile(old, []byte("c0100000 T sys_bpf\nc0100010 T sys_openat\n"), 0o644)
	k, _ = readKallsyms(old)
	if s, err := k.syscallSymbol("openat"); s != "sys_openat" || err != nil {
		t.Errorf("no wrappers: %q %v", s, err)
	}
	if _, ok := k.syscallPrefix(); ok {
		t.Error("no wrappers: prefix reported")
	}
}

func TestResolveBinary(t *testing.T) {
	if p, err := resolveBinary("/x/y"); p != "/x/y" || err != nil {
		t.Errorf("path: %q %v", p, err)
	}
	dir := t.TempDir()
	prog := filepath.Join(dir, "kh-test-prog")
	os.WriteFile(prog, []byte("#!/bin/sh\n"), 0o755)
	lib := filepath.Join(dir, "libkhtest.so.1")
	os.WriteFile(lib, []byte("x"), 0o644)
	t.Setenv("PATH", dir)
	t.Setenv("LD_LIBRARY_PATH", dir)
	if p, err := resolveBinary("kh-test-prog"); p != prog || err != nil {
		t.Errorf("program: %q %v", p, err)
	}
	if p, err := resolveBinary("libkhtest.so.1"); p != lib || err != nil {
		t.Errorf("library: %q %v", p, err)
	}
	if _, err := resolveBinary("kh-no-such-prog"); err == nil {
		t.Error("missing program: no error")
	}
	if _, err := resolveBinary("libkhnosuch.so"); err == nil {
		t.Error("missing library: no error")
	}
}
