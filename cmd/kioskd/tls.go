package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/ui"
)

// HTTPS and the loopback listener ([http] tls_cert, tls_key and admin).
//
// With tls_cert and tls_key, [http] listen serves HTTPS (TLS 1.2 or
// later): the console's passwords and the children's data stay off the
// wire, and parents' phones get the secure context a browser requires
// before it opens the camera (W3C Media Capture, getUserMedia). The pair
// is read at start (a bad pair stops the start) and read again on the
// first handshake after either file changes (a renewal by certbot or
// acme.sh needs no restart); a pair that then fails to load is logged and
// the previous one kept.
//
// [http] admin, when set, is a second, plain-HTTP listener on loopback
// with the same handler: kioskctl's address, and the kiosk's own screen
// (http://127.0.0.1 is a secure context too), neither of which can check a
// certificate made for the school's domain.
//
// Without TLS on an address other than loopback, the start banner and the
// log warn that everything crosses the network in clear.

// certWarnBefore is how long before its end a certificate is warned about.
const certWarnBefore = 14 * 24 * time.Hour

// listenTLSAndAdmin wraps m.httpLn in TLS when [http] has a key pair and
// binds [http] admin when set; it returns the function that starts
// serving h on the admin listener (a no-op without one). Both listeners
// close when ctx ends. On error m.httpLn stays the plain listener, for
// Close to release.
func (m *Main) listenTLSAndAdmin(ctx context.Context) (serveAdmin func(h http.Handler), err error) {
	h := m.Config.HTTP
	log := m.Logger
	if h.TLS() {
		certs, err := newCertReloader(h, log)
		if err != nil {
			return nil, fmt.Errorf("http tls: %w", err)
		}
		m.httpLn = tls.NewListener(m.httpLn, &tls.Config{
			MinVersion:     tls.VersionTLS12,
			GetCertificate: certs.get,
			// HTTP/1.1 only: the kiosk screen's and the parents' pages'
			// websockets upgrade an HTTP/1.1 connection.
			NextProtos: []string{"http/1.1"},
		})
	}
	if h.Admin == "" {
		return func(http.Handler) {}, nil
	}
	ln, err := net.Listen("tcp", h.Admin)
	if err != nil {
		return nil, fmt.Errorf("http admin: %w", err)
	}
	srv := &http.Server{ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: ui.MaxHeaderBytes}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		<-ctx.Done()
		srv.Close()
		ln.Close()
	}()
	return func(hd http.Handler) {
		srv.Handler = hd
		m.wg.Add(1)
		go func() {
			defer m.wg.Done()
			if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && ctx.Err() == nil {
				log.Error("http admin stopped", "err", err)
			}
		}()
	}, nil
}

// httpScheme is "https" when [http] serves TLS, else "http".
func (m *Main) httpScheme() string {
	if m.Config.HTTP.TLS() {
		return "https"
	}
	return "http"
}

// plainHTTPWarning writes the start banner's warning, and logs it, when
// [http] listen is not loopback and serves plain HTTP; it says nothing
// otherwise.
func (m *Main) plainHTTPWarning(w io.Writer) {
	h := m.Config.HTTP
	if h.TLS() || h.Loopback() {
		return
	}
	fmt.Fprintf(w, "  WARNING: %s is not loopback and serves plain HTTP (no [http] tls_cert/tls_key):\n", h.Listen)
	fmt.Fprintln(w, "           console passwords and children's data cross the network unencrypted, and")
	fmt.Fprintln(w, "           parents' phones cannot open the camera on an http:// page (browsers need HTTPS).")
	fmt.Fprintln(w, "           Set tls_cert and tls_key, or listen on 127.0.0.1 behind an HTTPS reverse proxy.")
	fmt.Fprintln(w, "  警告：控制台密码和学生信息以明文在网络上传输，家长手机也无法在 http:// 页面打开摄像头。请配置 HTTPS 证书。")
	m.Logger.Warn("http serves plain http on a non-loopback address: passwords and children's data are unencrypted, parents' phones cannot use the camera",
		"listen", h.Listen)
}

// certReloader hands out the [http] key pair, loading it again when the
// files change.
type certReloader struct {
	h   config.HTTP
	log *slog.Logger

	mu    sync.Mutex
	cert  *tls.Certificate
	stamp string // the files' sizes and modification times when loaded
}

func newCertReloader(h config.HTTP, log *slog.Logger) (*certReloader, error) {
	r := &certReloader{h: h, log: log}
	stamp, err := r.stat()
	if err != nil {
		return nil, err
	}
	if err := r.load(stamp); err != nil {
		return nil, err
	}
	return r, nil
}

// stat identifies the files' current contents by size and mtime.
func (r *certReloader) stat() (string, error) {
	var s string
	for _, p := range []string{r.h.TLSCert, r.h.TLSKey} {
		fi, err := os.Stat(p)
		if err != nil {
			return "", err
		}
		s += fmt.Sprintf("%d/%d;", fi.Size(), fi.ModTime().UnixNano())
	}
	return s, nil
}

// load reads the pair, keeps it with stamp and warns about its validity.
func (r *certReloader) load(stamp string) error {
	c, err := r.h.LoadTLS()
	if err != nil {
		return err
	}
	r.cert, r.stamp = &c, stamp
	now := time.Now()
	switch leaf := c.Leaf; {
	case now.After(leaf.NotAfter):
		r.log.Warn("http tls certificate has expired: browsers will refuse it", "not_after", leaf.NotAfter, "file", r.h.TLSCert)
	case now.Before(leaf.NotBefore):
		r.log.Warn("http tls certificate is not valid yet (is the clock right?)", "not_before", leaf.NotBefore, "file", r.h.TLSCert)
	case leaf.NotAfter.Sub(now) < certWarnBefore:
		r.log.Warn("http tls certificate expires soon", "not_after", leaf.NotAfter, "file", r.h.TLSCert)
	default:
		r.log.Info("http tls certificate loaded", "not_after", leaf.NotAfter, "names", leaf.DNSNames)
	}
	return nil
}

// get is tls.Config.GetCertificate: the current pair, after loading the
// files again if they changed since.
func (r *certReloader) get(*tls.ClientHelloInfo) (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	stamp, err := r.stat()
	if err == nil && stamp != r.stamp {
		if err := r.load(stamp); err != nil {
			// Half-written during a renewal, or wrong: keep serving the
			// old pair until the files change again.
			r.stamp = stamp
			r.log.Error("http tls: reload certificate, keeping the previous one", "err", err)
		}
	}
	return r.cert, nil
}
