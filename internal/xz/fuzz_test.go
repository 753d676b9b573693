package xz

import (
	"bytes"
	"errors"
	"io"
	"os/exec"
	"strings"
	"testing"

	ulikunitz "github.com/ulikunitz/xz"
)

// fuzzLimits are the limits FuzzDecode decodes with.
var fuzzLimits = Limits{MaxDict: 16 << 20, MaxOutput: 4 << 20}

// mayAllocateHugely reports whether ulikunitz/xz could allocate a large
// dictionary for data: it allocates whatever a block header declares,
// so any byte sequence that could be an LZMA2 filter with a dictionary
// over fuzzLimits.MaxDict keeps it from running.
func mayAllocateHugely(data []byte) bool {
	for i := 0; i+2 < len(data); i++ {
		if data[i] == filterLZMA2 && data[i+1] == 1 && data[i+2] <= 40 && lzma2Dict(data[i+2]) > fuzzLimits.MaxDict {
			return true
		}
	}
	return false
}

// FuzzDecode decodes arbitrary input. It must never panic, exceed the
// limits or return an unclassified error, and must agree with
// ulikunitz/xz: equal output when both succeed, and no success of one
// where the other fails, except where this package is stricter on
// purpose (see ulikunitzAccepts).
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"empty.xz", "text-kmod.xz", "text-sha256.xz", "text-none.xz"} {
		f.Add(mustRead(f, name))
	}
	f.Add(writeXZ(checkCRC32, []testBlock{smallBlock(), smallBlock()}, -1))
	f.Fuzz(func(t *testing.T, data []byte) {
		var ours []byte
		r, err := NewReader(data, fuzzLimits)
		if err == nil {
			var b bytes.Buffer
			_, err = r.WriteTo(&b)
			ours = b.Bytes()
			if r.win != nil && len(r.win) > 2*int(r.s.info.MaxDict)+1<<20 {
				t.Fatalf("window of %d bytes for a %d byte dictionary", len(r.win), r.s.info.MaxDict)
			}
		}
		// The parallel reader must agree exactly.
		par, perr := decodeReads(data, fuzzLimits, 64<<10)
		if (perr == nil) != (err == nil) || (err == nil && !bytes.Equal(par, ours)) || (err != nil && perr.Error() != err.Error()) {
			t.Fatalf("NewParallelReader disagrees: %v vs %v (%d vs %d bytes)", perr, err, len(par), len(ours))
		}
		if int64(len(ours)) > fuzzLimits.MaxOutput {
			t.Fatalf("%d bytes of output, over the limit", len(ours))
		}
		if err != nil && !anyKind(err) {
			t.Fatalf("unclassified error %v", err)
		}
		if errors.Is(err, ErrLimit) || mayAllocateHugely(data) {
			return
		}
		u, uerr := decodeUlikunitzLimited(data, fuzzLimits.MaxOutput)
		if uerr == errTooBig {
			return
		}
		switch {
		case err == nil && uerr == nil:
			if !bytes.Equal(ours, u) {
				t.Fatalf("outputs differ: %d bytes vs ulikunitz %d bytes", len(ours), len(u))
			}
		case err == nil && uerr != nil:
			t.Fatalf("ulikunitz rejects what we accept: %v", uerr)
		case err != nil && uerr == nil:
			if !stricterOnPurpose(err, data) {
				t.Fatalf("we reject what ulikunitz accepts: %v", err)
			}
		}
	})
}

var errTooBig = errors.New("output over the limit")

// decodeUlikunitzLimited decodes with ulikunitz/xz, at most max bytes.
// It uses ulikunitz's default configuration, which accepts stream
// padding (with SingleStream set it rejects padding, which the format
// allows and we accept) and also concatenated streams (which we reject
// as trailing data, see stricterOnPurpose).
func decodeUlikunitzLimited(data []byte, max int64) ([]byte, error) {
	r, err := ulikunitz.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, err
	}
	return readLimited(r, max)
}

// readLimited reads r to its end, or errTooBig past max bytes.
func readLimited(r io.Reader, max int64) ([]byte, error) {
	out, err := io.ReadAll(io.LimitReader(r, max+1))
	if int64(len(out)) > max {
		return nil, errTooBig
	}
	return out, err
}

// stricterOnPurpose reports whether err, our error for data that
// ulikunitz/xz accepts, is a case where this package is stricter on
// purpose. ulikunitz is lenient where a stream ends early: it can take
// the end of input where a block header or the index should start for
// the end of the stream and return the blocks so far without an error
// (a silent truncation), without ever checking an index or footer. So:
//   - If the xz binary (liblzma) is installed, it is the judge: when it
//     rejects data as well, we are right to.
//   - When liblzma accepts data, only our documented restrictions may
//     reject it: filters other than LZMA2 and reserved check types
//     (ErrUnsupported), more than one stream ("trailing data").
//   - Without the xz binary: errors about truncation, the stream footer
//     or the index (what ulikunitz does not check when input ends early).
func stricterOnPurpose(err error, data []byte) bool {
	restriction := errors.Is(err, ErrUnsupported) || strings.Contains(err.Error(), "trailing data")
	if xz, lerr := exec.LookPath("xz"); lerr == nil {
		cmd := exec.Command(xz, "-t")
		cmd.Stdin = bytes.NewReader(data)
		return cmd.Run() != nil || restriction
	}
	msg := err.Error()
	return restriction || errors.Is(err, ErrTruncated) || strings.Contains(msg, "stream footer") || strings.Contains(msg, "index")
}
