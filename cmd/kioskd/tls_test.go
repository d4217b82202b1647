package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/config"
)

// testPair is a self-signed certificate for 127.0.0.1 and localhost,
// written as PEM files.
type testPair struct {
	cert     *x509.Certificate
	certFile string
	keyFile  string
}

// newTestPair makes a self-signed ECDSA P-256 certificate with serial in
// dir, valid from an hour ago for a day.
func newTestPair(t *testing.T, dir string, serial int64) testPair {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial),
		Subject:      pkix.Name{CommonName: "kiosk test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1)},
		DNSNames:     []string{"localhost"},
		IsCA:         true,

		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	kb, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	p := testPair{cert: cert,
		certFile: filepath.Join(dir, "cert"+big.NewInt(serial).String()+".pem"),
		keyFile:  filepath.Join(dir, "key"+big.NewInt(serial).String()+".pem")}
	require.NoError(t, os.WriteFile(p.certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644))
	require.NoError(t, os.WriteFile(p.keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600))
	return p
}

// startTLSDemo starts the demo with listen on addr and tweak applied; its
// banner goes to out and its log to logs.
func startTLSDemo(t *testing.T, addr string, tweak func(*config.Config)) (m *Main, out *bytes.Buffer, logs *lockedBuffer) {
	t.Helper()
	m = NewMain()
	m.Demo = true
	m.DataDir = t.TempDir()
	m.HTTPAddr = addr
	m.SIPAddr = "127.0.0.1:0"
	out, logs = &bytes.Buffer{}, &lockedBuffer{}
	m.Stdout = out
	m.Logger = slog.New(slog.NewTextHandler(logs, nil))
	m.Tweak = tweak
	require.NoError(t, m.Run(context.Background()))
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		m.Close(ctx)
	})
	return m, out, logs
}

// tlsClient trusts the given certificates only and speaks TLS up to max
// (0: the newest); each request opens a new connection, so that a
// reloaded certificate is seen.
func tlsClient(max uint16, certs ...*x509.Certificate) *http.Client {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	cfg := &tls.Config{RootCAs: pool, MaxVersion: max}
	if max != 0 && max < tls.VersionTLS12 {
		cfg.MinVersion = tls.VersionTLS10 // the client's own default floor is 1.2
	}
	return &http.Client{
		Transport:     &http.Transport{DisableKeepAlives: true, TLSClientConfig: cfg},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// freeLoopbackAddr returns a loopback address with a port that was free a
// moment ago.
func freeLoopbackAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())
	return addr
}

