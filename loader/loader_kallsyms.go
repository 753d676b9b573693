package loader

import (
	"bufio"
	"fmt"
	"os"
	"strings"
)

// syscallPrefixes returns the prefixes of the syscall entry points of
// kernels with syscall wrappers (CONFIG_ARCH_HAS_SYSCALL_WRAPPER), by
// architecture: x86-64, arm64, s390, riscv, x86-32.
func syscallPrefixes() []string {
	return []string{"__x64_", "__arm64_", "__s390x_", "__riscv_", "__ia32_"}
}

// kallsyms holds the syscall-related kernel symbols of /proc/kallsyms.
type kallsyms struct {
	names map[string]bool
}

// readKallsyms reads the symbols whose name contains "sys_" from
// /proc/kallsyms (names are readable whatever kptr_restrict says).
func readKallsyms(path string) (*kallsyms, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kernel symbols: %w", err)
	}
	defer f.Close()
	k := &kallsyms{names: map[string]bool{}}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.Contains(line, "sys_") {
			continue
		}
		// "ADDRESS TYPE NAME [MODULE]"
		f := strings.Fields(line)
		if len(f) >= 3 {
			k.names[f[2]] = true
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("kernel symbols: %w", err)
	}
	return k, nil
}

// syscallPrefix returns the prefix of this kernel's syscall entry points
// ("__x64_" on x86-64) and whether the kernel has syscall wrappers at all.
func (k *kallsyms) syscallPrefix() (string, bool) {
	for _, p := range syscallPrefixes() {
		if k.names[p+"sys_bpf"] {
			return p, true
		}
	}
	return "", false
}

// syscallSymbol returns the kernel function that implements syscall
// name, for a ksyscall/ kprobe: "__x64_sys_NAME" on x86-64 kernels with
// syscall wrappers, "sys_NAME" without them.
func (k *kallsyms) syscallSymbol(name string) (string, error) {
	prefix, _ := k.syscallPrefix()
	sym := prefix + "sys_" + name
	if !k.names[sym] {
		return "", fmt.Errorf("syscall %s: no kernel symbol %s", name, sym)
	}
	return sym, nil
}

// kernelSymbols reads /proc/kallsyms once per object.
func (o *Object) kernelSymbols() (*kallsyms, error) {
	if o.kallsyms != nil {
		return o.kallsyms, nil
	}
	k, err := readKallsyms("/proc/kallsyms")
	if err != nil {
		return nil, err
	}
	o.kallsyms = k
	return k, nil
}
