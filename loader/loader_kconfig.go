package loader

import (
	"context"
	"github.com/khtool/kh/kconfig"

	"bytes"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/btf"
	"github.com/cilium/ebpf/features"
	"golang.org/x/sys/unix"

	"github.com/khtool/kh/internal/kernel"
)

// __kconfig externs
//
// cilium/ebpf v0.22 resolves extern __kconfig variables itself, but only
// from the running system's /boot/config-RELEASE or /proc/config.gz, it
// rejects __weak externs (libbpf defaults a missing weak option to zero)
// and it does not know LINUX_HAS_BPF_COOKIE. kh therefore takes the
// externs over: it renames the .kconfig datasec in the object's BTF
// before cilium/ebpf parses it (cilium/ebpf then leaves the extern loads
// as plain symbol references), computes the values with libbpf's rules,
// and points the loads at a frozen read-only array map named .kconfig.

// kconfigSection is the BTF datasec of __kconfig externs, and
// hiddenKconfig the name kh gives it (the same length, so the BTF string
// table is patched in place).
const (
	kconfigSection = ".kconfig"
	hiddenKconfig  = ".kh_kcfg"
)

// kconfigExterns is what hideKconfig learnt from the ELF file: its
// undefined symbols (extern variables and functions), and whether each
// is weak.
type kconfigExterns struct {
	undefined map[string]bool
}

// hideKconfig renames the .kconfig datasec of the object's BTF so that
// cilium/ebpf treats __kconfig externs as plain symbol references. It
// returns the patched data and the undefined symbols, or nil when the
// object has no .kconfig (or is not ELF: cilium/ebpf then reports the
// problem).
func hideKconfig(data []byte) (out []byte, ext *kconfigExterns) {
	defer func() {
		if recover() != nil { // debug/elf on hostile input
			out, ext = data, nil
		}
	}()
	f, err := elf.NewFile(bytes.NewReader(data))
	if err != nil {
		return data, nil
	}
	sec := f.Section(".BTF")
	if sec == nil || sec.Type == elf.SHT_NOBITS || sec.Flags&elf.SHF_COMPRESSED != 0 {
		return data, nil
	}
	if sec.Offset+sec.Size > uint64(len(data)) || sec.Size < 24 {
		return data, nil
	}
	b := data[sec.Offset : sec.Offset+sec.Size]
	var bo binary.ByteOrder = binary.LittleEndian
	if binary.BigEndian.Uint16(b) == 0xeb9f {
		bo = binary.BigEndian
	} else if bo.Uint16(b) != 0xeb9f {
		return data, nil
	}
	hdrLen, strOff, strLen := uint64(bo.Uint32(b[4:])), uint64(bo.Uint32(b[16:])), uint64(bo.Uint32(b[20:]))
	start := hdrLen + strOff
	if start+strLen > uint64(len(b)) || start > start+strLen {
		return data, nil
	}
	strs := b[start : start+strLen]
	i := bytes.Index(strs, []byte("\x00"+kconfigSection+"\x00"))
	if i < 0 {
		return data, nil
	}
	ext = &kconfigExterns{undefined: map[string]bool{}}
	if syms, err := f.Symbols(); err == nil {
		for _, s := range syms {
			if s.Section == elf.SHN_UNDEF && s.Name != "" {
				ext.undefined[s.Name] = elf.ST_BIND(s.Info) == elf.STB_WEAK
			}
		}
	}
	out = bytes.Clone(data)
	pos := sec.Offset + start + uint64(i) + 1
	copy(out[pos:], hiddenKconfig)
	return out, ext
}

