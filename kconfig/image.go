package kconfig

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/khtool/kh/internal/decompress"
	"github.com/khtool/kh/internal/kmod"
	"github.com/klauspost/compress/gzip"
)

// Limits that keep reading hostile input bounded in memory and time.
const (
	// MaxConfigSize caps a decompressed configuration.
	MaxConfigSize = 64 << 20
	// MaxImageSize caps one decompressed kernel image.
	MaxImageSize = 512 << 20
	// maxScanBudget caps the bytes decoded while searching one file, over
	// all the compressed streams tried.
	maxScanBudget = 512 << 20
	// maxCandidates caps the compressed streams tried per format when
	// their positions are found by searching for magic bytes.
	maxCandidates = 16
	// maxGzipWindow is how many bytes after IKCFG_ST may hold the
	// compressed configuration.
	maxGzipWindow = 8 << 20
)

// Symbols and markers of kernel/configs.c: the gzip-compressed .config
// lies between kernel_config_data and kernel_config_data_end, framed by
// the ASCII markers IKCFG_ST and IKCFG_ED.
const (
	symConfigStart = "kernel_config_data"
	symConfigEnd   = "kernel_config_data_end"
	markerStart    = "IKCFG_ST"
	markerEnd      = "IKCFG_ED"
)

// startMarker is IKCFG_ST followed by the gzip magic and method, as
// scripts/extract-ikconfig searches for it.
var startMarker = []byte(markerStart + "\x1f\x8b\x08")

// ErrNoIKConfig means a kernel image or module holds no embedded
// configuration: it was built without CONFIG_IKCONFIG, or is not a
// kernel at all.
var ErrNoIKConfig = errors.New("no embedded configuration found (looked for IKCFG_ST and a gzip stream, in the file and in every compressed stream in it; was the kernel built with CONFIG_IKCONFIG?)")

// Extract finds the configuration embedded in a kernel image, a kernel
// module (configs.ko) or any blob holding one, as scripts/extract-ikconfig
// does, and returns the .config text and a description of where it was.
//
// It understands vmlinux and configs.ko (ELF symbols kernel_config_data
// and kernel_config_data_end), an uncompressed Image, a compressed one
// (bzImage, Image.gz, EFI zboot, vmlinux.xz, ...) in gzip, xz (with BCJ
// filters), lzma, lz4, lzo, zstd or bzip2, and an Android boot image (v0
// to v4). Decoding is capped (MaxImageSize per stream, 512 MiB in all) and
// stops as soon as the configuration has been found; ctx cancels it.
func Extract(ctx context.Context, image []byte) (config []byte, where string, err error) {
	s := &scanner{ctx: ctx, budget: maxScanBudget}
	return s.scan(image, 0)
}

type scanner struct {
	ctx    context.Context
	budget int64
	// corrupt remembers the first IKCFG_ST whose gzip data was bad, to
	// report it if nothing better is found.
	corrupt error
}

func (s *scanner) notFound() error {
	if s.corrupt != nil {
		return s.corrupt
	}
	return ErrNoIKConfig
}

// scan looks for the configuration in data; depth > 0 means data is the
// output of a decompressor and only markers are searched.
func (s *scanner) scan(data []byte, depth int) ([]byte, string, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, "", err
	}
	if len(data) == 0 {
		return nil, "", fmt.Errorf("empty file")
	}
	if bytes.HasPrefix(data, []byte("\x7fELF")) {
		if cfg, err := fromModuleSymbols(data); err == nil {
			return cfg, "ELF symbols " + symConfigStart + ".." + symConfigEnd, nil
		}
	}
	if cfg, off, ok := s.findMarker(data); ok {
		return cfg, fmt.Sprintf("%s at %#x", markerStart, off), nil
	}
	if depth > 0 {
		return nil, "", s.notFound()
	}
	if kernel, desc, ok := androidKernel(data); ok {
		cfg, where, err := s.scan(kernel, depth)
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", desc, err)
		}
		return cfg, desc + ": " + where, nil
	}
	// The streams a header points at first; only if none holds the
	// configuration, the ones found by searching for magic bytes.
	seen := map[int]bool{}
	for _, search := range []bool{false, true} {
		for _, c := range s.candidates(data, search, seen) {
			cfg, where, err := s.tryStream(c)
			if err == nil {
				return cfg, where, nil
			}
			if ctxErr := s.ctx.Err(); ctxErr != nil {
				return nil, "", ctxErr
			}
			if s.budget <= 0 {
				return nil, "", s.notFound()
			}
		}
	}
	return nil, "", s.notFound()
}

