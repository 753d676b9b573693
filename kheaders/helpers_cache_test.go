package kheaders

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// removeTree removes a (possibly read-only) tree, as the cache does.
func removeTree(root string) error {
	if err := os.RemoveAll(root); err == nil {
		return nil
	}
	makeWritable(root)
	return os.RemoveAll(root)
}

// makeWritable gives the owner write permission on every directory
// under root.
func makeWritable(root string) {
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			os.Chmod(p, 0o755)
		}
		return nil
	})
}

// fsType names the file system holding p: "tmpfs", or its magic.
func fsType(p string) (string, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(p, &st); err != nil {
		return "", err
	}
	if uint32(st.Type) == unix.TMPFS_MAGIC {
		return "tmpfs", nil
	}
	return fmt.Sprintf("%#x", st.Type), nil
}

// dirNames lists the names in dir (the cache's staging directories,
// locks and trees).
func dirNames(dir string) []string {
	var names []string
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}
