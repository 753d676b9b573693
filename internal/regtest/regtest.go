// Package regtest runs a real OCI registry for tests: Debian's
// docker-registry (CNCF distribution 2.8, /usr/bin/docker-registry) on
// 127.0.0.1 on a free port, with its own configuration file and a
// filesystem storage directory in the test's temporary directory,
// optionally with htpasswd basic authentication (apache2-utils'
// htpasswd -B) and TLS (a CA and a server certificate made by the test
// with crypto/x509). The registry is stopped when the test ends.
//
// Without docker-registry (or htpasswd, for authentication) the test
// skips, or fails under KH_STRICT=1.
package regtest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/khtool/kh/internal/testkernel"
)

// Options configure Start.
type Options struct {
	// User and Password, if set, turn on htpasswd basic authentication.
	User, Password string
	// TLS serves HTTPS with a certificate signed by a CA made for this
	// registry (CAFile).
	TLS bool
}

// Registry is a running docker-registry.
type Registry struct {
	// Addr is "127.0.0.1:PORT".
	Addr string
	// Storage is the filesystem storage root directory.
	Storage string
	// CAFile is the PEM file of the CA that signed the server
	// certificate (TLS only).
	CAFile string
	// Config is the registry's configuration file.
	Config string

	opts Options
	cmd  *exec.Cmd
	done chan struct{}
	log  *bytes.Buffer
}

// Start starts a registry and registers its stop with t.Cleanup. It
// skips the test (fails it under KH_STRICT=1) without docker-registry,
// or without htpasswd when Options.User is set.
func Start(t testing.TB, opts Options) *Registry {
	t.Helper()
	testkernel.NeedTool(t, "docker-registry")
	if opts.User != "" {
		testkernel.NeedTool(t, "htpasswd")
	}
	r, err := Run(t.TempDir(), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(r.Stop)
	return r
}

// Run starts a registry whose files (configuration, storage, certificates)
// live in dir, and waits until it answers. The caller stops it.
func Run(dir string, opts Options) (*Registry, error) {
	bin, err := exec.LookPath("docker-registry")
	if err != nil {
		return nil, err
	}
	r := &Registry{opts: opts, Storage: filepath.Join(dir, "storage"), Config: filepath.Join(dir, "config.yml")}
	var cfg strings.Builder
	cfg.WriteString("version: 0.1\nlog:\n  level: warn\n  accesslog:\n    disabled: true\n")
	fmt.Fprintf(&cfg, "storage:\n  filesystem:\n    rootdirectory: %s\n  delete:\n    enabled: true\n", r.Storage)
	if opts.User != "" {
		out, err := exec.Command("htpasswd", "-Bbn", opts.User, opts.Password).Output()
		if err != nil {
			return nil, fmt.Errorf("htpasswd: %w", err)
		}
		pw := filepath.Join(dir, "htpasswd")
		if err := os.WriteFile(pw, bytes.TrimSpace(out), 0o600); err != nil {
			return nil, err
		}
		fmt.Fprintf(&cfg, "auth:\n  htpasswd:\n    realm: kh-test\n    path: %s\n", pw)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	r.Addr = fmt.Sprintf("127.0.0.1:%d", port)
	fmt.Fprintf(&cfg, "http:\n  addr: %s\n  secret: kh-regtest-%d\n", r.Addr, port)
	if opts.TLS {
		r.CAFile = filepath.Join(dir, "ca.pem")
		cert, key := filepath.Join(dir, "server.pem"), filepath.Join(dir, "server-key.pem")
		if err := makeCerts(r.CAFile, cert, key); err != nil {
			return nil, err
		}
		fmt.Fprintf(&cfg, "  tls:\n    certificate: %s\n    key: %s\n", cert, key)
	}
	if err := os.WriteFile(r.Config, []byte(cfg.String()), 0o600); err != nil {
		return nil, err
	}
	r.log = &bytes.Buffer{}
	r.cmd = exec.Command(bin, "serve", r.Config)
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	// Nothing from the environment may override the configuration.
	r.cmd.Env = []string{"PATH=/usr/bin:/bin"}
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := r.cmd.Start(); err != nil {
		return nil, fmt.Errorf("start docker-registry: %w", err)
	}
	r.done = make(chan struct{})
	go func() { r.cmd.Wait(); close(r.done) }()
	if err := r.waitReady(); err != nil {
		r.Stop()
		return nil, err
	}
	return r, nil
}

// Repo returns the repository reference ADDR/name.
func (r *Registry) Repo(name string) string { return r.Addr + "/" + name }

// Stop stops the registry (idempotent).
func (r *Registry) Stop() {
	select {
	case <-r.done:
		return
	default:
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-r.done
	}
}

// Log returns what the registry wrote to its standard output and error.
func (r *Registry) Log() string { return r.log.String() }

// BlobPath returns the storage file of a blob ("sha256:HEX").
func (r *Registry) BlobPath(digest string) string {
	hex := strings.TrimPrefix(digest, "sha256:")
	return filepath.Join(r.Storage, "docker/registry/v2/blobs/sha256", hex[:2], hex, "data")
}

// waitReady polls /v2/ until the registry answers (200, or 401 with
// authentication).
func (r *Registry) waitReady() error {
	scheme := "http"
	client := &http.Client{Timeout: 2 * time.Second}
	if r.opts.TLS {
		scheme = "https"
		pem, err := os.ReadFile(r.CAFile)
		if err != nil {
			return err
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		client.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	}
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := client.Get(scheme + "://" + r.Addr + "/v2/")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK || resp.StatusCode == http.StatusUnauthorized {
				return nil
			}
		}
		select {
		case <-r.done:
			return fmt.Errorf("docker-registry exited: %s", r.Log())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("docker-registry did not answer on %s: %v; log: %s", r.Addr, err, r.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// makeCerts writes a self-signed CA and a server certificate for
// 127.0.0.1 and localhost signed by it.
func makeCerts(caFile, certFile, keyFile string) error {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "kh test CA"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return err
	}
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return err
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	for _, f := range []struct {
		path, typ string
		der       []byte
	}{{caFile, "CERTIFICATE", caDER}, {certFile, "CERTIFICATE", der}, {keyFile, "EC PRIVATE KEY", keyDER}} {
		if err := os.WriteFile(f.path, pem.EncodeToMemory(&pem.Block{Type: f.typ, Bytes: f.der}), 0o600); err != nil {
			return err
		}
	}
	return nil
}

// AuthFile writes a docker config.json holding user:password for the
// registry and returns its path.
func (r *Registry) AuthFile(t testing.TB, user, password string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "config.json")
	auth := base64.StdEncoding.EncodeToString([]byte(user + ":" + password))
	data := fmt.Sprintf(`{"auths":{%q:{"auth":%q}}}`, r.Addr, auth)
	if err := os.WriteFile(p, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
