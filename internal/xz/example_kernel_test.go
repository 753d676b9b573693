package xz_test

import (
	"bytes"
	"fmt"
	"io"
	"log"
	"os"

	"github.com/khtool/kh/internal/xz"
)

// A compressed kernel image holds an xz stream with a BCJ filter,
// followed by other bytes. NewPrefixReader decodes the stream only, and
// only as far as it is read: a caller that searches the output (kconfig
// looks for the embedded configuration) stops reading when it has found
// what it looks for.
func ExampleNewPrefixReader() {
	stream, err := os.ReadFile("testdata/x86.xz") // xz --x86 --lzma2=preset=1
	if err != nil {
		log.Fatal(err)
	}
	image := append(stream, 0xa0, 0x0f, 0x00, 0x00) // the kernel build appends the size
	r, err := xz.NewPrefixReader(image, xz.Limits{AllowBCJ: true, MaxOutput: 1 << 20})
	if err != nil {
		log.Fatal(err)
	}
	defer r.Close()
	head := make([]byte, 64)
	if _, err := io.ReadFull(r, head); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%q\n", head[:20])

	// Decoding to the end verifies the block checks, the index and the
	// footer, and tells where the stream ends.
	n, err := io.Copy(io.Discard, r)
	fmt.Println(int64(len(head))+n, err, r.Info().CompressedSize == int64(len(stream)))
	// Output:
	// " list_head u32;\n\t\tma"
	// 4000 <nil> true
}

// Without Limits.AllowBCJ, a BCJ filter is refused.
func ExampleLimits_allowBCJ() {
	stream, err := os.ReadFile("testdata/x86.xz")
	if err != nil {
		log.Fatal(err)
	}
	_, err = xz.Inspect(stream, xz.Limits{})
	fmt.Println(err)
	info, err := xz.Inspect(stream, xz.Limits{AllowBCJ: true})
	fmt.Println(info.Blocks, info.UncompressedSize, err)
	// Output:
	// xz: block 1: unsupported filter BCJ-x86 (only LZMA2)
	// 1 4000 <nil>
}

// A legacy .lzma stream (`lzma -9`, as CONFIG_KERNEL_LZMA kernels), here
// followed by the size that the kernel build appends.
func ExampleNewLZMAReader() {
	stream, err := os.ReadFile("testdata/text.lzma")
	if err != nil {
		log.Fatal(err)
	}
	r, err := xz.NewLZMAReader(append(stream, 0x0c, 0xc0, 0x00, 0x00), xz.Limits{MaxOutput: 1 << 20})
	if err != nil {
		log.Fatal(err)
	}
	var out bytes.Buffer
	if _, err := r.WriteTo(&out); err != nil {
		log.Fatal(err)
	}
	info := r.Info()
	fmt.Println(out.Len(), info.CompressedSize == int64(len(stream)), info.Check)
	// Output: 49164 true none
}
