package xz_test

import (
	"fmt"
	"io"
	"log"
	"os"
	"strings"

	"github.com/khtool/kh/internal/xz"
)

func Example() {
	data, err := os.ReadFile("testdata/text-kmod.xz")
	if err != nil {
		log.Fatal(err)
	}
	lim := xz.Limits{MaxDict: 8 << 20, MaxOutput: 1 << 20, RequireCheck: true}
	info, err := xz.Inspect(data, lim) // headers and index only: no decoding
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%d block(s), %s, %d bytes, dictionary %d KiB\n", info.Blocks, info.Check, info.UncompressedSize, info.MaxDict>>10)

	r, err := xz.NewReader(data, lim)
	if err != nil {
		log.Fatal(err)
	}
	// Read until io.EOF: only then is every block's check verified.
	n, err := io.Copy(io.Discard, r)
	fmt.Println(n, err)
	// Output:
	// 1 block(s), crc32, 49164 bytes, dictionary 1024 KiB
	// 49164 <nil>
}

func ExampleInspect() {
	_, err := xz.Inspect([]byte(strings.Repeat("not xz", 4)), xz.Limits{})
	fmt.Println(err)
	// Output: xz: not an xz stream (bad magic)
}
