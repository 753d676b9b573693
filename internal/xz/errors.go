package xz

import (
	"errors"
	"fmt"
)

// Sentinel errors. Every error this package returns wraps exactly one of
// them, so callers can classify a failure with errors.Is; the error's own
// message says what exactly is wrong.
var (
	// ErrFormat means the input is not an xz stream at all (bad magic).
	ErrFormat = errors.New("xz: not an xz stream")
	// ErrCorrupt means the input is an xz stream that is damaged or
	// malformed: a CRC or check mismatch, inconsistent sizes, invalid
	// LZMA2 data, trailing data after the stream.
	ErrCorrupt = errors.New("xz: corrupt input")
	// ErrTruncated means the input ends before the stream does.
	ErrTruncated = errors.New("xz: truncated input")
	// ErrLimit means the input asks for more than the caller's Limits
	// allow (a larger dictionary, more output) or lacks the integrity
	// check that Limits.RequireCheck demands.
	ErrLimit = errors.New("xz: limit exceeded")
	// ErrUnsupported means the input uses a valid xz feature that this
	// package does not implement or that the caller did not opt in to:
	// filters other than LZMA2 (BCJ filters without Limits.AllowBCJ),
	// reserved check types, reserved flag bits.
	ErrUnsupported = errors.New("xz: unsupported feature")
)

// xzError is a one-line error message that wraps one of the sentinels.
// Its message starts with "xz: ", or "lzma: " for a legacy .lzma stream.
type xzError struct {
	msg  string
	kind error
	lzma bool
}

func (e *xzError) Error() string {
	if e.lzma {
		return "lzma: " + e.msg
	}
	return "xz: " + e.msg
}
func (e *xzError) Unwrap() error { return e.kind }

func newError(kind error, format string, args ...any) error {
	return &xzError{msg: fmt.Sprintf(format, args...), kind: kind}
}

func corruptf(format string, args ...any) error {
	return newError(ErrCorrupt, format, args...)
}

func errTruncated() error { return &xzError{msg: "truncated input", kind: ErrTruncated} }

// blockError prefixes err's message with the (1-based) block number.
func blockError(n int, err error) error {
	var e *xzError
	if errors.As(err, &e) {
		return &xzError{msg: fmt.Sprintf("block %d: %s", n, e.msg), kind: e.kind, lzma: e.lzma}
	}
	return fmt.Errorf("xz: block %d: %w", n, err)
}

// sizeString renders a byte count the way the error messages use it:
// exact binary units where they fit ("8 MiB", "4 GiB"), bytes otherwise.
func sizeString(n uint64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}
