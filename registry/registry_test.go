package registry

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/khtool/kh/internal/regtest"
	"github.com/khtool/kh/internal/testkernel"
	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	"oras.land/oras-go/v2/content"
)

// kernelDirs are the test kernels: Linux 6.1 and 6.12, both arches.
var kernelDirs = []string{"x86_64", "arm64", "6.12/x86_64", "6.12/arm64"}

// testArtifact reads a test kernel's artifacts and identity.
func testArtifact(t testing.TB, dir string) *Artifact {
	t.Helper()
	root, err := testkernel.Root()
	if err != nil {
		testkernel.Skip(t, "%v", err)
	}
	d := filepath.Join(root, dir)
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(d, name))
		if err != nil {
			testkernel.Skip(t, "test kernel file missing: %v", err)
		}
		return b
	}
	arch := "x86"
	if strings.HasSuffix(dir, "arm64") {
		arch = "arm64"
	}
	return &Artifact{
		Identity: Identity{
			Release: strings.TrimSpace(string(read("release"))),
			Arch:    arch,
			BuildID: strings.TrimSpace(string(read("build-id"))),
			Source:  "file",
		},
		Headers: read("kheaders.tar.xz"),
		BTF:     read("vmlinux.btf"),
		Config:  read("config"),
	}
}

func open(t testing.TB, ref string, opts Options) *Repository {
	t.Helper()
	r, err := Open(ref, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// oneLineErr checks that err is a one-line error mentioning want.
func oneLineErr(t *testing.T, err error, want ...string) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want one mentioning %q", want)
	}
	t.Logf("error: %v", err)
	if strings.Contains(err.Error(), "\n") {
		t.Errorf("error is not one line: %q", err)
	}
	for _, w := range want {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not mention %q", err, w)
		}
	}
}

func TestPushPullTestKernels(t *testing.T) {
	reg := regtest.Start(t, regtest.Options{})
	repo := open(t, reg.Repo("kernels/kh"), Options{})
	ctx := context.Background()
	var arts []*Artifact
	for _, d := range kernelDirs {
		a := testArtifact(t, d)
		arts = append(arts, a)
		res, err := repo.Push(ctx, a, PushOptions{})
		if err != nil {
			t.Fatalf("push %s: %v", d, err)
		}
		// The first push uploads the empty config too.
		if want := 3 + btoi(len(arts) == 1); res.Unchanged || res.Uploaded != want {
			t.Errorf("push %s: unchanged %v, uploaded %d; want a fresh push of %d blobs", d, res.Unchanged, res.Uploaded, want)
		}
		wantTags := []string{"buildid-" + a.BuildID, ReleaseTag(a.Release, a.Arch)}
		if strings.Join(res.Tags, " ") != strings.Join(wantTags, " ") {
			t.Errorf("tags %v, want %v", res.Tags, wantTags)
		}
		// The headers layer's digest is the archive's SHA-256.
		l, _ := res.Layer(Headers)
		if want := content.NewDescriptorFromBytes("", a.Headers).Digest.String(); l.Digest != want {
			t.Errorf("headers layer digest %s, want %s", l.Digest, want)
		}
		again, err := repo.Push(ctx, a, PushOptions{})
		if err != nil {
			t.Fatalf("push %s again: %v", d, err)
		}
		if !again.Unchanged || again.Uploaded != 0 || again.Digest != res.Digest {
			t.Errorf("second push of %s: unchanged %v, uploaded %d, digest %s (first %s); want a no-op", d, again.Unchanged, again.Uploaded, again.Digest, res.Digest)
		}
	}
	for _, a := range arts {
		e, data, err := repo.Pull(ctx, Query{BuildID: strings.ToUpper(a.BuildID)})
		if err != nil {
			t.Fatalf("pull %s: %v", a.BuildID, err)
		}
		if e.Identity != a.Identity {
			t.Errorf("identity %+v, want %+v", e.Identity, a.Identity)
		}
		for k, want := range map[Kind][]byte{Headers: a.Headers, BTF: a.BTF, Config: a.Config} {
			if !bytes.Equal(data[k], want) {
				t.Errorf("%s %s layer: %d bytes differ from the %d pushed", a.BuildID, k, len(data[k]), len(want))
			}
		}
		if int(e.Size) != len(a.Headers)+len(a.BTF)+len(a.Config) {
			t.Errorf("size %d", e.Size)
		}
		byRel, err := repo.Resolve(ctx, Query{Release: a.Release, Arch: a.Arch})
		if err != nil {
			t.Fatalf("resolve %s %s: %v", a.Release, a.Arch, err)
		}
		if byRel.BuildID != a.BuildID {
			t.Errorf("release tag %s %s resolves to build ID %s, want %s", a.Release, a.Arch, byRel.BuildID, a.BuildID)
		}
	}
	list, err := repo.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != len(arts) {
		t.Fatalf("list: %d entries, want %d: %+v", len(list), len(arts), list)
	}
	for _, e := range list {
		if len(e.Tags) != 2 || len(e.Layers) != 3 {
			t.Errorf("list entry %s: tags %v, %d layers", e.BuildID, e.Tags, len(e.Layers))
		}
	}
	if list[0].Release != "6.1.192" || list[0].Arch != "arm64" || list[3].Release != "6.12.117" || list[3].Arch != "x86" {
		t.Errorf("list not sorted by release and arch: %+v", list)
	}

	// A build ID nobody pushed.
	_, err = repo.Resolve(ctx, Query{BuildID: strings.Repeat("ab", 20)})
	if !errors.Is(err, ErrNotFound) {
		t.Errorf("unknown build ID: %v, want ErrNotFound", err)
	}
	oneLineErr(t, err, "buildid-abab")

	// A different artifact under a build ID that is taken.
	b := *arts[0]
	b.Config = []byte("CONFIG_OTHER=y\n")
	_, err = repo.Push(ctx, &b, PushOptions{})
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Errorf("conflicting push: %v, want a *ConflictError", err)
	}
	oneLineErr(t, err, "already holds a different artifact")
	if res, err := repo.Push(ctx, &b, PushOptions{Replace: true}); err != nil || res.Uploaded != 1 {
		t.Errorf("push with Replace: %+v, %v; want one blob uploaded (the new config)", res, err)
	}
}