// TestConsoleOverHTTPS: with [http] tls_cert and tls_key the daemon serves
// the console over HTTPS only (TLS 1.2 or later), its login cookie is
// Secure, its URLs say https://, a renewed pair is served without a
// restart, and [http] admin serves plain HTTP on loopback.
func TestConsoleOverHTTPS(t *testing.T) {
	dir := t.TempDir()
	first := newTestPair(t, dir, 1)
	admin := freeLoopbackAddr(t)
	m, out, _ := startTLSDemo(t, "127.0.0.1:0", func(c *config.Config) {
		c.HTTP.TLSCert, c.HTTP.TLSKey, c.HTTP.Admin = first.certFile, first.keyFile, admin
	})
	base := m.HTTPURL()
	require.True(t, strings.HasPrefix(base, "https://127.0.0.1:"), "HTTPURL %q says https", base)
	assert.Contains(t, out.String(), "console:       "+base+"/console/")
	assert.NotContains(t, out.String(), "WARNING", "loopback with TLS: no warning")

	res, err := tlsClient(0, first.cert).Get(base + "/console/login")
	require.NoError(t, err)
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.NotNil(t, res.TLS)
	assert.GreaterOrEqual(t, res.TLS.Version, uint16(tls.VersionTLS12))
	assert.Equal(t, first.cert.SerialNumber, res.TLS.PeerCertificates[0].SerialNumber)
	assert.Contains(t, string(body), `name="csrf"`, "the login form")
	var cookies []string
	for _, c := range res.Cookies() {
		cookies = append(cookies, c.Name)
		assert.True(t, c.Secure, "cookie %s is Secure over TLS", c.Name)
	}
	assert.NotEmpty(t, cookies, "the login form sets its CSRF cookie")

	t.Run("TLS 1.1 refused", func(t *testing.T) {
		_, err := tlsClient(tls.VersionTLS11, first.cert).Get(base + "/console/login")
		require.Error(t, err)
		var alert tls.AlertError
		assert.True(t, errors.As(err, &alert) || strings.Contains(err.Error(), "protocol version"), "a protocol version alert, got %v", err)
	})
	t.Run("plain HTTP on the TLS port refused", func(t *testing.T) {
		res, err := http.Get(strings.Replace(base, "https://", "http://", 1) + "/console/login")
		if err == nil {
			res.Body.Close()
			assert.Equal(t, http.StatusBadRequest, res.StatusCode, "Go answers 400 to HTTP on a TLS port")
		}
	})
	t.Run("the admin listener serves plain HTTP on loopback", func(t *testing.T) {
		res, err := http.Get("http://" + admin + "/healthz")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode)
		res, err = http.Get("http://" + admin + "/console/login")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, http.StatusOK, res.StatusCode)
	})
	t.Run("a renewed pair is served without a restart", func(t *testing.T) {
		second := newTestPair(t, dir, 2)
		for _, f := range [][2]string{{second.certFile, first.certFile}, {second.keyFile, first.keyFile}} {
			b, err := os.ReadFile(f[0])
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(f[1], b, 0o600))
			later := time.Now().Add(time.Minute) // a new mtime even on a coarse clock
			require.NoError(t, os.Chtimes(f[1], later, later))
		}
		res, err := tlsClient(0, first.cert, second.cert).Get(base + "/console/login")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, second.cert.SerialNumber, res.TLS.PeerCertificates[0].SerialNumber)

		// A broken renewal keeps the last good pair.
		require.NoError(t, os.WriteFile(first.keyFile, []byte("not a key"), 0o600))
		res, err = tlsClient(0, first.cert, second.cert).Get(base + "/console/login")
		require.NoError(t, err)
		res.Body.Close()
		assert.Equal(t, second.cert.SerialNumber, res.TLS.PeerCertificates[0].SerialNumber)
	})
}

