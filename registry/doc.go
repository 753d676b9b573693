// Package registry publishes and fetches a Linux kernel's artifacts (its
// kheaders archive, its BTF and its configuration) through an OCI
// registry, keyed by the kernel's GNU build ID.
//
// The registry is any server that speaks the OCI distribution protocol
// (CNCF distribution, Harbor, zot, GHCR, ECR, ...); the client is
// oras.land/oras-go/v2.
//
// # Why a package of its own
//
// It is a transport, not a header source: it moves bytes between a
// registry and memory and proves they are the right bytes (every blob's
// digest, the artifact's build ID and identity). What those bytes become
// is decided by its users: package kheaders takes a repository as one
// source among the kernel's own (kheaders.Options.Registry), treats a
// pulled archive as hostile exactly like a local one and publishes it in
// the same cache under the same key; kh btf and kh config read the other
// layers. Publishing needs no cache, no header extraction and no running
// kernel (a kernel build's CI pushes what it just built), and pulling
// needs none of kheaders' sources, so neither belongs in kheaders.
//
// # The artifact
//
// One OCI image manifest (schema 2, OCI 1.1 artifact form: ArtifactType,
// the empty config) per kernel build. Its layers, each optional but at
// least one present:
//
//   - MediaTypeHeaders: the kheaders archive, kheaders.tar.xz byte for
//     byte as the kernel built it (so the layer's digest is the archive's
//     SHA-256, the header cache's key);
//   - MediaTypeBTF: the raw BTF (/sys/kernel/btf/vmlinux);
//   - MediaTypeConfig: the kernel's .config (plain text).
//
// Annotations carry the identity: AnnotationRelease (uname -r),
// AnnotationArch (SRCARCH), AnnotationBuildID, AnnotationSource (where the
// archive came from: sysfs, module, file) and AnnotationSchema (kh's
// manifest schema, SchemaVersion). Two tags point to it: BuildIDTag
// ("buildid-" and the hex build ID), the key, and ReleaseTag (the release
// and arch, sanitized to the OCI tag grammar), for humans. Pushing the
// same content again writes nothing.
//
// # Security
//
// Credentials come from the docker/podman credential files (see
// Options.AuthFile) and are never logged or put in an error. Plain HTTP
// is used only for a loopback registry (127.0.0.0/8, ::1, localhost)
// whose server does not speak TLS, or when asked (Options.Insecure);
// TLS uses the system roots plus Options.CAFile. Every
// pulled blob is checked against its size and digest, the manifest
// against the identity asked for (a build ID that differs is a
// *MismatchError), and sizes against limits before anything is read.
package registry