// findMarker searches data for IKCFG_ST + gzip and decodes the first one
// that holds a valid gzip stream.
func (s *scanner) findMarker(data []byte) ([]byte, int, bool) {
	for off := 0; ; {
		i := bytes.Index(data[off:], startMarker)
		if i < 0 {
			return nil, 0, false
		}
		at := off + i
		cfg, err := gunzipConfig(data[at+len(markerStart):])
		if err == nil {
			return cfg, at, true
		}
		if s.corrupt == nil {
			s.corrupt = fmt.Errorf("%s found but its gzip data is corrupt: %w", markerStart, err)
		}
		off = at + 1
	}
}

// gunzipConfig decodes the one gzip member at the start of data (what
// follows it, such as IKCFG_ED, is ignored).
func gunzipConfig(data []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	zr.Multistream(false)
	var b bytes.Buffer
	n, err := io.Copy(&b, io.LimitReader(zr, MaxConfigSize+1))
	if err != nil {
		return nil, err
	}
	if n > MaxConfigSize {
		return nil, decompress.ErrTooLarge
	}
	return b.Bytes(), nil
}

// fromModuleSymbols reads the configuration between the symbols
// kernel_config_data and kernel_config_data_end of an ELF file (configs.ko
// or vmlinux, plain or compressed).
func fromModuleSymbols(data []byte) ([]byte, error) {
	m, err := kmod.Parse(data)
	if err != nil {
		return nil, err
	}
	return configBetween(m)
}

func configBetween(m *kmod.Module) ([]byte, error) {
	gz, err := m.Between(symConfigStart, symConfigEnd)
	if err != nil {
		return nil, err
	}
	cfg, err := gunzipConfig(gz)
	if err != nil {
		return nil, fmt.Errorf("gzip data between %s and %s: %w", symConfigStart, symConfigEnd, err)
	}
	return cfg, nil
}

// candidate is a compressed stream that may hold a kernel.
type candidate struct {
	off  int
	f    decompress.Format
	desc string
	data []byte
}

// candidates lists the compressed streams worth decoding, best first.
// Without search: those a container header points at (x86 bzImage, EFI
// zboot) and a stream at offset 0 (Image.gz, vmlinux.xz,
// configs.ko.zst). With search: those found by searching for each
// format's magic bytes, in the order scripts/extract-ikconfig tries them.
// Offsets in seen are skipped, and added.
func (s *scanner) candidates(data []byte, search bool, seen map[int]bool) []candidate {
	var out []candidate
	add := func(off int, desc string) {
		if seen[off] || off < 0 || off >= len(data) {
			return
		}
		f := decompress.Sniff(data[off:])
		if f == decompress.None || !decompress.HeaderOK(f, data[off:]) {
			return
		}
		seen[off] = true
		out = append(out, candidate{off: off, f: f, desc: desc, data: data[off:]})
	}
	if !search {
		if off, ok := bzImagePayload(data); ok {
			add(off, "bzImage payload")
		}
		if off, ok := zbootPayload(data); ok {
			add(off, "EFI zboot payload")
		}
		add(0, "file")
		return out
	}
	for _, f := range []decompress.Format{decompress.Gzip, decompress.XZ, decompress.Bzip2, decompress.LZMA, decompress.LZO, decompress.LZ4, decompress.Zstd} {
		magic := decompress.Magic(f)
		n := 0
		for off := 0; n < maxCandidates; {
			i := bytes.Index(data[off:], magic)
			if i < 0 {
				break
			}
			at := off + i
			if !seen[at] && decompress.HeaderOK(f, data[at:]) {
				add(at, "stream")
				n++
			}
			off = at + 1
		}
	}
	return out
}

