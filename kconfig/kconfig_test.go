package kconfig

import (
	tk "github.com/khtool/kh/internal/testkernel"

	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khtool/kh/internal/decompress"
	"github.com/klauspost/compress/gzip"
)

// testdata returns a file of the repository's testdata/kconfig.
func testdata(name string) string { return filepath.Join("..", "testdata", "kconfig", name) }

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(testdata(name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testkernelDir returns the directory of the shared test kernels
// (KH_TESTKERNEL, else ../shared/testkernel beside the module root), or
// "" when they are missing.
func testkernelDir() string {
	dir, err := tk.Root()
	if err != nil {
		return ""
	}
	return dir
}

// testkernel returns the directory of the shared test kernels, or skips.
func testkernel(t testing.TB) string {
	t.Helper()
	dir := testkernelDir()
	if dir == "" {
		tk.Skip(t, "test kernels not found: set KH_TESTKERNEL or put them in ../shared/testkernel")
	}
	return dir
}

var arches = []struct{ name, image string }{
	{"x86_64", "bzImage"},
	{"arm64", "Image"},
}

func TestParseRoundTrip(t *testing.T) {
	dir := testkernel(t)
	for _, a := range arches {
		want, err := os.ReadFile(filepath.Join(dir, a.name, "config"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse(want)
		if err != nil {
			t.Fatalf("%s: %v", a.name, err)
		}
		if !bytes.Equal(c.Bytes(), want) {
			t.Errorf("%s: text does not round-trip", a.name)
		}
		// Every option line is seen with its value.
		set, unset := 0, 0
		for _, l := range strings.Split(string(want), "\n") {
			if name, value, ok := strings.Cut(l, "="); ok && strings.HasPrefix(l, Prefix) {
				set++
				if got, ok := c.Get(name); !ok || got != value {
					t.Errorf("%s: Get(%s) = %q, %v; want %q", a.name, name, got, ok, value)
				}
			} else if rest, ok := strings.CutPrefix(l, "# CONFIG_"); ok && strings.HasSuffix(rest, " is not set") {
				unset++
				name := Prefix + strings.TrimSuffix(rest, " is not set")
				if v, ok := c.Get(name); ok {
					t.Errorf("%s: %s is not set but Get = %q", a.name, name, v)
				}
			}
		}
		if len(c.Options()) != set || len(c.Map()) != set || set < 500 || unset < 100 {
			t.Errorf("%s: %d options, map %d, file has %d set and %d unset", a.name, len(c.Options()), len(c.Map()), set, unset)
		}
		if !c.Enabled("KPROBES") || !c.Enabled("CONFIG_BPF_SYSCALL") || c.Enabled("KERNEL_GZIP") {
			t.Errorf("%s: Enabled gives wrong answers", a.name)
		}
	}
}

func TestParseValues(t *testing.T) {
	text := "#\n# head\n#\nCONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=\"a \\\"q\\\" \\\\ b\"\nCONFIG_E=0x10\nCONFIG_F=-3\n\n# comment\nCONFIG_A=m"
	c, err := Parse([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if string(c.Bytes()) != text {
		t.Errorf("no round trip without trailing newline: %q", c.Bytes())
	}
	for name, want := range map[string]string{"A": "m", "B": "m", "D": `"a \"q\" \\ b"`, "E": "0x10", "F": "-3"} {
		if got, ok := c.Get(name); !ok || got != want {
			t.Errorf("Get(%s) = %q, %v; want %q", name, got, ok, want)
		}
	}
	if s, ok := c.String("D"); !ok || s != `a "q" \ b` {
		t.Errorf("String(D) = %q, %v", s, ok)
	}
	if Quote(`a "q" \ b`) != `"a \"q\" \\ b"` {
		t.Errorf("Quote does not invert Unquote")
	}
	if _, ok := c.Get("C"); ok {
		t.Error("C is not set")
	}
	if _, ok := c.String("E"); ok {
		t.Error("E is not a string")
	}
	opts := c.Options()
	if len(opts) != 5 || opts[len(opts)-1] != (Option{"CONFIG_A", "m"}) {
		t.Errorf("Options = %v", opts)
	}
}

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", "empty file"},
		{"# just a comment\n\n", "no CONFIG_ options"},
		{"hello world\n", `line 1: not a kernel config line: "hello world"`},
		{"CONFIG_A=y\nCONFIG_B\n", "line 2: not a kernel config line"},
		{"CONFIG_A=\"unterminated\n", "bad string value"},
		{"CONFIG_A=\"a\"b\"\n", "unescaped quote"},
		{"CONFIG_A=two words\n", "bad value"},
		{"CONFIG_A=\n", "empty value"},
		{"CONFIG_A-B=y\n", "not a kernel config line"},
	} {
		_, err := Parse([]byte(tc.in))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("Parse(%q) = %v, want error containing %q", tc.in, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "\n") {
			t.Errorf("Parse(%q): error is not one line: %q", tc.in, err)
		}
	}
}

func TestExtractTestKernels(t *testing.T) {
	dir := testkernel(t)
	for _, a := range arches {
		want, err := os.ReadFile(filepath.Join(dir, a.name, "config"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := Open(context.Background(), filepath.Join(dir, a.name, a.image))
		if err != nil {
			t.Fatalf("%s: %v", a.image, err)
		}
		if !bytes.Equal(c.Bytes(), want) {
			t.Errorf("%s: configuration differs from %s/config", a.image, a.name)
		}
		if c.Source.Kind != SourceImage {
			t.Errorf("%s: source %v", a.image, c.Source)
		}
		t.Logf("%s: %s", a.image, c.Source.Detail)
	}
}

// TestExtractIKConfigScript compares with the kernel's own
// scripts/extract-ikconfig on the test kernels and on the generated
// images. It needs the script (KH_EXTRACT_IKCONFIG, or taken from
// /usr/src/linux-source-6.1.tar.xz) and the decompressors it runs.
func TestExtractIKConfigScript(t *testing.T) {
	script := extractIKConfigScript(t)
	for _, tool := range []string{"sh", "tr", "grep", "tail", "zcat", "unxz", "bunzip2", "unlzma", "lzop", "lz4", "unzstd"} {
		if _, err := exec.LookPath(tool); err != nil {
			tk.Skip(t, "extract-ikconfig needs %s (Debian: gzip xz-utils bzip2 lzop lz4 zstd)", tool)
		}
	}
	files := []string{}
	for _, f := range []string{"image.gz", "image.xz", "image.lzma", "image.lz4", "image.lzo", "image.zst", "image.bz2", "configs.ko"} {
		files = append(files, testdata(f))
	}
	if d := testkernelDir(); d != "" {
		for _, a := range arches {
			files = append(files, filepath.Join(d, a.name, a.image))
		}
	}
	for _, f := range files {
		want, err := exec.Command("sh", script, f).Output()
		if err != nil {
			t.Fatalf("extract-ikconfig %s: %v", f, err)
		}
		c, err := Open(context.Background(), f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if !bytes.Equal(c.Bytes(), want) {
			t.Errorf("%s: differs from extract-ikconfig", f)
		}
	}
}

func extractIKConfigScript(t *testing.T) string {
	t.Helper()
	if p := os.Getenv("KH_EXTRACT_IKCONFIG"); p != "" {
		return p
	}
	const tarball = "/usr/src/linux-source-6.1.tar.xz"
	if _, err := os.Stat(tarball); err != nil {
		tk.Skip(t, "need scripts/extract-ikconfig: set KH_EXTRACT_IKCONFIG or install linux-source-6.1")
	}
	dir := t.TempDir()
	cmd := exec.Command("tar", "-xJf", tarball, "-C", dir, "--strip-components=2", "linux-source-6.1/scripts/extract-ikconfig")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("cannot extract extract-ikconfig: %v: %s", err, out)
	}
	return filepath.Join(dir, "extract-ikconfig")
}

func TestExtractCompressedImages(t *testing.T) {
	want := readTestdata(t, "config")
	for _, f := range []string{"image.gz", "image.xz", "image.lzma", "image.lz4", "image.lzo", "image.zst", "image.bz2",
		"configs.ko", "configs-arm64.ko", "configs.ko.xz", "configs.ko.zst", "configs.ko.gz", "config.gz", "config", "blob.bin"} {
		c, err := Open(context.Background(), testdata(f))
		if err != nil {
			t.Errorf("%s: %v", f, err)
			continue
		}
		if !bytes.Equal(c.Bytes(), want) {
			t.Errorf("%s: wrong configuration", f)
		}
	}
}

// TestExtractFreshImages compresses the blob with the tools found here,
// so the checked-in images are not the only evidence.
func TestExtractFreshImages(t *testing.T) {
	blob := readTestdata(t, "blob.bin")
	want := readTestdata(t, "config")
	for _, tc := range []struct{ tool, args string }{
		{"gzip", "-1"}, {"xz", "--check=crc64 --x86 --lzma2"}, {"xz", "--check=sha256 --lzma2=preset=1"}, {"xz", "-T2 --block-size=4000 --check=crc32 --x86 --lzma2=preset=6"},
		{"lzma", "-1"}, {"lz4", "-l -1"}, {"lzop", "-1"}, {"zstd", "-1"}, {"bzip2", "-1"},
	} {
		if _, err := exec.LookPath(tc.tool); err != nil {
			if tk.Strict() {
				t.Fatalf("KH_STRICT=1 and %s is not installed", tc.tool)
			}
			t.Logf("skip %s: not installed", tc.tool)
			continue
		}
		cmd := exec.Command(tc.tool, append(strings.Fields(tc.args), "-c")...)
		if tc.tool == "lz4" {
			cmd = exec.Command(tc.tool, append(strings.Fields(tc.args), "-", "-")...)
		}
		cmd.Stdin = bytes.NewReader(blob)
		z, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s %s: %v", tc.tool, tc.args, err)
		}
		img := append(append([]byte("junk before the stream"), z...), 1, 2, 3, 4)
		got, where, err := Extract(context.Background(), img)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s %s: %v (%s)", tc.tool, tc.args, err, where)
		}
	}
}

// fakeBzImage wraps a compressed payload in an x86 boot setup header.
func fakeBzImage(payload []byte) []byte {
	img := make([]byte, 5*512)
	img[0x1f1] = 4 // setup_sects
	copy(img[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(img[0x206:], 0x20f)
	binary.LittleEndian.PutUint32(img[0x248:], 0x100) // payload_offset
	binary.LittleEndian.PutUint32(img[0x24c:], uint32(len(payload)))
	img = append(img, make([]byte, 0x100)...)
	return append(img, payload...)
}

func TestExtractContainers(t *testing.T) {
	want := readTestdata(t, "config")
	xzImg := readTestdata(t, "image.xz")[333:] // the stream, without the junk before it
	check := func(name string, img []byte, wantWhere string) {
		t.Helper()
		got, where, err := Extract(context.Background(), img)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.Contains(where, wantWhere) {
			t.Errorf("%s: found %q, want it in %q", name, where, wantWhere)
		}
	}
	check("bzImage", fakeBzImage(xzImg), "bzImage payload")

	zboot := make([]byte, 64)
	copy(zboot, "MZ\x00\x00zimg")
	binary.LittleEndian.PutUint32(zboot[8:], 64)
	binary.LittleEndian.PutUint32(zboot[12:], uint32(len(xzImg)))
	copy(zboot[24:], "xz\x00")
	check("zboot", append(zboot, xzImg...), "EFI zboot payload")

	gzImg := readTestdata(t, "image.gz")[333:]
	for _, v := range []uint32{0, 1, 2, 3, 4} {
		check("boot.img", fakeBootImage(v, gzImg), "Android boot image v")
	}
}

// fakeBootImage builds an Android boot image of header version v around
// kernel.
func fakeBootImage(v uint32, kernel []byte) []byte {
	page := 2048
	if v >= 3 {
		page = 4096
	}
	img := make([]byte, page)
	copy(img, "ANDROID!")
	binary.LittleEndian.PutUint32(img[8:], uint32(len(kernel)))
	if v < 3 {
		binary.LittleEndian.PutUint32(img[36:], uint32(page))
	}
	binary.LittleEndian.PutUint32(img[40:], v)
	img = append(img, kernel...)
	img = append(img, make([]byte, page-len(kernel)%page)...)
	return append(img, []byte("ramdisk bytes")...)
}

func TestExtractBadInput(t *testing.T) {
	ctx := context.Background()
	gz := readTestdata(t, "config.gz")
	corrupt := append([]byte("junk IKCFG_ST"), gz...)
	corrupt[len(corrupt)-100] ^= 0xFF
	for _, tc := range []struct {
		name string
		data []byte
		want string
	}{
		{"empty", nil, "empty file"},
		{"random", bytes.Repeat([]byte("no kernel here \x00\x01"), 5000), "no embedded configuration found"},
		{"corrupt gzip", corrupt, "IKCFG_ST found but its gzip data is corrupt"},
		{"truncated xz", fakeBzImage(readTestdata(t, "image.xz")[333:2000]), "no embedded configuration"},
		{"boot.img without kernel", fakeBootImage(2, []byte("not a kernel")), "Android boot image v2 kernel"},
	} {
		_, _, err := Extract(ctx, tc.data)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.name, err, tc.want)
		}
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, _, err := Extract(cctx, readTestdata(t, "image.xz")); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
}

func TestLoadBadInput(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	var gzText bytes.Buffer
	zw := gzip.NewWriter(&gzText)
	zw.Write([]byte("just some text\n"))
	zw.Close()
	gz := readTestdata(t, "config.gz")
	for _, tc := range []struct{ path, want string }{
		{write("empty", nil), "empty file"},
		{write("text", []byte("hello\n")), `line 1: not a kernel config line: "hello"`},
		{write("text.gz", gzText.Bytes()), "gzip-compressed text: line 1: not a kernel config line"},
		{write("corrupt.gz", append(append([]byte{}, gz[:len(gz)-40]...), make([]byte, 40)...)), "no embedded configuration"},
		{write("elf", []byte("\x7fELF\x02\x01\x01 not really")), "no embedded configuration"},
		{dir, "no kernel configuration in this directory (looked for include/config/auto.conf, include/generated/autoconf.h, .config)"},
		{filepath.Join(dir, "missing"), "no such file"},
	} {
		_, err := Open(context.Background(), tc.path)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.path, err, tc.want)
		}
	}
}

// fakeRoot makes a root directory with the given files.
func fakeRoot(t *testing.T, files map[string][]byte) string {
	t.Helper()
	root := t.TempDir()
	for p, data := range files {
		full := filepath.Join(root, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func TestRunning(t *testing.T) {
	want := readTestdata(t, "config")
	gz := readTestdata(t, "config.gz")
	const rel = "6.1.192"
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		kind  SourceKind
	}{
		{"proc", map[string][]byte{"proc/config.gz": gz, "boot/config-" + rel: []byte("CONFIG_OTHER=y\n")}, SourceProc},
		{"boot", map[string][]byte{"boot/config-" + rel: want}, SourceBoot},
		{"module", map[string][]byte{"lib/modules/" + rel + "/kernel/kernel/configs.ko": readTestdata(t, "configs.ko")}, SourceModule},
		{"module.xz", map[string][]byte{"lib/modules/" + rel + "/kernel/kernel/configs.ko.xz": readTestdata(t, "configs.ko.xz")}, SourceModule},
		{"android", map[string][]byte{"vendor_dlkm/lib/modules/configs.ko.zst": readTestdata(t, "configs.ko.zst")}, SourceModule},
		{"bad proc, good boot", map[string][]byte{"proc/config.gz": []byte("not gzip"), "boot/config-" + rel: want}, SourceBoot},
	} {
		root := fakeRoot(t, tc.files)
		c, err := Running(context.Background(), Options{Root: root, Release: rel})
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.Source.Kind != tc.kind || !bytes.Equal(c.Bytes(), want) {
			t.Errorf("%s: got source %v, equal=%v", tc.name, c.Source, bytes.Equal(c.Bytes(), want))
		}
	}
	_, err := Running(context.Background(), Options{Root: t.TempDir(), Release: rel})
	if err == nil || !strings.Contains(err.Error(), "/proc/config.gz: not present (CONFIG_IKCONFIG_PROC)") ||
		!strings.Contains(err.Error(), "configs module (CONFIG_IKCONFIG=m): not found in") {
		t.Errorf("empty root: %v", err)
	}
	if !errors.Is(err, ErrNoConfig) {
		t.Errorf("empty root: %v is not ErrNoConfig", err)
	}
	if _, err := Open(context.Background(), t.TempDir()); !errors.Is(err, ErrNoConfig) {
		t.Errorf("empty directory: %v is not ErrNoConfig", err)
	}
}

func TestRunningHost(t *testing.T) {
	if _, err := os.Stat("/proc/config.gz"); err != nil {
		t.Skip("this host has no /proc/config.gz")
	}
	c, err := Running(context.Background(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Source.Kind != SourceProc || len(c.Options()) < 100 {
		t.Errorf("host config: %v, %d options", c.Source, len(c.Options()))
	}
}

// kheadersAutoconf returns include/generated/autoconf.h from a test
// kernel's kheaders archive.
func kheadersAutoconf(t *testing.T, dir, arch string) []byte {
	t.Helper()
	tk.NeedTool(t, "tar")
	out, err := exec.Command("tar", "-xJf", filepath.Join(dir, arch, "kheaders.tar.xz"), "-O", "./include/generated/autoconf.h").Output()
	if err != nil {
		t.Fatalf("cannot read autoconf.h from kheaders.tar.xz: %v", err)
	}
	return out
}

// TestAutoconfMatchesKernelBuild generates autoconf.h from each test
// kernel's .config and compares it with the one its build made (from
// kheaders.tar.xz, where gen_kheaders.sh stripped the heading comment).
func TestAutoconfMatchesKernelBuild(t *testing.T) {
	dir := testkernel(t)
	for _, a := range arches {
		want := kheadersAutoconf(t, dir, a.name)
		cfgText, err := os.ReadFile(filepath.Join(dir, a.name, "config"))
		if err != nil {
			t.Fatal(err)
		}
		c, err := Parse(cfgText)
		if err != nil {
			t.Fatal(err)
		}
		got := c.AutoconfBytes()
		// The build's heading comment is stripped in kheaders: strip ours.
		gotBody := "\n" + string(got[strings.Index(string(got), "*/\n")+3:])
		wantLines := strings.Split(string(want), "\n")
		gotLines := strings.Split(gotBody, "\n")
		// Option for option: the same set of lines.
		if !sameSet(wantLines, gotLines) {
			t.Errorf("%s: generated autoconf.h has different #defines", a.name)
		}
		diffs := 0
		for i := range min(len(wantLines), len(gotLines)) {
			if wantLines[i] != gotLines[i] {
				diffs++
			}
		}
		t.Logf("%s: %d lines, %d in a different place (symbols sharing a hash bucket); byte-identical: %v", a.name, len(wantLines), diffs, gotBody == string(want))
		if diffs > 10 {
			t.Errorf("%s: order differs in %d lines", a.name, diffs)
		}
		if !strings.HasPrefix(string(got), "/*\n * Automatically generated file; DO NOT EDIT.\n * Linux/") {
			t.Errorf("%s: heading %q", a.name, got[:80])
		}

		// Read back, the header is the same configuration, and written
		// again it is byte-identical (its order is kept).
		back, err := ParseAutoconf(want)
		if err != nil {
			t.Fatal(err)
		}
		if d := Diff(c, back); len(d) != 0 {
			t.Errorf("%s: autoconf.h read back differs: %v", a.name, d[:min(5, len(d))])
		}
		again := back.AutoconfBytes()
		if "\n"+string(again[strings.Index(string(again), "*/\n")+3:]) != string(want) {
			t.Errorf("%s: autoconf.h read back and written again is not identical", a.name)
		}
	}
}

func sameSet(a, b []string) bool {
	m := map[string]int{}
	for _, s := range a {
		m[s]++
	}
	for _, s := range b {
		m[s]--
	}
	for _, n := range m {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestAutoconfFormat(t *testing.T) {
	c, err := Parse([]byte("#\n# Automatically generated file; DO NOT EDIT.\n# Linux/x86 6.1.0 Kernel Configuration\n#\nCONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_S=\"x \\\"y\\\"\"\nCONFIG_H=0x10\nCONFIG_I=5\n"))
	if err != nil {
		t.Fatal(err)
	}
	got := string(c.AutoconfBytes())
	for _, want := range []string{
		"/*\n * Automatically generated file; DO NOT EDIT.\n * Linux/x86 6.1.0 Kernel Configuration\n */\n",
		"#define CONFIG_A 1\n", "#define CONFIG_B_MODULE 1\n", "#define CONFIG_S \"x \\\"y\\\"\"\n",
		"#define CONFIG_H 0x10\n", "#define CONFIG_I 5\n",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("autoconf.h lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "CONFIG_C") {
		t.Error("n option written")
	}
	back, err := ParseAutoconf([]byte(got))
	if err != nil {
		t.Fatal(err)
	}
	if d := Diff(c, back); len(d) != 0 {
		t.Errorf("read back: %v", d)
	}
	if back.Heading() != "Linux/x86 6.1.0 Kernel Configuration" {
		t.Errorf("heading %q", back.Heading())
	}
	for _, bad := range []string{"", "/* only a comment */\n", "#include <x.h>\n", "#define CONFIG_X \"open\n"} {
		if _, err := ParseAutoconf([]byte(bad)); err == nil {
			t.Errorf("ParseAutoconf(%q) accepted", bad)
		}
	}
}

func TestOpenTree(t *testing.T) {
	cfg := readTestdata(t, "config")
	c, _ := Parse(cfg)
	autoconf := c.AutoconfBytes()
	for _, tc := range []struct {
		name  string
		files map[string][]byte
		want  string
	}{
		{"auto.conf", map[string][]byte{"include/config/auto.conf": cfg, "include/generated/autoconf.h": []byte("garbage")}, "include/config/auto.conf"},
		{"autoconf.h", map[string][]byte{"include/generated/autoconf.h": autoconf}, "include/generated/autoconf.h"},
		{".config", map[string][]byte{".config": cfg}, ".config"},
	} {
		root := fakeRoot(t, tc.files)
		got, err := Open(context.Background(), root)
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if got.Source.Kind != SourceTree || got.Source.Detail != tc.want {
			t.Errorf("%s: source %v", tc.name, got.Source)
		}
		if d := Diff(c, got); len(d) != 0 {
			t.Errorf("%s: differs: %v", tc.name, d)
		}
	}
	root := fakeRoot(t, map[string][]byte{"include/generated/autoconf.h": []byte("int x;\n")})
	if _, err := OpenTree(root); err == nil || !strings.Contains(err.Error(), "autoconf.h: line 1: not an autoconf.h line") {
		t.Errorf("bad autoconf.h: %v", err)
	}
}

func TestDiff(t *testing.T) {
	a, _ := Parse([]byte("CONFIG_A=y\nCONFIG_B=m\n# CONFIG_C is not set\nCONFIG_D=1\nCONFIG_E=\"x\"\n"))
	b, _ := Parse([]byte("CONFIG_A=y\nCONFIG_B=y\nCONFIG_D=1\nCONFIG_F=m\n"))
	got := Diff(a, b)
	want := []Change{{"CONFIG_B", "m", "y"}, {"CONFIG_E", `"x"`, ""}, {"CONFIG_F", "", "m"}}
	if len(got) != len(want) {
		t.Fatalf("Diff = %v", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("Diff[%d] = %v, want %v", i, got[i], want[i])
		}
	}
	// From a header, y and 1 cannot be told apart.
	h, _ := ParseAutoconf([]byte("#define CONFIG_A 1\n#define CONFIG_B_MODULE 1\n#define CONFIG_D 1\n#define CONFIG_E \"x\"\n"))
	if d := Diff(a, h); len(d) != 0 {
		t.Errorf("Diff with header = %v", d)
	}
}

func TestDecompressFormatsCovered(t *testing.T) {
	// Every format the scanner searches for must have a magic.
	for _, f := range decompress.Formats() {
		if len(decompress.Magic(f)) == 0 {
			t.Errorf("%s has no magic", f)
		}
	}
}
