package kheaders

import "golang.org/x/sys/unix"

func mountTmpfs(dir, opts string) error {
	return unix.Mount("kh-test", dir, "tmpfs", 0, opts)
}

func unmount(dir string) error { return unix.Unmount(dir, unix.MNT_DETACH) }
