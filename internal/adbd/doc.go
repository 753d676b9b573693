// Package adbd is a small device side of the Android Debug Bridge, written
// for kh's tests: there is no Android device on the test machines and
// Debian packages only the host side (the adb client and server), so the
// tests boot a Linux guest running this daemon and drive it with the real
// adb client over qemu's user networking.
//
// It speaks the documented wire protocol (AOSP's protocol.txt: 24-byte
// little-endian message headers, CNXN, OPEN, OKAY, WRTE, CLSE) over TCP,
// without authentication (as an adbd with ro.adb.secure=0), and serves:
//
//   - shell:CMD, run as SHELL -c CMD with stdout and stderr merged, as
//     adbd does without the shell protocol; and, because the daemon
//     advertises the shell_v2 feature, shell,v2,...:CMD with the shell
//     protocol (separate stdout and stderr, stdin and its end, and the
//     command's exit status), which is what `adb shell` uses and what
//     makes it return the command's exit status. A pty is never
//     allocated: a pty request runs like a raw one.
//   - exec:CMD, raw (what `adb exec-out` uses): the bytes the command
//     writes, stdout and stderr merged, as adbd does.
//   - sync:, version 1 only (SYNC.TXT): STAT, LIST, SEND, RECV and QUIT,
//     what `adb push` and `adb pull` use when the device does not
//     advertise the v2 sync features.
//   - root:, which answers as adbd does without changing anything
//     ("adbd is already running as root" or "adbd cannot run as root in
//     production builds").
//
// A stream the host closes hangs up its command: the command's process
// group gets SIGHUP, then SIGKILL if it is still there after
// Options.KillGrace, as adbd closes a subprocess whose socket went away.
// So Ctrl-C on the workstation stops what `adb shell` started.
//
// The daemon knows nothing about kh: it serves files and runs commands.
// For fault tests it can damage its own output in a way any client would
// see (Options.CloseAfter, Options.FlipAt): a connection that dies in the
// middle of a transfer, a byte changed on the way; and it can refuse
// every host (Options.Unauthorized), as a device whose USB debugging
// prompt nobody accepted.
//
// cmd/adbd is the program the tests install in the guest.
package adbd
