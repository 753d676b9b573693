package btf

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf"
	ebtf "github.com/cilium/ebpf/btf"
	tk "github.com/khtool/kh/internal/testkernel"
)

// coreProg is a small CO-RE program that reads task_struct fields the way
// libbpf's BPF_CORE_READ does. Its helpers are spelled out here since
// libbpf-dev (bpf_helpers.h, bpf_core_read.h) need not be installed.
const coreProg = `#include "vmlinux.h"

#define SEC(name) __attribute__((section(name), used))
static long (*bpf_probe_read_kernel)(void *dst, __u32 size, const void *unsafe_ptr) = (void *)113;
static __u64 (*bpf_get_current_task)(void) = (void *)35;
static long (*bpf_trace_printk)(const char *fmt, __u32 fmt_size, ...) = (void *)6;

#define CORE_READ_INTO(dst, src) \
	bpf_probe_read_kernel((void *)(dst), sizeof(*(dst)), (const void *)__builtin_preserve_access_index(src))
#define CORE_FIELD_EXISTS(field) __builtin_preserve_field_info(field, 2)
#define CORE_FIELD_SIZE(field) __builtin_preserve_field_info(field, 1)

SEC("kprobe/do_nanosleep")
int probe(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct task_struct *parent = 0;
	int pid = 0, ppid = 0;
	unsigned int flags = 0;
	char comm[16];
	const char fmt[] = "pid %d ppid %d %s\n";

	CORE_READ_INTO(&pid, &task->pid);
	CORE_READ_INTO(&parent, &task->real_parent);
	CORE_READ_INTO(&ppid, &parent->tgid);
	/* vmlinux.h's pragma makes plain field accesses relocatable too. */
	bpf_probe_read_kernel(&flags, sizeof(flags), &task->flags);
	CORE_READ_INTO(&comm, &task->comm);
	if (!CORE_FIELD_EXISTS(task->pid) || CORE_FIELD_SIZE(task->comm) != sizeof(comm))
		return 1;
	bpf_trace_printk(fmt, sizeof(fmt), pid, ppid, comm);
	return flags;
}

char LICENSE[] SEC("license") = "GPL";
`

// TestCompileCORE compiles coreProg against the vmlinux.h that WriteC
// makes for each kernel BTF at hand, then checks with cilium/ebpf that
// the program's CO-RE relocations resolve against that same BTF with the
// offsets and sizes the header gave clang (local == target).
func TestCompileCORE(t *testing.T) {
	clang := tk.NeedTool(t, "clang")
	var kernels []string
	if f, err := os.Open(KernelPath); err == nil {
		f.Close()
		kernels = append(kernels, KernelPath)
	}
	for _, arch := range []string{"x86_64", "arm64"} {
		if dir, ok := testkernelDir(t, arch); ok {
			kernels = append(kernels, filepath.Join(dir, "vmlinux.btf"))
		}
	}
	if len(kernels) == 0 {
		tk.Skip(t, "no kernel BTF: neither %s nor the test kernels (set KH_TESTKERNEL)", KernelPath)
	}
	for _, k := range kernels {
		t.Run(strings.TrimPrefix(k, "/"), func(t *testing.T) {
			spec := mustLoad(t, k, nil)
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "vmlinux.h"), cHeader(t, spec, nil), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "prog.c"), []byte(coreProg), 0o644); err != nil {
				t.Fatal(err)
			}
			obj := filepath.Join(dir, "prog.o")
			cmd := exec.Command(clang, "-target", "bpf", "-O2", "-g", "-Wall", "-Werror", "-c", "prog.c", "-o", obj)
			cmd.Dir = dir
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("clang: %v\n%s", err, out)
			}
			checkRelocations(t, obj, spec)
		})
	}
}

func checkRelocations(t *testing.T, obj string, target *Spec) {
	t.Helper()
	coll, err := ebpf.LoadCollectionSpec(obj)
	if err != nil {
		t.Fatal(err)
	}
	prog := coll.Programs["probe"]
	if prog == nil {
		t.Fatalf("no program probe in %s", obj)
	}
	var relos []*ebtf.CORERelocation
	for i := range prog.Instructions {
		if r := ebtf.CORERelocationMetadata(&prog.Instructions[i]); r != nil {
			relos = append(relos, r)
		}
	}
	// pid, real_parent, tgid, flags (through the pragma only), comm,
	// exists(pid), size(comm).
	if len(relos) < 7 {
		t.Fatalf("%d CO-RE relocations, want at least 7: is the preserve_access_index pragma missing?", len(relos))
	}
	cspec, err := target.Cilium()
	if err != nil {
		t.Fatal(err)
	}
	fixups, err := ebtf.CORERelocate(relos, []*ebtf.Spec{cspec}, prog.ByteOrder, func(ebtf.Type) (ebtf.TypeID, error) {
		return 0, errors.New("no local type ID relocations expected")
	})
	if err != nil {
		t.Fatal(err)
	}
	for i, f := range fixups {
		// "kind=local->target", or "kind=poison".
		s := f.String()
		_, vals, _ := strings.Cut(s, "=")
		local, tgt, ok := strings.Cut(vals, "->")
		if !ok || local != tgt {
			t.Errorf("relocation %d (%v): fixup %s: the header disagrees with the BTF", i, relos[i], s)
		}
	}
}
