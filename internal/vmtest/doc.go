// Package vmtest proves kh inside real, freshly booted Linux kernels: it
// boots the test kernels (Linux 6.1 for x86_64 and arm64, see
// ../shared/testkernel/README.md) under qemu's software emulation with an
// initramfs of its own, runs a scenario's steps in the guest and brings
// the results back to the Go test.
//
// # Writing a scenario
//
// A test binary shares one Harness, so that guest programs are built once
// per architecture; each test boots the VMs it needs, runs steps and
// asserts on the results:
//
//	var harness vmtest.Harness
//
//	func TestMain(m *testing.M) {
//		code := m.Run()
//		harness.Close()
//		os.Exit(code)
//	}
//
//	func TestKhVersion(t *testing.T) {
//		vm := harness.Boot(t, vmtest.Config{Arch: vmtest.ARM64})
//		r := vm.Run(t, "kh", "--version").OK(t)
//		if !bytes.HasPrefix(r.Stdout, []byte("kh version")) {
//			t.Errorf("stdout %q", r.Stdout)
//		}
//		if st := vm.Stat(t, "/sys/kernel/btf/vmlinux"); !st.Exists {
//			t.Error("no BTF")
//		}
//	}
//
// Boot skips the test in -short mode and where qemu or the test kernel is
// missing. Boot once per group of related checks, not once per assertion:
// a boot costs one to three seconds, and Go code runs about ten times
// slower in the guest than on the host.
//
// # The guest
//
// The initramfs holds /init (the guestinit program of this module), kh at
// /bin/kh, /bin/vmtest (a small multi-call tool standing in for a shell:
// echo, cat, id, exit, sleep, env, pwd, rendezvous, access, ifup, spawn,
// chroot (run a command in a distribution root shared into the guest),
// watch (run a tracing tool until it reports a triggered event, then
// Ctrl-C it), chown, chmod; see guestinit), the
// directories /dev /proc /sys /tmp /root, and Config.Files and
// Config.Programs, e.g. Kernel.KheadersModule, which installs kheaders.ko
// at /lib/modules/RELEASE/kernel/kernel/kheaders.ko without loading it.
// The init mounts proc, sysfs and devtmpfs, and nothing else: no tmpfs on
// /run or /tmp (/run does not exist), and the root file system is ramfs
// (Config.TmpfsRoot changes that), so any tmpfs in the guest is one the
// scenario or kh mounted.
//
// # Steps
//
// A step is a command (VM.Run, VM.RunCommand: argv, environment, working
// directory, stdin; it returns stdout, stderr and the exit status), a
// group of commands started at the same moment (VM.RunGroup), or an action
// of the init: VM.WriteFile, Mkdir, Symlink, Remove, Rename, Stat (type,
// mode, size, file system magic, mount point), Digest, ReadFile (copy a
// guest file back), Mount, LoadModule (finit_module) and UnloadModule.
// These helpers fail the test when the step fails; VM.Do runs any Step and
// returns the error instead, e.g. to check for a GuestError with
// errors.Is(err, syscall.EEXIST). Result.OK and Result.Exit check how a
// command ended.
//
// Digest of a directory is a digest of its listing (relative paths, types,
// symlink targets, SHA-256 of file contents; not modes or times), and
// DigestPath computes the same on the host: compare a tree kh unpacked in
// the guest with the one tar(1) unpacks from the same archive
// (UnpackTarXZ), and WantDigest prints the entries that differ.
//
// # Transport and failures
//
// Host and guest talk through a directory shared over 9p (virtio; see
// package vmproto): one JSON request and response per step, bulk data
// (stdin, stdout, stderr, files, listings) as separate files, so a 5 MB
// output is no problem. The serial console is kept (VM.Console), logged
// when a test fails, and streamed to stderr when KH_VMTEST_CONSOLE is set.
//
// A VM always ends. A command that runs past Command.Timeout is killed by
// the guest and reported with Result.TimedOut; a step that gets no answer
// within its limit, or runs into the test's deadline, kills qemu and fails.
// If the guest kernel panics or the init dies, qemu exits (panic=-1,
// -no-reboot) and the step fails with ErrVMExited, quoting the panic and
// the end of the console. Cleanup shuts the guest down and kills qemu if
// it does not stop.
//
// # Running
//
//	KH_TESTKERNEL=/work/shared/testkernel go test ./internal/vmtest/...
//
// needs qemu-system-x86_64 and qemu-system-aarch64 (Debian packages
// qemu-system-x86 and qemu-system-arm), the go command (to cross-build the
// guest programs) and, for UnpackTarXZ, tar and xz. Without
// KH_TESTKERNEL the kernels are looked for in ../shared/testkernel
// relative to the module root.
package vmtest