// tryStream decodes one candidate and searches its output for the
// marker, stopping as soon as the configuration is complete.
func (s *scanner) tryStream(c candidate) ([]byte, string, error) {
	limit := min(int64(MaxImageSize), s.budget)
	r, err := decompress.NewReader(c.f, c.data, limit)
	if err != nil {
		return nil, "", err
	}
	defer r.Close()
	where := fmt.Sprintf("%s-compressed %s at %#x", c.f, c.desc, c.off)
	cfg, off, err := s.scanStream(r)
	if err != nil {
		return nil, "", err
	}
	return cfg, fmt.Sprintf("%s at %#x in the %s", markerStart, off, where), nil
}

// scanStream reads decoded data and returns the configuration that
// follows the first valid marker, and the marker's offset in the stream.
func (s *scanner) scanStream(r io.Reader) ([]byte, int64, error) {
	const chunk = 1 << 20
	keep := len(startMarker) - 1
	var win []byte // the unsearched tail of the stream so far
	var winOff int64
	eof := false
	var readErr error
	read := func() {
		if len(win)+chunk > cap(win) {
			nw := make([]byte, len(win), max(2*cap(win), len(win)+chunk))
			copy(nw, win)
			win = nw
		}
		n, err := io.ReadFull(r, win[len(win):len(win)+chunk])
		win = win[:len(win)+n]
		s.budget -= int64(n)
		if err != nil {
			eof = true
			if err != io.EOF && err != io.ErrUnexpectedEOF {
				readErr = err
			}
		}
	}
	searched := 0
	for {
		if err := s.ctx.Err(); err != nil {
			return nil, 0, err
		}
		if !eof {
			read()
		}
		for {
			i := bytes.Index(win[searched:], startMarker)
			if i < 0 {
				break
			}
			at := searched + i
			cfg, err := gunzipConfig(win[at+len(markerStart):])
			// The gzip stream may go on past what was decoded so far:
			// decode more (up to maxGzipWindow) and retry.
			for errors.Is(err, io.ErrUnexpectedEOF) && !eof && len(win)-at < maxGzipWindow {
				read()
				cfg, err = gunzipConfig(win[at+len(markerStart):])
			}
			if err == nil {
				return cfg, winOff + int64(at), nil
			}
			if s.corrupt == nil {
				s.corrupt = fmt.Errorf("%s found but its gzip data is corrupt: %w", markerStart, err)
			}
			searched = at + 1
		}
		if eof {
			if readErr != nil {
				return nil, 0, readErr
			}
			return nil, 0, ErrNoIKConfig
		}
		// Drop what was searched, keeping a possible partial marker.
		if drop := len(win) - keep; drop > 0 {
			n := copy(win, win[drop:])
			win = win[:n]
			winOff += int64(drop)
		}
		searched = 0
	}
}

// bzImagePayload returns the offset of the compressed kernel in an x86
// bzImage (boot protocol 2.08 or later: payload_offset in the setup
// header; Documentation/x86/boot.rst).
func bzImagePayload(data []byte) (int, bool) {
	if len(data) < 0x250 || string(data[0x202:0x206]) != "HdrS" || binary.LittleEndian.Uint16(data[0x206:]) < 0x208 {
		return 0, false
	}
	setup := int(data[0x1f1])
	if setup == 0 {
		setup = 4
	}
	off := (setup+1)*512 + int(binary.LittleEndian.Uint32(data[0x248:]))
	if off >= len(data) {
		return 0, false
	}
	return off, true
}

// zbootPayload returns the offset of the compressed kernel in an EFI
// zboot image (vmlinuz.efi of arm64, riscv, loongarch: "zimg" at 4, then
// the payload offset).
func zbootPayload(data []byte) (int, bool) {
	if len(data) < 16 || string(data[:2]) != "MZ" || string(data[4:8]) != "zimg" {
		return 0, false
	}
	off := int(binary.LittleEndian.Uint32(data[8:]))
	if off <= 0 || off >= len(data) {
		return 0, false
	}
	return off, true
}