func TestPushBTFOnly(t *testing.T) {
	reg := regtest.Start(t, regtest.Options{})
	repo := open(t, reg.Repo("kh"), Options{})
	host := testArtifact(t, "x86_64")
	root, _ := testkernel.Root()
	btf, err := os.ReadFile(filepath.Join(root, "host-6.18/vmlinux.btf"))
	if err != nil {
		testkernel.Skip(t, "%v", err)
	}
	a := &Artifact{Identity: Identity{Release: "6.18.44+fc", Arch: "x86", BuildID: host.BuildID}, BTF: btf, Config: host.Config}
	ctx := context.Background()
	res, err := repo.Push(ctx, a, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Has(Headers) || !res.Has(BTF) || res.Tags[1] != "6.18.44_fc-x86" {
		t.Errorf("BTF-only push: %+v", res)
	}
	e, data, err := repo.Pull(ctx, Query{BuildID: a.BuildID}, BTF)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(data[BTF], btf) || data[Config] != nil {
		t.Errorf("pulled %d BTF bytes (want %d) and %d config bytes (not asked for)", len(data[BTF]), len(btf), len(data[Config]))
	}
	if _, err := repo.Fetch(ctx, e, Headers); !errors.Is(err, ErrNotFound) {
		t.Errorf("headers of a BTF-only artifact: %v, want ErrNotFound", err)
	}
}

func TestPushRefusesBadInput(t *testing.T) {
	repo := open(t, "127.0.0.1:1/kh", Options{}) // never contacted
	good := Identity{Release: "6.1.192", Arch: "x86", BuildID: strings.Repeat("0a", 20)}
	for name, a := range map[string]*Artifact{
		"no layer":       {Identity: good},
		"bad build ID":   {Identity: Identity{Release: "6.1", Arch: "x86", BuildID: "xyz"}, Config: []byte("x")},
		"no release":     {Identity: Identity{Arch: "x86", BuildID: good.BuildID}, Config: []byte("x")},
		"bad arch":       {Identity: Identity{Release: "6.1", Arch: "x/86", BuildID: good.BuildID}, Config: []byte("x")},
		"headers not xz": {Identity: good, Headers: []byte("not xz at all")},
		"btf not btf":    {Identity: good, BTF: []byte("not btf")},
	} {
		if _, err := repo.Push(context.Background(), a, PushOptions{}); err == nil {
			t.Errorf("%s: pushed", name)
		} else if errors.Is(err, ErrUnreachable) {
			t.Errorf("%s: contacted the registry before checking the input: %v", name, err)
		}
	}
	for _, ref := range []string{"", "https://r.example/kh", "r.example/kh:tag", "r.example/kh@sha256:" + strings.Repeat("0", 64), "r.example/UPPER"} {
		if _, err := Open(ref, Options{}); err == nil {
			t.Errorf("Open(%q) accepted", ref)
		}
	}
}

func TestReleaseTag(t *testing.T) {
	for _, c := range [][3]string{
		{"6.1.192", "x86", "6.1.192-x86"},
		{"5.10.133+", "x86", "5.10.133_-x86"},
		{"6.1.0-18-arm64", "arm64", "6.1.0-18-arm64-arm64"},
		{"buildid-x", "x86", "rbuildid-x-x86"},
		{".odd", "x86", "r.odd-x86"},
		{"6.6.30-android15-8-g1234~abc", "arm64", "6.6.30-android15-8-g1234_abc-arm64"},
	} {
		if got := ReleaseTag(c[0], c[1]); got != c[2] {
			t.Errorf("ReleaseTag(%q, %q) = %q, want %q", c[0], c[1], got, c[2])
		}
	}
	if got := ReleaseTag(strings.Repeat("x", 300), "x86"); len(got) != 128 {
		t.Errorf("long release: tag of %d characters", len(got))
	}
}

func TestAuth(t *testing.T) {
	const user, password = "builder", "s3cret-Pa55word"
	reg := regtest.Start(t, regtest.Options{User: user, Password: password})
	a := testArtifact(t, "x86_64")
	a.Headers = nil // keep it quick
	ctx := context.Background()

	good := reg.AuthFile(t, user, password)
	if _, err := open(t, reg.Repo("kh"), Options{AuthFile: good}).Push(ctx, a, PushOptions{}); err != nil {
		t.Fatalf("push with credentials: %v", err)
	}
	// The ecosystem's files: REGISTRY_AUTH_FILE, then DOCKER_CONFIG.
	t.Setenv("HOME", t.TempDir())
	t.Setenv("XDG_RUNTIME_DIR", "")
	t.Setenv("DOCKER_CONFIG", "")
	t.Setenv("REGISTRY_AUTH_FILE", good)
	if _, err := open(t, reg.Repo("kh"), Options{}).Resolve(ctx, Query{BuildID: a.BuildID}); err != nil {
		t.Errorf("REGISTRY_AUTH_FILE: %v", err)
	}
	t.Setenv("REGISTRY_AUTH_FILE", "")
	t.Setenv("DOCKER_CONFIG", filepath.Dir(good))
	if _, err := open(t, reg.Repo("kh"), Options{}).Resolve(ctx, Query{BuildID: a.BuildID}); err != nil {
		t.Errorf("DOCKER_CONFIG: %v", err)
	}

	t.Setenv("DOCKER_CONFIG", t.TempDir())
	_, err := open(t, reg.Repo("kh"), Options{}).Resolve(ctx, Query{BuildID: a.BuildID})
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("no credentials: %v, want ErrUnauthorized", err)
	}
	oneLineErr(t, err, "unauthorized", "none are configured")

	bad := reg.AuthFile(t, user, "wrong-"+password)
	_, err = open(t, reg.Repo("kh"), Options{AuthFile: bad}).Resolve(ctx, Query{BuildID: a.BuildID})
	if !errors.Is(err, ErrUnauthorized) {
		t.Errorf("wrong credentials: %v, want ErrUnauthorized", err)
	}
	oneLineErr(t, err, "unauthorized", bad)
	if strings.Contains(err.Error(), password) {
		t.Errorf("the error shows the password: %v", err)
	}
	_, err = open(t, reg.Repo("kh"), Options{AuthFile: bad}).Push(ctx, a, PushOptions{})
	if !errors.Is(err, ErrUnauthorized) || strings.Contains(err.Error(), password) {
		t.Errorf("push with wrong credentials: %v", err)
	}
}

