package registry

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"oras.land/oras-go/v2/registry"
	"oras.land/oras-go/v2/registry/remote"
	"oras.land/oras-go/v2/registry/remote/auth"
	"oras.land/oras-go/v2/registry/remote/credentials"
)

// Options configure Open. The zero value uses HTTPS with the system's
// roots and the credentials of the usual files.
type Options struct {
	// Insecure talks plain HTTP (no TLS) to a registry that is not on
	// loopback, as oras' --plain-http does. (A loopback registry gets
	// plain HTTP only if it does not speak TLS.) Nothing ever disables
	// certificate verification.
	Insecure bool
	// CAFile is a PEM file of CA certificates to trust in addition to the
	// system's roots.
	CAFile string
	// AuthFile is the credential file (docker's config.json format:
	// "auths", "credsStore", "credHelpers"). If empty, the first of these
	// that exists is used: $REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/
	// containers/auth.json (podman), $DOCKER_CONFIG/config.json,
	// ~/.docker/config.json.
	AuthFile string
	// Log receives a line for each request kind made (never credentials);
	// nil discards them.
	Log *slog.Logger
	// Transport, if set, is the HTTP transport to use instead of one made
	// from CAFile (for tests and proxies).
	Transport http.RoundTripper
}

// Repository is a registry repository that holds kernel artifacts.
type Repository struct {
	// Ref is the repository reference, e.g. "registry.example/kernels/kh".
	Ref string

	ref      registry.Reference
	opts     Options
	log      *slog.Logger
	loopback bool
	client   *auth.Client
	authFile string

	mu     sync.Mutex
	remote *remote.Repository // set once the scheme is known
}

// Error is a failed registry operation.
type Error struct {
	Op   string // "push", "pull", "list", "resolve"
	Repo string
	Err  error
}

func (e *Error) Error() string {
	return fmt.Sprintf("registry %s: %s: %s", e.Repo, e.Op, oneLine(e.Err.Error()))
}

func (e *Error) Unwrap() error { return e.Err }

// Errors that callers can test with errors.Is.
var (
	// ErrNotFound means the registry holds no artifact for the query.
	ErrNotFound = errors.New("no such artifact")
	// ErrUnauthorized means the registry refused the credentials (or
	// wanted some and none were configured).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrUnreachable means the registry could not be reached.
	ErrUnreachable = errors.New("registry unreachable")
	// ErrCertificate means the registry's TLS certificate is not trusted
	// (by the system's roots or Options.CAFile).
	ErrCertificate = errors.New("the registry's TLS certificate is not trusted")
)

// MismatchError means an artifact is not what it was looked up as: its
// build ID, release or arch differs from the query, or its manifest is
// not a kernel artifact kh understands.
type MismatchError struct {
	Ref    string // what was resolved, e.g. "buildid-3f80..."
	Reason string
}

func (e *MismatchError) Error() string {
	return fmt.Sprintf("%s: refusing the artifact: %s", e.Ref, e.Reason)
}

// Open returns the repository ref ("HOST[:PORT]/PATH"). It makes no
// network request.
func Open(ref string, opts Options) (*Repository, error) {
	if ref == "" {
		return nil, errors.New("no registry repository given")
	}
	if strings.Contains(ref, "://") {
		return nil, fmt.Errorf("registry repository %q: give HOST[:PORT]/PATH, without a scheme", ref)
	}
	r, err := registry.ParseReference(ref)
	if err != nil {
		return nil, fmt.Errorf("registry repository %q: %w", ref, err)
	}
	if r.Reference != "" {
		return nil, fmt.Errorf("registry repository %q: give a repository, without a tag or digest", ref)
	}
	log := opts.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	repo := &Repository{Ref: ref, ref: r, opts: opts, log: log, loopback: isLoopback(r.Host())}
	tr := opts.Transport
	if tr == nil {
		tlsConf, err := tlsConfig(opts.CAFile)
		if err != nil {
			return nil, err
		}
		tr = &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           (&net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			TLSClientConfig:       tlsConf,
			TLSHandshakeTimeout:   15 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second,
			MaxIdleConnsPerHost:   4,
			ForceAttemptHTTP2:     true,
		}
	}
	store, path, err := credentialStore(opts.AuthFile)
	if err != nil {
		return nil, err
	}
	repo.authFile = path
	repo.client = &auth.Client{
		Client:     &http.Client{Transport: tr},
		Header:     http.Header{"User-Agent": {"kh"}},
		Cache:      auth.NewCache(),
		Credential: credentials.Credential(store),
	}
	return repo, nil
}

