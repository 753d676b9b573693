package vmtest

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/khtool/kh/internal/vmtest/vmproto"
)

// Digest identifies the contents of a file or directory tree, computed the
// same way in the guest and on the host.
type Digest struct {
	// Sum is the hex SHA-256 of a regular file's contents, or of a
	// directory's Listing.
	Sum string
	// Listing is the canonical listing of a directory tree (see
	// vmproto.TreeListing): one line per entry with its type, relative
	// path and content hash or symlink target. Empty for a file.
	Listing []byte
}

// DigestPath computes the Digest of a host path, following a final
// symlink; entries of a directory whose relative path is in exclude are
// skipped. Compare it with VM.Digest of the guest's copy.
func DigestPath(path string, exclude ...string) (Digest, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return Digest{}, fmt.Errorf("digest: %w", err)
	}
	if !fi.IsDir() {
		sum, err := vmproto.FileSHA256(path)
		if err != nil {
			return Digest{}, fmt.Errorf("digest: %w", err)
		}
		return Digest{Sum: sum}, nil
	}
	l, err := vmproto.TreeListing(path, exclude)
	if err != nil {
		return Digest{}, fmt.Errorf("digest: %w", err)
	}
	return Digest{Sum: vmproto.SumBytes(l), Listing: l}, nil
}

// Diff describes how d differs from want, "" if it does not: the sums, and
// for trees the listing lines only one side has (at most 20 each).
func (d Digest) Diff(want Digest) string {
	if d.Sum == want.Sum {
		return ""
	}
	s := fmt.Sprintf("digest %s, want %s", d.Sum, want.Sum)
	if d.Listing == nil && want.Listing == nil {
		return s
	}
	got, exp := lineSet(d.Listing), lineSet(want.Listing)
	var b strings.Builder
	b.WriteString(s)
	for _, side := range []struct {
		sign  string
		in    map[string]bool
		order []byte
	}{{"-", got, want.Listing}, {"+", exp, d.Listing}} {
		n := 0
		for _, l := range strings.Split(string(side.order), "\n") {
			if l == "" || side.in[l] {
				continue
			}
			if n++; n > 20 {
				b.WriteString("\n" + side.sign + " ...")
				break
			}
			b.WriteString("\n" + side.sign + " " + l)
		}
	}
	return b.String()
}

func lineSet(b []byte) map[string]bool {
	m := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		m[l] = true
	}
	return m
}

// WantDigest fails the test, showing the difference, unless got equals
// want.
func WantDigest(t testing.TB, got, want Digest) {
	t.Helper()
	if diff := got.Diff(want); diff != "" {
		t.Fatalf("vmtest: %s", diff)
	}
}