func TestTLS(t *testing.T) {
	reg := regtest.Start(t, regtest.Options{TLS: true})
	a := testArtifact(t, "arm64")
	a.BTF, a.Config = nil, nil
	ctx := context.Background()
	repo := open(t, reg.Repo("kh"), Options{CAFile: reg.CAFile})
	if _, err := repo.Push(ctx, a, PushOptions{}); err != nil {
		t.Fatalf("push over TLS: %v", err)
	}
	if repo.remote.PlainHTTP {
		t.Error("a TLS registry on loopback was reached over plain HTTP")
	}
	_, data, err := repo.Pull(ctx, Query{BuildID: a.BuildID})
	if err != nil || !bytes.Equal(data[Headers], a.Headers) {
		t.Fatalf("pull over TLS: %v", err)
	}
	// Without the CA the certificate is not trusted: no fallback.
	_, err = open(t, reg.Repo("kh"), Options{}).Resolve(ctx, Query{BuildID: a.BuildID})
	oneLineErr(t, err, "certificate")
	if !errors.Is(err, ErrCertificate) {
		t.Errorf("untrusted certificate: %v, want ErrCertificate", err)
	}
	if _, err := Open(reg.Repo("kh"), Options{CAFile: filepath.Join(t.TempDir(), "none.pem")}); err == nil {
		t.Error("a missing CA file was accepted")
	}
}

func TestRegistryDown(t *testing.T) {
	reg := regtest.Start(t, regtest.Options{})
	reg.Stop()
	_, err := open(t, reg.Repo("kh"), Options{}).Resolve(context.Background(), Query{BuildID: strings.Repeat("ab", 20)})
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("registry down: %v, want ErrUnreachable", err)
	}
	oneLineErr(t, err, reg.Addr, "connection refused")
}

