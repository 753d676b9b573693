package kconfig

import (
	"encoding/binary"
	"fmt"
)

// Android boot images (boot.img) start with "ANDROID!" and a header
// whose layout depends on its version (AOSP
// system/tools/mkbootimg/include/bootimg/bootimg.h):
//
//	v0-v2: kernel_size at 8, page_size at 36, header_version at 40; the
//	       kernel starts at the first page after the header.
//	v3-v4: kernel_size at 8, header_version at 40; pages are 4096 bytes
//	       and the kernel starts at 4096.
const (
	bootMagic        = "ANDROID!"
	bootV3PageSize   = 4096
	bootHeaderMinLen = 44
)

// androidKernel returns the kernel inside an Android boot image and a
// description of it.
func androidKernel(data []byte) ([]byte, string, bool) {
	if len(data) < bootHeaderMinLen || string(data[:8]) != bootMagic {
		return nil, "", false
	}
	le := binary.LittleEndian
	size := int64(le.Uint32(data[8:]))
	version := le.Uint32(data[40:])
	var page int64
	switch {
	case version <= 2:
		page = int64(le.Uint32(data[36:]))
		if page < 2048 || page > 1<<20 || page&(page-1) != 0 {
			return nil, "", false
		}
	case version <= 8: // v3, v4 (and, hopefully, later versions keep the layout)
		page = bootV3PageSize
	default:
		return nil, "", false
	}
	if size == 0 || page+size > int64(len(data)) {
		return nil, "", false
	}
	return data[page : page+size], fmt.Sprintf("Android boot image v%d kernel (%d bytes at %#x)", version, size, page), true
}
