//go:build !linux

package xz

func adviseHugePages([]byte) {}