func TestBuildIDMismatch(t *testing.T) {
	reg := regtest.Start(t, regtest.Options{})
	repo := open(t, reg.Repo("kh"), Options{})
	a := testArtifact(t, "x86_64")
	a.Headers, a.BTF = nil, nil
	ctx := context.Background()
	if _, err := repo.Push(ctx, a, PushOptions{}); err != nil {
		t.Fatal(err)
	}
	// Tag the artifact under another kernel's build ID, as a careless or
	// hostile publisher could.
	other := strings.TrimSpace(string(testArtifact(t, "arm64").BuildID))
	_, raw, err := a.manifest()
	if err != nil {
		t.Fatal(err)
	}
	rr, _ := repo.repo(ctx)
	desc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, raw)
	if err := rr.PushReference(ctx, desc, bytes.NewReader(raw), BuildIDTag(other)); err != nil {
		t.Fatal(err)
	}
	_, err = repo.Resolve(ctx, Query{BuildID: other})
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("mismatching build ID: %v, want a *MismatchError", err)
	}
	oneLineErr(t, err, "buildid-"+other, "its build ID is \""+a.BuildID)
	// Annotations a publisher made up: a release with a newline.
	evil := *a
	evil.Release, evil.BuildID = "6.1.192\nkh: all good", strings.Repeat("e7", 20)
	_, raw, err = evil.manifest()
	if err != nil {
		t.Fatal(err)
	}
	edesc := content.NewDescriptorFromBytes(ocispec.MediaTypeImageManifest, raw)
	if err := rr.PushReference(ctx, edesc, bytes.NewReader(raw), BuildIDTag(evil.BuildID)); err != nil {
		t.Fatal(err)
	}
	_, err = repo.Resolve(ctx, Query{BuildID: evil.BuildID})
	if !errors.As(err, &me) {
		t.Fatalf("malformed annotations: %v, want a *MismatchError", err)
	}
	oneLineErr(t, err, "malformed")
	// List shows only the honest tag.
	list, err := repo.List(ctx)
	if err != nil || len(list) != 1 || list[0].BuildID != a.BuildID {
		t.Errorf("list: %+v, %v", list, err)
	}
	// The release tag names a release: asking for another arch's fails.
	if err := rr.Tag(ctx, desc, ReleaseTag(a.Release, "arm64")); err != nil {
		t.Fatal(err)
	}
	_, err = repo.Resolve(ctx, Query{Release: a.Release, Arch: "arm64"})
	if !errors.As(err, &me) {
		t.Errorf("release tag of another arch: %v, want a *MismatchError", err)
	}
}

func TestCorruptBlob(t *testing.T) {
	reg := regtest.Start(t, regtest.Options{})
	repo := open(t, reg.Repo("kh"), Options{})
	a := testArtifact(t, "arm64")
	a.BTF = nil
	ctx := context.Background()
	res, err := repo.Push(ctx, a, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := res.Layer(Headers)
	p := reg.BlobPath(l.Digest)
	data, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("the registry's storage has no blob file: %v", err)
	}
	data[len(data)/2] ^= 0x40 // same size, one bit changed
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	e, err := repo.Resolve(ctx, Query{BuildID: a.BuildID})
	if err != nil {
		t.Fatal(err)
	}
	_, err = repo.Fetch(ctx, e, Headers)
	oneLineErr(t, err, l.Digest, "do not match their digest")
	if _, err := repo.Fetch(ctx, e, Config); err != nil {
		t.Errorf("an intact layer of the same artifact: %v", err)
	}
	// A shorter blob is refused too.
	if err := os.WriteFile(p, data[:len(data)-100], 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = repo.Fetch(ctx, e, Headers)
	oneLineErr(t, err, l.Digest)
}

// TestRegistryStopsMidPull stops the registry while it sends the headers
// layer: a proxy in front of it passes half of the blob, stops the
// registry and cuts the connection.
func TestRegistryStopsMidPull(t *testing.T) {
	reg := regtest.Start(t, regtest.Options{})
	a := testArtifact(t, "x86_64")
	ctx := context.Background()
	res, err := open(t, reg.Repo("kh"), Options{}).Push(ctx, a, PushOptions{})
	if err != nil {
		t.Fatal(err)
	}
	l, _ := res.Layer(Headers)
	proxy := regtest.StopMidBlob(t, reg, l.Digest, l.Size/2)
	repo := open(t, proxy+"/kh", Options{})
	_, _, err = repo.Pull(ctx, Query{BuildID: a.BuildID}, Headers)
	oneLineErr(t, err, l.Digest)
	if !errors.Is(err, ErrUnreachable) {
		t.Errorf("mid-pull stop: %v, want ErrUnreachable", err)
	}
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}
