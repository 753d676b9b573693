package xz

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/khtool/kh/internal/testkernel"
	ulikunitz "github.com/ulikunitz/xz"
)

// realArchives returns the kheaders archives of the test kernels, or
// skips the test (fails it under KH_STRICT=1) if they are missing.
func realArchives(tb testing.TB) map[string]string {
	m := map[string]string{}
	for _, arch := range testkernel.Arches {
		m[arch] = testkernel.File(tb, arch, "kheaders.tar.xz")
	}
	return m
}

func readFile(tb testing.TB, path string) []byte {
	tb.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// BenchmarkDecode decodes the real kheaders archives from memory with
// this package (via WriteTo and via Read) and with ulikunitz/xz. Compare
// the ns/op of the sub-benchmarks within one run; BenchmarkXZTool gives
// liblzma's time on the same files.
func BenchmarkDecode(b *testing.B) {
	for _, arch := range testkernel.Arches {
		data := readFile(b, realArchives(b)[arch])
		info, err := Inspect(data, Limits{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(arch+"/ours", func(b *testing.B) {
			b.SetBytes(info.UncompressedSize)
			b.ReportAllocs()
			for b.Loop() {
				r, err := NewReader(data, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := r.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(arch+"/ours-parallel", func(b *testing.B) {
			b.SetBytes(info.UncompressedSize)
			b.ReportAllocs()
			for b.Loop() {
				r, err := NewParallelReader(data, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := r.WriteTo(io.Discard); err != nil {
					b.Fatal(err)
				}
				r.Close()
			}
		})
		b.Run(arch+"/ours-read", func(b *testing.B) {
			b.SetBytes(info.UncompressedSize)
			b.ReportAllocs()
			buf := make([]byte, 32<<10)
			for b.Loop() {
				r, err := NewReader(data, Limits{})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, struct{ io.Reader }{r}, buf); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(arch+"/ulikunitz", func(b *testing.B) {
			b.SetBytes(info.UncompressedSize)
			b.ReportAllocs()
			for b.Loop() {
				r, err := ulikunitz.ReaderConfig{SingleStream: true}.NewReader(bytes.NewReader(data))
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.Copy(io.Discard, r); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkXZTool times `xz -dc FILE >/dev/null` (liblzma) on the real
// archives, so that its ns/op can be compared with BenchmarkDecode's in
// the same run. It includes the process start (about 1 ms).
func BenchmarkXZTool(b *testing.B) {
	xz := testkernel.NeedTool(b, "xz")
	for _, arch := range testkernel.Arches {
		path := realArchives(b)[arch]
		info, err := Inspect(readFile(b, path), Limits{})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(arch, func(b *testing.B) {
			b.SetBytes(info.UncompressedSize)
			for b.Loop() {
				if err := exec.Command(xz, "-dc", path).Run(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestSpeedRatio prints, when KH_XZ_RATIO=1 is set, the best-of-N decode
// times of this package, ulikunitz/xz and `xz -dc` on the real archives,
// interleaved in one run, and their ratios: wall time and CPU time (user +
// system; for xz the child process's, for the Go decoders the decoding
// thread's), which is less disturbed by other load on a shared machine.
// It measures; it asserts nothing about speed (timed assertions would be
// flaky on shared CI). KH_XZ_ROUNDS sets N (default 9); KH_XZ_RATIO=ours
// times only this package.
func TestSpeedRatio(t *testing.T) {
	mode := os.Getenv("KH_XZ_RATIO")
	if mode == "" {
		t.Skip("set KH_XZ_RATIO=1 to measure decode speed ratios against xz -dc")
	}
	xz := "xz"
	if mode != "ours" {
		xz = testkernel.NeedTool(t, "xz")
	}
	rounds := 9
	if n, err := strconv.Atoi(os.Getenv("KH_XZ_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	for _, arch := range testkernel.Arches {
		path := realArchives(t)[arch]
		data := readFile(t, path)
		wall := map[string]time.Duration{}
		cpu := map[string]time.Duration{}
		record := func(name string, w, c time.Duration) {
			if wall[name] == 0 || w < wall[name] {
				wall[name] = w
			}
			if cpu[name] == 0 || c < cpu[name] {
				cpu[name] = c
			}
		}
		inProcess := func(name string, f func() error) {
			c0, w0 := threadCPU(t), time.Now()
			if err := f(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			record(name, time.Since(w0), threadCPU(t)-c0)
		}
		names := []string{"ours"}
		if mode != "ours" {
			names = []string{"xz -dc", "ours", "ulikunitz"}
		}
		for range rounds {
			if mode != "ours" {
				cmd := exec.Command(xz, "-dc", path) // stdout: /dev/null
				w0 := time.Now()
				if err := cmd.Run(); err != nil {
					t.Fatal(err)
				}
				u := cmd.ProcessState.SysUsage().(*syscall.Rusage)
				record("xz -dc", time.Since(w0), time.Duration(u.Utime.Nano()+u.Stime.Nano()))
			}
			inProcess("ours", func() error {
				r, err := NewReader(data, Limits{})
				if err != nil {
					return err
				}
				_, err = r.WriteTo(io.Discard)
				return err
			})
			if mode != "ours" {
				inProcess("ulikunitz", func() error {
					r, err := ulikunitz.ReaderConfig{SingleStream: true}.NewReader(bytes.NewReader(data))
					if err != nil {
						return err
					}
					_, err = io.Copy(io.Discard, r)
					return err
				})
			}
		}
		msg := fmt.Sprintf("%s (best of %d, wall/cpu):", arch, rounds)
		for _, name := range names {
			msg += fmt.Sprintf(" %s %v/%v", name, wall[name].Round(time.Millisecond), cpu[name].Round(time.Millisecond))
			if ref := "xz -dc"; name != ref && wall[ref] > 0 {
				msg += fmt.Sprintf(" = %.2fx/%.2fx", float64(wall[name])/float64(wall[ref]), float64(cpu[name])/float64(cpu[ref]))
			}
			msg += ";"
		}
		t.Log(msg)
	}
}

// threadCPU returns the CPU time the calling OS thread has used.
func threadCPU(t *testing.T) time.Duration {
	var u syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &u); err != nil {
		t.Fatal(err)
	}
	return time.Duration(u.Utime.Nano() + u.Stime.Nano())
}

// TestBlockSpeedRatio prints, when KH_XZ_RATIO=1 is set, how decoding
// time depends on the number of blocks (issue 12, F3): the x86_64 test
// kernel's header archive is recompressed with `xz -T1` into one block
// and with `--block-size=4KiB` (the most blocks the cap allows, 7,690 for
// its 31 MB), and the best-of-N times of this package and of `xz -dc` on
// both are printed with their ratios, interleaved in one run. It
// asserts nothing about speed.
func TestBlockSpeedRatio(t *testing.T) {
	if os.Getenv("KH_XZ_RATIO") == "" {
		t.Skip("set KH_XZ_RATIO=1 to measure decode time against the number of blocks")
	}
	xz := testkernel.NeedTool(t, "xz")
	rounds := 9
	if n, err := strconv.Atoi(os.Getenv("KH_XZ_ROUNDS")); err == nil && n > 0 {
		rounds = n
	}
	r, err := NewReader(readFile(t, realArchives(t)["x86_64"]), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	var plain bytes.Buffer
	if _, err := r.WriteTo(&plain); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	files := map[string]string{}
	for name, args := range map[string][]string{"one block": nil, "4 KiB blocks": {"--block-size=4KiB"}} {
		p := dir + "/" + strings.ReplaceAll(name, " ", "-") + ".xz"
		cmd := exec.Command(xz, append([]string{"-c", "-T1", "--check=crc64"}, args...)...)
		cmd.Stdin = bytes.NewReader(plain.Bytes())
		out, err := cmd.Output()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, out, 0o644); err != nil {
			t.Fatal(err)
		}
		files[name] = p
		info, _ := Inspect(out, Limits{})
		t.Logf("%s: %d bytes, %d blocks", name, len(out), info.Blocks)
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	wall := map[string]time.Duration{}
	cpu := map[string]time.Duration{}
	record := func(name string, w, c time.Duration) {
		if wall[name] == 0 || w < wall[name] {
			wall[name] = w
		}
		if cpu[name] == 0 || c < cpu[name] {
			cpu[name] = c
		}
	}
	data := map[string][]byte{}
	for name, p := range files {
		data[name] = readFile(t, p)
	}
	for range rounds {
		for _, name := range []string{"one block", "4 KiB blocks"} {
			cmd := exec.Command(xz, "-dc", files[name])
			w0 := time.Now()
			if err := cmd.Run(); err != nil {
				t.Fatal(err)
			}
			u := cmd.ProcessState.SysUsage().(*syscall.Rusage)
			record("xz -dc "+name, time.Since(w0), time.Duration(u.Utime.Nano()+u.Stime.Nano()))
		}
		for _, name := range []string{"one block", "4 KiB blocks"} {
			c0, w0 := threadCPU(t), time.Now()
			r, err := NewReader(data[name], Limits{})
			if err != nil {
				t.Fatal(err)
			}
			if n, err := r.WriteTo(io.Discard); err != nil || n != int64(plain.Len()) {
				t.Fatalf("%s: %d bytes, %v", name, n, err)
			}
			record("ours "+name, time.Since(w0), threadCPU(t)-c0)
		}
	}
	for _, name := range []string{"ours one block", "ours 4 KiB blocks", "xz -dc one block", "xz -dc 4 KiB blocks"} {
		t.Logf("%-20s wall %v cpu %v (best of %d)", name, wall[name].Round(time.Millisecond), cpu[name].Round(time.Millisecond), rounds)
	}
	ratio := func(a, b string) string {
		return fmt.Sprintf("%.2fx wall, %.2fx cpu", float64(wall[a])/float64(wall[b]), float64(cpu[a])/float64(cpu[b]))
	}
	t.Logf("ours 4 KiB blocks / ours one block: %s", ratio("ours 4 KiB blocks", "ours one block"))
	t.Logf("ours 4 KiB blocks / xz -dc 4 KiB blocks: %s", ratio("ours 4 KiB blocks", "xz -dc 4 KiB blocks"))
	t.Logf("(liblzma: xz -dc 4 KiB blocks / xz -dc one block: %s)", ratio("xz -dc 4 KiB blocks", "xz -dc one block"))
}
