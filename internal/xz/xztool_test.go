package xz

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"strings"
	"testing"

	"github.com/khtool/kh/internal/testkernel"
)

// xzTool returns the path of the xz binary or skips the test.
func xzTool(t *testing.T) string {
	t.Helper()
	// Without it, the fixtures in testdata still run.
	return testkernel.NeedTool(t, "xz")
}

// xzCompress runs the xz binary with args on in.
func xzCompress(t *testing.T, xz string, in []byte, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(xz, append([]string{"-c"}, args...)...)
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("xz %v: %v: %s", args, err, stderr.Bytes())
	}
	return out
}

// testInputs returns generated inputs: empty, tiny, text-like,
// incompressible, highly repetitive and a mix of all.
func testInputs() map[string][]byte {
	rng := rand.New(rand.NewPCG(7, 11))
	random := make([]byte, 300<<10)
	for i := range random {
		random[i] = byte(rng.Uint32())
	}
	words := strings.Fields("struct int unsigned long const static inline return void #define #include __u32 __be16 spinlock_t {} () ; -> bpf_map kprobe tracepoint")
	var text bytes.Buffer
	for text.Len() < 400<<10 {
		text.WriteString(words[rng.IntN(len(words))])
		if rng.IntN(8) == 0 {
			text.WriteString("\n\t")
		} else {
			text.WriteByte(' ')
		}
	}
	repetitive := bytes.Repeat([]byte("abcabcabd"), 100<<10)
	for i := 0; i < len(repetitive); i += 4099 {
		repetitive[i] = 'z'
	}
	var mixed bytes.Buffer
	for i := range 12 {
		switch i % 4 {
		case 0:
			mixed.Write(text.Bytes()[i*10000 : i*10000+30000])
		case 1:
			mixed.Write(random[i*1000 : i*1000+20000])
		case 2:
			mixed.Write(bytes.Repeat([]byte{byte(i)}, 7000))
		case 3:
			mixed.Write(repetitive[:9000])
		}
	}
	return map[string][]byte{
		"empty":      {},
		"one byte":   {'x'},
		"text":       text.Bytes(),
		"random":     random,
		"repetitive": repetitive,
		"mixed":      mixed.Bytes(),
	}
}

// TestAgainstXZTool compresses generated inputs with the xz binary in
// many configurations and checks that this package decodes each to the
// input, and agrees with ulikunitz/xz.
func TestAgainstXZTool(t *testing.T) {
	xz := xzTool(t)
	configs := [][]string{
		{"-0"}, {"-1"}, {"-2"}, {"-3"}, {"-4"}, {"-5"}, {"-6"}, {"-7"}, {"-8"}, {"-9"},
		{"-6e"}, {"-9e"},
		{"--check=none"}, {"--check=crc32"}, {"--check=crc64"}, {"--check=sha256"},
		{"--lzma2=dict=4KiB"}, {"--lzma2=dict=64KiB"}, {"--lzma2=dict=1MiB", "--check=crc32"}, // kernel module style
		{"--lzma2=preset=6,lc=0,lp=4,pb=4"}, {"--lzma2=preset=1,lc=4,lp=0,pb=0"},
		{"--lzma2=preset=6,mf=hc4,nice=8"},
		{"-T2", "--block-size=64KiB"},               // several blocks, sizes in headers
		{"-T1", "--block-size=100KiB"},              // several blocks, single-threaded
		{"--block-list=1000,50000,0", "-T1"},        // uneven blocks
		{"--lzma2=dict=4KiB", "--block-size=33KiB"}, // window slides within blocks
	}
	inputs := testInputs()
	if testing.Short() {
		configs = configs[:4]
	}
	for _, args := range configs {
		for name, in := range inputs {
			t.Run(fmt.Sprintf("%s/%s", strings.Join(args, " "), name), func(t *testing.T) {
				data := xzCompress(t, xz, in, args...)
				got, err := decodeAll(data, Limits{})
				if err != nil || !bytes.Equal(got, in) {
					t.Fatalf("decoded %d bytes, %v; want %d bytes", len(got), err, len(in))
				}
				got, err = decodeReads(data, Limits{}, 1000)
				if err != nil || !bytes.Equal(got, in) {
					t.Fatalf("Read: decoded %d bytes, %v; want %d bytes", len(got), err, len(in))
				}
				u, err := decodeUlikunitz(data)
				if err != nil || !bytes.Equal(u, in) {
					t.Fatalf("ulikunitz: %v", err)
				}
				info, err := Inspect(data, Limits{})
				if err != nil || info.UncompressedSize != int64(len(in)) {
					t.Fatalf("Inspect: %+v, %v", info, err)
				}
			})
		}
	}
}

// TestXZToolFilters: streams with BCJ and delta filters, as the xz
// binary writes them, are refused with a clear error.
func TestXZToolFilters(t *testing.T) {
	xz := xzTool(t)
	in := testInputs()["text"][:10000]
	for _, c := range []struct {
		args []string
		msg  string
	}{
		{[]string{"--x86", "--lzma2"}, "xz: block 1: unsupported filter BCJ-x86 (only LZMA2)"},
		{[]string{"--arm", "--lzma2"}, "unsupported filter BCJ-ARM (only LZMA2)"},
		{[]string{"--delta=dist=4", "--lzma2"}, "unsupported filter delta (only LZMA2)"},
	} {
		_, err := decodeAll(xzCompress(t, xz, in, c.args...), Limits{})
		wantErr(t, err, ErrUnsupported, c.msg)
	}
}

// TestRealArchivesAgainstXZTool compares the decoded real archives with
// the output of `xz -dc`, and checks the two-block layout that xz >= 5.6
// writes by default (24 MiB + rest).
func TestRealArchivesAgainstXZTool(t *testing.T) {
	xz := xzTool(t)
	for arch, path := range realArchives(t) {
		t.Run(arch, func(t *testing.T) {
			want, err := exec.Command(xz, "-dc", path).Output()
			if err != nil {
				t.Fatal(err)
			}
			got, err := decodeAll(readFile(t, path), Limits{})
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("%d bytes, %v; want %d bytes", len(got), err, len(want))
			}
			if testing.Short() {
				return
			}
			two := xzCompress(t, xz, want, "-T2", "--block-size=24MiB")
			info, err := Inspect(two, Limits{})
			if err != nil || info.Blocks != 2 {
				t.Fatalf("re-encoded: %+v, %v", info, err)
			}
			got, err = decodeAll(two, Limits{})
			if err != nil || !bytes.Equal(got, want) {
				t.Fatalf("two blocks: %d bytes, %v", len(got), err)
			}
		})
	}
}
