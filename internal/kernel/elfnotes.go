package kernel

import (
	"debug/elf"
	"errors"
	"fmt"
	"os"
)

// ImageBuildID returns the GNU build ID of a kernel ELF image (vmlinux,
// or any ELF file) from its .notes section (vmlinux's; the running kernel
// exports the same bytes as /sys/kernel/notes), else from any other note
// section or PT_NOTE segment. A bzImage or a raw arm64 Image is not ELF
// and keeps no section table: their build ID cannot be read reliably.
func ImageBuildID(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		var fe *elf.FormatError
		if errors.As(err, &fe) {
			return "", fmt.Errorf("%s is not an ELF kernel image (vmlinux): compressed and raw images (bzImage, Image) keep no .notes section to read a build ID from", path)
		}
		if _, serr := os.Stat(path); serr != nil {
			return "", serr
		}
		return "", fmt.Errorf("%s: %w", path, err)
	}
	defer f.Close()
	var tried []*elf.Section
	if s := f.Section(".notes"); s != nil {
		tried = append(tried, s)
	}
	for _, s := range f.Sections {
		if s.Type == elf.SHT_NOTE && s.Name != ".notes" {
			tried = append(tried, s)
		}
	}
	for _, s := range tried {
		data, err := s.Data()
		if err != nil {
			return "", fmt.Errorf("%s: section %s: %w", path, s.Name, err)
		}
		if id, err := parseNotes(data, f.ByteOrder); err == nil {
			return id, nil
		}
	}
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE || p.Filesz > 1<<20 {
			continue
		}
		data := make([]byte, p.Filesz)
		if _, err := p.ReadAt(data, 0); err != nil {
			continue
		}
		if id, err := parseNotes(data, f.ByteOrder); err == nil {
			return id, nil
		}
	}
	return "", fmt.Errorf("%s: %w", path, ErrNoBuildID)
}
