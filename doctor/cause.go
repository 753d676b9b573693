package doctor

import (
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/cilium/ebpf"
	"golang.org/x/sys/unix"

	"github.com/khtool/kh/internal/caps"
)

// Causes of a failed probe, in the order a check reports them: the first
// that applies is the cause, so that a refusal is never reported as a
// missing kernel feature (whose fix would be to rebuild the kernel).
//
//  1. permission: kh lacks the privilege (no CAP_BPF/CAP_PERFMON or
//     CAP_SYS_ADMIN, or a file only root may read);
//  2. policy: kh has the privilege and the kernel still refuses: the
//     lockdown LSM, SELinux enforcing, another LSM or seccomp;
//  3. feature: the kernel lacks it (ebpf.ErrNotSupported and the like).

// DeniedPermission starts the Value of a check whose probe kh was not
// permitted to run: kh doctor reports "denied (permission): ..." and the
// fix to run it with the privilege, never a missing kernel feature.
const DeniedPermission = "denied (permission)"

// DeniedPolicy starts the Value of a check whose probe the kernel refused
// although kh had the privilege.
const DeniedPolicy = "denied (security policy)"

// isDenied reports whether err is a refusal (EPERM, EACCES).
func isDenied(err error) bool {
	return errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) || errors.Is(err, fs.ErrPermission)
}

// rootFix is the advice to run with the privilege tracing needs.
const rootFix = "run kh as root (sudo; on Android su -c or adb root), or grant it CAP_BPF and CAP_PERFMON"

// denial explains a refused BPF operation: the first cause that applies
// (permission, then lockdown or an LSM), as a Finding with status st.
// ok is false when err is not a refusal (a missing feature, or another
// failure the caller reports).
func denial(env *Target, what string, err error, st Status) (Finding, bool) {
	if err == nil || errors.Is(err, ebpf.ErrNotSupported) || !isDenied(err) {
		return Finding{}, false
	}
	have, _ := env.Sys.Capabilities()
	if !caps.CanTrace(have) {
		return Finding{Status: st, Value: fmt.Sprintf("%s: %s (kh has %s)", DeniedPermission, what, capsNames(have)), Fix: rootFix}, true
	}
	var policy []string
	fix := ""
	mode, lerr := readLockdown(env)
	switch {
	case lerr != nil:
		policy = append(policy, "lockdown unknown")
	case mode != "none":
		policy = append(policy, "lockdown="+mode)
		if mode == "confidentiality" {
			fix = lockdownFix
		}
	}
	if mode := selinuxMode(env); mode == "enforcing" {
		policy = append(policy, "SELinux enforcing")
		if fix == "" {
			fix = "check the audit log for avc denials of bpf and perf_event (Android: a root shell, su or adb root, runs in a domain allowed to trace)"
		}
	}
	if fix == "" {
		policy = append(policy, "or an LSM or seccomp")
		fix = "find the policy that denies bpf() (lockdown, seccomp of a container, AppArmor, an LSM) and allow it"
	}
	return Finding{Status: st, Value: fmt.Sprintf("%s: %s although kh has %s (%s)", DeniedPolicy, what, capsNames(have), strings.Join(policy, ", ")), Fix: fix}, true
}

// readDenied is the Finding of a system file kh may not read.
func readDenied(abs string, st Status) Finding {
	return Finding{Status: st, Value: fmt.Sprintf("%s: cannot read %s", DeniedPermission, abs), Fix: "run kh doctor as root to see it"}
}

const lockdownFix = "boot with lockdown=none or lockdown=integrity (with Secure Boot: disable it, or sign a kernel without lockdown)"

// readLockdown returns the lockdown mode ("none", "integrity",
// "confidentiality") from securityfs.
func readLockdown(env *Target) (string, error) {
	s, err := env.readTrim(SecurityFSDir + "/lockdown")
	if err != nil {
		return "", err
	}
	m := lockdownMode.FindStringSubmatch(s)
	if m == nil {
		return "", fmt.Errorf("unknown lockdown %q", s)
	}
	return m[1], nil
}

// selinuxMode returns "enforcing", "permissive", "" (SELinux is not
// enabled: no /sys/fs/selinux/enforce) or "unknown" (it exists but kh
// may not read it).
func selinuxMode(env *Target) string {
	s, err := env.readTrim("/sys/fs/selinux/enforce")
	switch {
	case err == nil && s == "1":
		return "enforcing"
	case err == nil:
		return "permissive"
	case env.exists("/sys/fs/selinux/enforce") || isDenied(err):
		return "unknown"
	}
	return ""
}
