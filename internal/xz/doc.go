// Package xz decodes xz streams held in memory, fast and defensively. It
// exists for the kernel header archive (/sys/kernel/kheaders.tar.xz: one
// or two LZMA2 blocks, CRC64, 8 MiB dictionary) and for xz-compressed
// kernel modules, which are untrusted input to kh.
//
// Decoding has two steps. Inspect validates the container without
// decoding any LZMA2 data: the stream header and footer, the index, and
// every block header (CRC32s, reserved bits, a filter chain of exactly
// one LZMA2 filter, the dictionary size against Limits.MaxDict, sizes
// that agree with the index and the input length). NewReader runs
// Inspect first and allocates the decoder's window only when it passed,
// so a header that declares a 4 GiB dictionary costs nothing. The Reader
// then decodes block by block, verifies each block's check (CRC32,
// CRC64 or SHA-256) and its size against the index, and returns io.EOF
// only when the whole stream is verified. Every problem is an error from
// Read, never a short output: errors are one line, start with "xz: ",
// and wrap one of ErrFormat, ErrCorrupt, ErrTruncated, ErrLimit or
// ErrUnsupported.
//
// Exactly one stream is accepted, optionally followed by stream padding;
// anything else after it is "trailing data". Only the LZMA2 filter is
// supported (no BCJ or delta filters), and only the check types None,
// CRC32, CRC64 and SHA-256.
//
// The decoder is this package's own code, written after the xz format
// specification and the LZMA design of XZ Embedded and liblzma. Its
// window is a linear buffer of about the dictionary size (at most twice
// it plus 256 KiB, and no more than a block's output) that slides by
// memmove; the LZMA loop keeps the range coder in local variables and
// indexes fixed-size probability arrays with masked indices, so the
// compiler drops bounds checks. On the kernel header archives it takes
// about 1.1x the CPU time of liblzma (`xz -dc`) and half that of
// github.com/ulikunitz/xz; see BenchmarkDecode, and TestSpeedRatio for
// the ratios in one run:
//
//	KH_XZ_RATIO=1 go test -run TestSpeedRatio -v ./internal/xz
//
// Compared with github.com/ulikunitz/xz, this package refuses a few
// inputs on purpose: a stream cut off where a block header or the index
// should start (ulikunitz can return the blocks so far as if the stream
// were complete), dictionaries over Limits.MaxDict (ulikunitz allocates
// whatever a block header declares), and more than one stream.
package xz
