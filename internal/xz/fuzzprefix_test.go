package xz

import (
	"bytes"
	"encoding/binary"
	"errors"
	"os/exec"
	"testing"

	"github.com/khtool/kh/internal/testkernel"
	"github.com/ulikunitz/xz/lzma"
)

// prefixLimits are the limits FuzzPrefix decodes with: those of kernel
// images (BCJ filters accepted).
var prefixLimits = Limits{MaxDict: 16 << 20, MaxOutput: 4 << 20, AllowBCJ: true}

// FuzzPrefix decodes arbitrary input as the kernel image formats are
// read: the xz stream at the start of the input (NewPrefixReader, BCJ
// filters accepted) and a legacy .lzma stream (NewLZMAReader). Neither
// may panic, exceed the limits or return an unclassified error.
// NewPrefixReader must agree with NewReader, which validates the whole
// input first: the same output where NewReader accepts the input, and
// acceptance by NewReader of a stream NewPrefixReader accepts if only
// stream padding follows it; what follows a stream must not change how
// it decodes. NewLZMAReader must agree with ulikunitz/xz/lzma, and
// where they disagree the xz tool (liblzma) decides.
func FuzzPrefix(f *testing.F) {
	for _, name := range []string{"x86.xz", "arm64.xz", "text.lzma", "text-kmod.xz", "mixed-blocks.xz", "empty.xz"} {
		f.Add(mustRead(f, name))
	}
	b := smallBlock()
	b.filters = [][]byte{{bcjARMThumb, 4, 2, 0, 0, 0}, {filterLZMA2, 1, b.dictProp}}
	f.Add(append(writeXZ(checkSHA256, []testBlock{b, smallBlock()}, -1), "tail"...))
	known, _ := encodeLZMAAlone(someOps, 66, false)
	f.Add(known)
	marker, _ := encodeLZMAAlone(someOps, 66, true)
	f.Add(append(marker, 0, 0, 0x30, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		fuzzPrefixXZ(t, data)
		fuzzLZMA(t, data)
	})
}

func fuzzPrefixXZ(t *testing.T, data []byte) {
	out, info, err := decodePrefix(data, prefixLimits)
	if int64(len(out)) > prefixLimits.MaxOutput {
		t.Fatalf("NewPrefixReader: %d bytes of output, over the limit", len(out))
	}
	if err != nil && !anyKind(err) {
		t.Fatalf("NewPrefixReader: unclassified error %v", err)
	}
	strict, serr := decodeAll(data, prefixLimits)
	if serr == nil {
		sinfo, _ := Inspect(data, prefixLimits)
		if err != nil || !bytes.Equal(out, strict) || info != sinfo {
			t.Fatalf("NewPrefixReader: %d bytes, %v, %+v; NewReader: %d bytes, %+v", len(out), err, info, len(strict), sinfo)
		}
	}
	if err != nil {
		return
	}
	n := int(info.CompressedSize)
	if n > len(data) || n < 2*headerSize {
		t.Fatalf("CompressedSize %d of %d input bytes", n, len(data))
	}
	if rest := data[n:]; len(rest)%4 == 0 && allZero(rest) && serr != nil {
		t.Fatalf("NewReader rejects what NewPrefixReader accepts: %v", serr)
	}
	again, info2, err := decodePrefix(append(data[:n:n], 0xfd, '7', 'z'), prefixLimits)
	if err != nil || !bytes.Equal(again, out) || info2 != info {
		t.Fatalf("followed by other bytes: %d bytes, %v, %+v", len(again), err, info2)
	}
}

func fuzzLZMA(t *testing.T, data []byte) {
	out, info, err := decodeLZMA(data, prefixLimits)
	if int64(len(out)) > prefixLimits.MaxOutput {
		t.Fatalf("NewLZMAReader: %d bytes of output, over the limit", len(out))
	}
	if err != nil && !anyKind(err) {
		t.Fatalf("NewLZMAReader: unclassified error %v", err)
	}
	if err == nil && (info.CompressedSize > int64(len(data)) || info.UncompressedSize != int64(len(out))) {
		t.Fatalf("Info %+v for %d input and %d output bytes", info, len(data), len(out))
	}
	if errors.Is(err, ErrLimit) || errors.Is(err, ErrUnsupported) || len(data) < lzmaHeaderSize ||
		binary.LittleEndian.Uint32(data[1:5]) > prefixLimits.MaxDict {
		return // refused on purpose, or ulikunitz would allocate a huge dictionary
	}
	u, uerr := decodeUlikunitzLZMA(data, prefixLimits.MaxOutput)
	if uerr == errTooBig {
		return
	}
	switch {
	case err == nil && uerr == nil:
		if !bytes.Equal(out, u) {
			t.Fatalf("outputs differ: %d bytes vs ulikunitz %d bytes", len(out), len(u))
		}
	case (err == nil) != (uerr == nil) && xzToolRecognizes(data):
		// ulikunitz is lenient in places (it does not check that the
		// range coder ends cleanly, for one): liblzma decides.
		want, ok := liblzmaLZMA(data)
		if !ok {
			testkernel.Skip(t, "xz tool not installed (Debian: xz-utils)")
		}
		if (err == nil) != (want != nil) || err == nil && !bytes.Equal(out, want) {
			t.Fatalf("we say %v, ulikunitz %v, the xz tool accepts = %v", err, uerr, want != nil)
		}
	}
}

// decodeUlikunitzLZMA decodes a .lzma stream with ulikunitz/xz/lzma, at
// most max bytes.
func decodeUlikunitzLZMA(data []byte, max int64) ([]byte, error) {
	r, err := lzma.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return readLimited(r, max)
}

// xzToolRecognizes reports whether the xz tool takes data for a .lzma
// stream at all: it requires a dictionary size of 2^n or 2^n + 2^(n-1)
// (not 0) and a known size under 256 GiB, to tell .lzma from other data,
// where liblzma's decoder (and NewLZMAReader) take any.
func xzToolRecognizes(data []byte) bool {
	dict := binary.LittleEndian.Uint32(data[1:5])
	size := binary.LittleEndian.Uint64(data[5:13])
	d := dict - 1
	d |= d >> 2
	d |= d >> 3
	d |= d >> 4
	d |= d >> 8
	d |= d >> 16
	return (dict == 1<<32-1 || dict != 0 && d+1 == dict) && (size == 1<<64-1 || size < 1<<38)
}

// liblzmaLZMA decodes a .lzma stream with the xz tool (ignoring what
// follows it, as NewLZMAReader does): its output, nil if it rejects the
// stream; ok is false without the tool.
func liblzmaLZMA(data []byte) (out []byte, ok bool) {
	xz, err := exec.LookPath("xz")
	if err != nil {
		return nil, false
	}
	cmd := exec.Command(xz, "--format=lzma", "-dc", "--single-stream")
	cmd.Stdin = bytes.NewReader(data)
	out, err = cmd.Output()
	if err != nil {
		return nil, true
	}
	if out == nil {
		out = []byte{}
	}
	return out, true
}