// kconfigVars returns the object's __kconfig externs: its extern BTF
// variables that are undefined ELF symbols and not in .ksyms. (The
// renamed datasec itself cannot be read back: cilium/ebpf only lays out
// a datasec named .kconfig.)
func (o *Object) kconfigVars(ext *kconfigExterns) ([]*btf.Var, error) {
	ksyms := map[string]bool{}
	var kds *btf.Datasec
	if err := o.spec.Types.TypeByName(".ksyms", &kds); err == nil {
		for _, vsi := range kds.Vars {
			ksyms[vsi.Type.TypeName()] = true
		}
	}
	names := make([]string, 0, len(ext.undefined))
	for n := range ext.undefined {
		if !ksyms[n] {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	var vars []*btf.Var
	for _, n := range names {
		types, err := o.spec.Types.AnyTypesByName(n)
		if err != nil {
			continue
		}
		for _, t := range types {
			if v, ok := t.(*btf.Var); ok && v.Linkage == btf.ExternVar {
				vars = append(vars, v)
				break
			}
		}
	}
	if len(vars) == 0 {
		return nil, errors.New("__kconfig externs: .kconfig lists no variable")
	}
	return vars, nil
}

// fillKconfig computes the values of the object's __kconfig externs and
// rewrites the programs' loads of them into loads from a .kconfig map.
func (o *Object) fillKconfig(ext *kconfigExterns, configPath string) error {
	vars, err := o.kconfigVars(ext)
	if err != nil {
		return err
	}
	// Lay the variables out as libbpf does: in order, each aligned.
	offsets := map[string]uint32{}
	sizes := map[string]uint32{}
	var size uint32
	for _, v := range vars {
		n, err := btf.Sizeof(v.Type)
		if err != nil {
			return fmt.Errorf("extern %s: %w", v.Name, err)
		}
		a := alignof(v.Type)
		size = (size + a - 1) / a * a
		offsets[v.Name], sizes[v.Name] = size, uint32(n)
		size += uint32(n)
	}
	if size == 0 {
		return errors.New("__kconfig externs: empty .kconfig section")
	}
	kc := &kconfigResolver{configPath: configPath, o: o}
	value := make([]byte, size)
	for _, v := range vars {
		dst := value[offsets[v.Name] : offsets[v.Name]+sizes[v.Name]]
		weak := ext.undefined[v.Name]
		if err := kc.resolve(dst, v, weak); err != nil {
			return fmt.Errorf("extern %s: %w", v.Name, err)
		}
		o.logger.Debug("kconfig extern", "name", v.Name, "value", fmt.Sprintf("%x", dst), "weak", weak)
	}
	used := false
	for _, ps := range o.spec.Programs {
		for i := range ps.Instructions {
			ins := &ps.Instructions[i]
			off, ok := offsets[ins.Reference()]
			if !ok || !ins.OpCode.IsDWordLoad() {
				continue
			}
			ins.Src = asm.PseudoMapValue
			ins.Constant = int64(uint64(off) << 32)
			*ins = ins.WithReference(kconfigSection)
			used = true
		}
	}
	if !used {
		return nil
	}
	if _, dup := o.spec.Maps[kconfigSection]; dup {
		return fmt.Errorf("the object already has a map named %s", kconfigSection)
	}
	o.spec.Maps[kconfigSection] = &ebpf.MapSpec{
		Name:       kconfigSection,
		Type:       ebpf.Array,
		KeySize:    4,
		ValueSize:  size,
		MaxEntries: 1,
		Flags:      unix.BPF_F_RDONLY_PROG,
		Contents:   []ebpf.MapKV{{Key: uint32(0), Value: value}},
	}
	return nil
}

// alignof returns the alignment of a type, as C lays it out on the
// 64-bit BPF target.
func alignof(t btf.Type) uint32 {
	switch t := btf.UnderlyingType(t).(type) {
	case *btf.Int:
		return uint32(min(max(t.Size, 1), 8))
	case *btf.Enum:
		return uint32(min(max(t.Size, 1), 8))
	case *btf.Float:
		return uint32(min(max(t.Size, 1), 8))
	case *btf.Pointer:
		return 8
	case *btf.Array:
		return alignof(t.Type)
	case *btf.Struct:
		return membersAlign(t.Members)
	case *btf.Union:
		return membersAlign(t.Members)
	}
	return 1
}

func membersAlign(ms []btf.Member) uint32 {
	a := uint32(1)
	for _, m := range ms {
		a = max(a, alignof(m.Type))
	}
	return a
}

// kconfigResolver computes extern values, reading the kernel config and
// probing the kernel only when an extern needs it.
type kconfigResolver struct {
	configPath string
	o          *Object

	config     map[string]string
	configFrom string
	configErr  error
	loaded     bool
}

// resolve writes the value of extern v into dst.
func (kc *kconfigResolver) resolve(dst []byte, v *btf.Var, weak bool) error {
	name := v.Name
	switch name {
	case "LINUX_KERNEL_VERSION":
		u, err := kernel.Running()
		if err != nil {
			return err
		}
		return putKconfigInt(dst, v.Type, uint64(kernelVersionCode(u.Release)))
	case "LINUX_HAS_SYSCALL_WRAPPER":
		ks, err := kc.o.kernelSymbols()
		if err != nil {
			return err
		}
		_, wrapped := ks.syscallPrefix()
		return putKconfigInt(dst, v.Type, boolInt(wrapped))
	case "LINUX_HAS_BPF_COOKIE":
		err := features.HaveProgramHelper(ebpf.Kprobe, asm.FnGetAttachCookie)
		if err != nil && !errors.Is(err, ebpf.ErrNotSupported) {
			return fmt.Errorf("probe bpf_get_attach_cookie: %w", err)
		}
		return putKconfigInt(dst, v.Type, boolInt(err == nil))
	}
	if !strings.HasPrefix(name, "CONFIG_") {
		if weak {
			return nil
		}
		return errors.New("unknown __kconfig extern (kh knows CONFIG_*, LINUX_KERNEL_VERSION, LINUX_HAS_SYSCALL_WRAPPER, LINUX_HAS_BPF_COOKIE)")
	}
	config, from, err := kc.kernelConfig()
	if err != nil {
		if weak {
			return nil
		}
		return err
	}
	raw, ok := config[name]
	if !ok {
		if weak {
			return nil // libbpf: a missing weak option reads as zero
		}
		return fmt.Errorf("not set in %s (declare it __weak to read 0 when unset)", from)
	}
	return putKconfigValue(dst, v.Type, raw)
}

// kernelConfig reads the kernel config once: the file given (any
// source kconfig.Open reads: .config, config.gz, a kernel image...), or
// the running kernel's (/proc/config.gz, /boot/config-RELEASE, the
// configs module).
func (kc *kconfigResolver) kernelConfig() (map[string]string, string, error) {
	if kc.loaded {
		return kc.config, kc.configFrom, kc.configErr
	}
	kc.loaded = true
	var cfg *kconfig.Config
	var err error
	if kc.configPath != "" {
		cfg, err = kconfig.Open(context.Background(), kc.configPath)
	} else {
		cfg, err = kconfig.Running(context.Background(), kconfig.Options{Logger: kc.o.logger})
	}
	if err != nil {
		kc.configErr = fmt.Errorf("no kernel config for __kconfig externs: %w", err)
		return nil, "", kc.configErr
	}
	kc.config, kc.configFrom = cfg.Map(), cfg.Source.Location
	kc.o.logger.Debug("kernel config", "from", kc.configFrom, "options", len(kc.config))
	return kc.config, kc.configFrom, nil
}

// kernelVersionCode is KERNEL_VERSION(a, b, c) of a release such as
// "6.1.192-foo", with c capped at 255 as the kernel does.
func kernelVersionCode(release string) uint32 {
	var v [3]uint32
	rest := release
	for i := range v {
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		n, _ := strconv.ParseUint(rest[:j], 10, 32)
		v[i] = uint32(n)
		if j >= len(rest) || rest[j] != '.' {
			break
		}
		rest = rest[j+1:]
	}
	return v[0]<<16 | min(v[1], 255)<<8 | min(v[2], 255)
}

func boolInt(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

// putKconfigValue stores the config value raw into dst as typ, with
// libbpf's rules: bool takes y/n, enum libbpf_tristate y/n/m, char y/n/m,
// char arrays a quoted string, integers a number.
func putKconfigValue(dst []byte, typ btf.Type, raw string) error {
	t := btf.UnderlyingType(typ)
	tristate := raw == "y" || raw == "n" || raw == "m"
	switch t := t.(type) {
	case *btf.Enum:
		if t.Name != "libbpf_tristate" {
			return fmt.Errorf("enum %s is not enum libbpf_tristate", t.Name)
		}
		n := map[string]uint64{"n": 0, "y": 1, "m": 2}
		v, ok := n[raw]
		if !ok {
			return fmt.Errorf("value %s is not y, n or m", raw)
		}
		return putKconfigInt(dst, t, v)
	case *btf.Int:
		switch {
		case t.Encoding == btf.Bool:
			if raw != "y" && raw != "n" {
				return fmt.Errorf("value %s for a bool (want y or n)", raw)
			}
			return putKconfigInt(dst, t, boolInt(raw == "y"))
		case t.Size == 1 && (t.Encoding == btf.Char || t.Name == "char"):
			if !tristate {
				return fmt.Errorf("value %s for a char (want y, n or m)", raw)
			}
			return putKconfigInt(dst, t, uint64(raw[0]))
		}
		if tristate || strings.HasPrefix(raw, `"`) {
			return fmt.Errorf("value %s for an integer", raw)
		}
		var u uint64
		if t.Encoding == btf.Signed {
			n, err := strconv.ParseInt(raw, 0, 64)
			if err != nil {
				return fmt.Errorf("value %s: %w", raw, err)
			}
			bits := 8 * t.Size
			if bits < 64 && (n < -(1<<(bits-1)) || n >= 1<<(bits-1)) {
				return fmt.Errorf("value %s does not fit %d bytes", raw, t.Size)
			}
			u = uint64(n)
		} else {
			n, err := strconv.ParseUint(raw, 0, 64)
			if err != nil {
				return fmt.Errorf("value %s: %w", raw, err)
			}
			if t.Size < 8 && n > math.MaxUint64>>(64-8*t.Size) {
				return fmt.Errorf("value %s does not fit %d bytes", raw, t.Size)
			}
			u = n
		}
		return putKconfigInt(dst, t, u)
	case *btf.Array:
		el, ok := btf.UnderlyingType(t.Type).(*btf.Int)
		if !ok || el.Size != 1 {
			return fmt.Errorf("unsupported type %s (want a char array)", t)
		}
		if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
			return fmt.Errorf("value %s for a char array (want a string)", raw)
		}
		s := strings.NewReplacer(`\"`, `"`, `\\`, `\`).Replace(raw[1 : len(raw)-1])
		if len(s) >= len(dst) {
			s = s[:max(len(dst)-1, 0)]
		}
		clear(dst)
		copy(dst, s)
		return nil
	}
	return fmt.Errorf("unsupported type %s", t)
}

// putKconfigInt stores v in dst as an integer of typ's size, in the
// host's byte order.
func putKconfigInt(dst []byte, typ btf.Type, v uint64) error {
	size, err := btf.Sizeof(typ)
	if err != nil {
		return err
	}
	if size > len(dst) {
		return fmt.Errorf("type of %d bytes in %d bytes of .kconfig", size, len(dst))
	}
	switch size {
	case 1:
		dst[0] = byte(v)
	case 2:
		binary.NativeEndian.PutUint16(dst, uint16(v))
	case 4:
		binary.NativeEndian.PutUint32(dst, uint32(v))
	case 8:
		binary.NativeEndian.PutUint64(dst, v)
	default:
		return fmt.Errorf("unsupported integer size %d", size)
	}
	return nil
}
