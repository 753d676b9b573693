// Package xz decodes xz and legacy .lzma streams held in memory, fast and
// defensively. It is kh's only LZMA decoder: for the kernel header
// archive (/sys/kernel/kheaders.tar.xz: one or two LZMA2 blocks, CRC64,
// 8 MiB dictionary), for xz-compressed kernel modules, and for
// compressed kernel images, all of which are untrusted input to kh.
//
// # Three readers
//
// NewReader (and NewParallelReader) decode one whole xz file strictly,
// in two steps. Inspect validates the container without decoding any
// LZMA2 data: the stream header and footer, the index, and every block
// header (CRC32s, reserved bits, the filter chain, the dictionary size
// against Limits.MaxDict, sizes that agree with the index and the input
// length). NewReader runs Inspect first and allocates the decoder's
// window only when it passed, so a header that declares a 4 GiB
// dictionary costs nothing. Exactly one stream is accepted, optionally
// followed by stream padding; anything else after it is "trailing
// data".
//
// NewPrefixReader decodes the xz stream at the start of data that may go
// on with other bytes, as in a compressed kernel image, which is
// followed by its size and the rest of the image. There is no index to
// read first: the stream's end is found by decoding it, in order, its
// blocks (each block header validated when decoding reaches it), its
// index (verified against the blocks decoded) and its footer (verified
// against the index and the stream header). After io.EOF,
// Info().CompressedSize says how many bytes the stream took.
//
// NewLZMAReader decodes a legacy .lzma stream ("LZMA alone", as
// CONFIG_KERNEL_LZMA kernels are compressed): a 13-byte header, then
// LZMA data that ends at the declared size or with an end marker. The
// format has no check.
//
// Every Reader verifies each block's check (CRC32, CRC64 or SHA-256)
// and its sizes, and returns io.EOF only when the whole stream is
// verified. It decodes only as far as it is read, so a caller that has
// found what it looks for (kconfig stops at the end of the embedded
// configuration) stops reading and pays for no more; data returned
// before io.EOF is unverified. Every problem is an error from Read,
// never a short output: errors are one line, start with "xz: " (or
// "lzma: "), and wrap one of ErrFormat, ErrCorrupt, ErrTruncated,
// ErrLimit or ErrUnsupported. Output decoded before an error is
// returned before it.
//
// # Filters and limits
//
// By default only the LZMA2 filter is accepted. Limits.AllowBCJ opts in
// to one BCJ filter before it, as the kernel build writes for
// xz-compressed images (x86, PowerPC, ARM, ARM-Thumb, ARM64, SPARC;
// not IA-64, RISC-V or delta). Check types None, CRC32, CRC64 and
// SHA-256 are supported. Limits.MaxDict bounds the dictionary a header
// may declare, Limits.MaxOutput the output (also the window, so that a
// caller's output cap bounds memory whatever the headers say), and
// Limits.RequireCheck refuses streams without a check. Whatever the
// limits, a stream may hold at most one block per MinBlockOutput (4 KiB)
// of output plus BlockSlack (16): every block costs a fixed amount of
// work, and a stream of one-byte blocks would otherwise cost the decoder
// far more than its output. Decoding time is linear in the input and
// the output, whatever the number of blocks.
//
// # Cancellation
//
// Reader.SetContext makes Read and WriteTo stop with an error wrapping
// ctx.Err() at the next step (at most 256 KiB of output, or a block
// boundary), so a cancelled decode ends within milliseconds.
//
// # Implementation
//
// The decoder is this package's own code, written after the xz format
// specification and the LZMA design of XZ Embedded and liblzma. Its
// window is a linear buffer of about the dictionary size (at most twice
// it plus 256 KiB, and no more than a block's output) that slides by
// memmove; where the output size is unknown it starts smaller and grows.
// The LZMA loop keeps the range coder in local variables and indexes
// fixed-size probability arrays and a 128 KiB input buffer with masked
// indices, so the compiler drops bounds checks; .lzma input streams
// through that buffer as a ring. A BCJ filter works on a copy of the
// output, since the LZMA2 dictionary must stay unfiltered. The loop's
// range-decoder steps are written out (unrolled) by go generate from one
// template, lzmadec.go.tmpl, into lzmadec.go. On the kernel
// header archives decoding takes about 1.1x the CPU time of liblzma
// (`xz -dc`) and half that of github.com/ulikunitz/xz; see
// BenchmarkDecode, and TestSpeedRatio for the ratios in one run:
//
//	KH_XZ_RATIO=1 go test -run TestSpeedRatio -v ./internal/xz
//
// Compared with github.com/ulikunitz/xz (a test oracle here), this
// package refuses a few inputs on purpose: a stream cut off where a
// block header or the index should start (ulikunitz can return the
// blocks so far as if the stream were complete), dictionaries over
// Limits.MaxDict (ulikunitz allocates whatever a block header declares),
// more than one stream, and .lzma properties with lc + lp > 4 (as
// liblzma).
package xz
