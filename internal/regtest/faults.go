package regtest

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// StopMidBlob starts an HTTP proxy on 127.0.0.1 in front of r (plain
// HTTP) that passes the first n bytes of the blob with digest d, then
// stops the registry and drops the connection: a registry that dies in
// the middle of a pull. It returns the proxy's host:port.
func StopMidBlob(t testing.TB, r *Registry, d string, n int64) string {
	t.Helper()
	target, err := url.Parse("http://" + r.Addr)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(target)
	var once sync.Once
	rp.ModifyResponse = func(resp *http.Response) error {
		if resp.Request.Method == http.MethodGet && strings.HasSuffix(resp.Request.URL.Path, "/blobs/"+d) {
			resp.Body = &cutBody{r: resp.Body, left: n, cut: func() { once.Do(r.Stop) }}
		}
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return strings.TrimPrefix(srv.URL, "http://")
}

type cutBody struct {
	r    io.ReadCloser
	left int64
	cut  func()
}

func (b *cutBody) Read(p []byte) (int, error) {
	if b.left <= 0 {
		b.cut()
		panic(http.ErrAbortHandler) // the proxy drops the client's connection
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.r.Read(p)
	b.left -= int64(n)
	return n, err
}

func (b *cutBody) Close() error { return b.r.Close() }

// Retag points tag of repository repo at the manifest with digest d,
// through the registry's own HTTP API (plain HTTP, no authentication),
// as any publisher could.
func (r *Registry) Retag(repo, d, tag string) error {
	const mt = "application/vnd.oci.image.manifest.v1+json"
	base := "http://" + r.Addr + "/v2/" + repo + "/manifests/"
	req, _ := http.NewRequest(http.MethodGet, base+d, nil)
	req.Header.Set("Accept", mt)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get manifest %s: %v %s", d, err, resp.Status)
	}
	req, _ = http.NewRequest(http.MethodPut, base+tag, bytes.NewReader(body))
	req.Header.Set("Content-Type", mt)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		return fmt.Errorf("put manifest %s: %s", tag, resp.Status)
	}
	return nil
}