// tlsConfig trusts the system's roots and the certificates of caFile.
func tlsConfig(caFile string) (*tls.Config, error) {
	conf := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return conf, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("CA file %s holds no PEM certificate", caFile)
	}
	conf.RootCAs = pool
	return conf, nil
}

// credentialStore opens the credential file to use.
func credentialStore(explicit string) (credentials.Store, string, error) {
	var candidates []string
	if explicit != "" {
		candidates = []string{explicit}
		if _, err := os.Stat(explicit); err != nil {
			return nil, "", fmt.Errorf("credential file: %w", err)
		}
	} else {
		if v := os.Getenv("REGISTRY_AUTH_FILE"); v != "" {
			candidates = append(candidates, v)
		}
		if v := os.Getenv("XDG_RUNTIME_DIR"); v != "" {
			candidates = append(candidates, filepath.Join(v, "containers", "auth.json"))
		}
		if v := os.Getenv("DOCKER_CONFIG"); v != "" {
			candidates = append(candidates, filepath.Join(v, "config.json"))
		}
		if home, err := os.UserHomeDir(); err == nil {
			candidates = append(candidates, filepath.Join(home, ".docker", "config.json"))
		}
	}
	for _, p := range candidates {
		if _, err := os.Stat(p); err != nil {
			continue
		}
		s, err := credentials.NewStore(p, credentials.StoreOptions{})
		if err != nil {
			// The oras error quotes the path and the JSON problem,
			// never the file's content.
			return nil, "", fmt.Errorf("credential file: %w", err)
		}
		return s, p, nil
	}
	return emptyStore{}, "", nil
}

// emptyStore is the credential store when no credential file exists.
type emptyStore struct{}

func (emptyStore) Get(context.Context, string) (auth.Credential, error) {
	return auth.EmptyCredential, nil
}
func (emptyStore) Put(context.Context, string, auth.Credential) error {
	return errors.New("no credential file")
}
func (emptyStore) Delete(context.Context, string) error { return nil }

// isLoopback reports whether host (with or without a port) is a loopback
// address or localhost.
func isLoopback(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// repo returns the oras repository, deciding first (once) whether to
// use TLS: HTTPS, except plain HTTP with Insecure, and for a registry on
// loopback whose server answers a TLS handshake with plain HTTP.
func (r *Repository) repo(ctx context.Context) (*remote.Repository, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.remote != nil {
		return r.remote, nil
	}
	plain := r.opts.Insecure && !r.loopback
	if r.loopback {
		var err error
		if plain, err = speaksPlainHTTP(ctx, r.ref.Host()); err != nil {
			return nil, err
		}
	}
	if plain {
		r.log.Debug("registry speaks plain HTTP", "registry", r.ref.Host(), "loopback", r.loopback)
	}
	r.remote = &remote.Repository{
		Client:          r.client,
		Reference:       r.ref,
		PlainHTTP:       plain,
		TagListMaxPages: 1000,
	}
	return r.remote, nil
}

// speaksPlainHTTP tries a TLS handshake with hostport: a server that
// answers it with something that is not a TLS record speaks plain HTTP.
func speaksPlainHTTP(ctx context.Context, hostport string) (bool, error) {
	addr := hostport
	if _, _, err := net.SplitHostPort(hostport); err != nil {
		addr = net.JoinHostPort(strings.Trim(hostport, "[]"), "443")
	}
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	d := tls.Dialer{Config: &tls.Config{InsecureSkipVerify: true}} // a probe: nothing is sent over it
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err == nil {
		conn.Close()
		return false, nil
	}
	var rh tls.RecordHeaderError
	if errors.As(err, &rh) {
		return true, nil
	}
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return false, fmt.Errorf("%w: %v", ErrUnreachable, err)
	}
	return false, nil
}
