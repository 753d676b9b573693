package kheaders

import (
	"io/fs"
	"os"
	"path/filepath"
)

// makeWritable gives the owner write permission on every directory under
// root (published trees are read-only), so that the tree can be removed.
// Symlinks are never followed.
func makeWritable(root string) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

// removeTree removes a (possibly read-only) tree.
func removeTree(root string) error {
	if err := os.RemoveAll(root); err == nil {
		return nil
	}
	makeWritable(root)
	return os.RemoveAll(root)
}