// TestTLSConfigProblems: the example config with [http] tls_cert and
// tls_key set in turn to a good pair and to broken ones; every problem is
// listed on its key's line, and kioskd refuses to start.
func TestTLSConfigProblems(t *testing.T) {
	dir := t.TempDir()
	a := newTestPair(t, dir, 1)
	b := newTestPair(t, dir, 2)
	notPEM := filepath.Join(dir, "not.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o644))
	missing := filepath.Join(dir, "missing.pem")
	example, err := os.ReadFile(filepath.Join("..", "..", "firmware-config", "kiosk.example.toml"))
	require.NoError(t, err)
	const certLine, keyLine = `tls_cert = ""`, `tls_key = ""`
	require.Contains(t, string(example), certLine)
	require.Contains(t, string(example), keyLine)
	lineOf := func(doc, prefix string) int {
		for i, l := range strings.Split(doc, "\n") {
			if strings.HasPrefix(l, prefix) {
				return i + 1
			}
		}
		return 0
	}

	tests := []struct {
		name      string
		cert, key string
		want      []string // "key: text" of each problem, in line order
	}{
		{"good pair", a.certFile, a.keyFile, nil},
		{"missing key file", a.certFile, missing, []string{"http.tls_key: cannot read the private key"}},
		{"mismatched pair", a.certFile, b.keyFile, []string{"http.tls_key: ", "private key does not match public key"}},
		{"key only", "", a.keyFile, []string{"http.tls_cert: missing: tls_key is set"}},
		{"cert only", a.certFile, "", []string{"http.tls_key: missing: tls_cert is set"}},
		{"not a certificate", notPEM, a.keyFile, []string{"http.tls_cert: ", "no PEM CERTIFICATE block"}},
		{"both files missing", missing, missing + "2", []string{"http.tls_cert: cannot read the certificate", "http.tls_key: cannot read the private key"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(string(example), certLine, `tls_cert = "`+tc.cert+`"`, 1)
			doc = strings.Replace(doc, keyLine, `tls_key = "`+tc.key+`"`, 1)
			c, err := config.Parse("kiosk.toml", []byte(doc))
			if tc.want == nil {
				require.NoError(t, err)
				assert.True(t, c.HTTP.TLS())
				return
			}
			var ps *config.Problems
			require.ErrorAs(t, err, &ps)
			var msgs []string
			for _, p := range *ps {
				msgs = append(msgs, p.String())
			}
			all := strings.Join(msgs, "\n")
			for _, w := range tc.want {
				assert.Contains(t, all, w)
			}
			for _, p := range *ps {
				switch {
				case strings.Contains(p.Message, "http.tls_cert:") && tc.cert != "":
					assert.Equal(t, lineOf(doc, "tls_cert ="), p.Line, "on tls_cert's line: %s", p)
				case strings.Contains(p.Message, "http.tls_key:") && tc.key != "":
					assert.Equal(t, lineOf(doc, "tls_key ="), p.Line, "on tls_key's line: %s", p)
				}
			}
		})
	}

	t.Run("kioskd refuses to start", func(t *testing.T) {
		doc := strings.Replace(string(example), certLine, `tls_cert = "`+a.certFile+`"`, 1)
		doc = strings.Replace(doc, keyLine, `tls_key = "`+b.keyFile+`"`, 1)
		path := filepath.Join(t.TempDir(), "kiosk.toml")
		require.NoError(t, os.WriteFile(path, []byte(doc), 0o644))
		m := NewMain()
		m.ConfigPath = path
		m.DataDir = t.TempDir()
		m.Stdout = io.Discard
		err := m.Run(context.Background())
		var ps *config.Problems
		require.ErrorAs(t, err, &ps)
		assert.Contains(t, ps.Error(), "http.tls_key")
		_, statErr := os.Stat(filepath.Join(m.DataDir, "kiosk.db"))
		assert.True(t, os.IsNotExist(statErr), "nothing started")
	})
}

// TestPlainHTTPWarning: a listen address off loopback without TLS warns
// in the banner and the log; loopback, or TLS, does not.
func TestPlainHTTPWarning(t *testing.T) {
	pair := newTestPair(t, t.TempDir(), 1)
	tests := []struct {
		name string
		addr string
		tls  bool
		warn bool
	}{
		{"all interfaces, plain", "0.0.0.0:0", false, true},
		{"loopback, plain", "127.0.0.1:0", false, false},
		{"all interfaces, TLS", "0.0.0.0:0", true, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m, out, logs := startTLSDemo(t, tc.addr, func(c *config.Config) {
				if tc.tls {
					c.HTTP.TLSCert, c.HTTP.TLSKey = pair.certFile, pair.keyFile
				}
			})
			banner := out.String()
			if !tc.warn {
				assert.NotContains(t, banner, "WARNING")
				assert.NotContains(t, logs.String(), "plain http")
				return
			}
			assert.Contains(t, banner, "WARNING: "+tc.addr+" is not loopback and serves plain HTTP")
			assert.Contains(t, banner, "children's data cross the network unencrypted")
			assert.Contains(t, banner, "cannot open the camera")
			assert.Regexp(t, `level=WARN msg="http serves plain http on a non-loopback address`, logs.String())
			assert.True(t, strings.HasPrefix(m.HTTPURL(), "http://"))
		})
	}
}
