package config

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net"
	"net/netip"
	"os"
)

// TLS reports whether [http] serves HTTPS: tls_cert and tls_key both set.
func (h HTTP) TLS() bool { return h.TLSCert != "" && h.TLSKey != "" }

// Loopback reports whether Listen's host is a loopback address
// (127.0.0.0/8, ::1) or "localhost", so that nothing it serves crosses
// the network. An empty host, 0.0.0.0, :: or any other name or address is
// not loopback.
func (h HTTP) Loopback() bool {
	host, _, err := net.SplitHostPort(h.Listen)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

// LoadTLS reads tls_cert and tls_key and returns the key pair, the leaf
// certificate parsed (Leaf set). Errors name the file and the step: the
// file cannot be read, holds no PEM CERTIFICATE block, the certificate
// does not parse, or the key does not load or match it. It is what
// Validate checks and what kioskd serves.
func (h HTTP) LoadTLS() (tls.Certificate, error) {
	certPEM, key, err := h.readTLS()
	if err != nil {
		return tls.Certificate{}, err
	}
	leaf, err := parseLeaf(h.TLSCert, certPEM)
	if err != nil {
		return tls.Certificate{}, err
	}
	pair, err := tls.X509KeyPair(certPEM, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("key %s with certificate %s: %w", h.TLSKey, h.TLSCert, err)
	}
	pair.Leaf = leaf
	return pair, nil
}

func (h HTTP) readTLS() (cert, key []byte, err error) {
	if cert, err = os.ReadFile(h.TLSCert); err != nil {
		return nil, nil, fmt.Errorf("read certificate: %w", err)
	}
	if key, err = os.ReadFile(h.TLSKey); err != nil {
		return nil, nil, fmt.Errorf("read key: %w", err)
	}
	return cert, key, nil
}

// parseLeaf parses the first certificate of a PEM file.
func parseLeaf(name string, b []byte) (*x509.Certificate, error) {
	for {
		var blk *pem.Block
		blk, b = pem.Decode(b)
		if blk == nil {
			return nil, fmt.Errorf("certificate %s: no PEM CERTIFICATE block", name)
		}
		if blk.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(blk.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %s: %w", name, err)
		}
		return c, nil
	}
}

// tls checks [http] tls_cert and tls_key: both or neither; each file
// readable; the first as a PEM certificate, the second a PEM private key
// that matches it (crypto/tls.X509KeyPair). Each problem is reported on
// its own key. A certificate out of its validity period is not a problem
// here (kioskd warns at start): a renewal must not stop the station.
func (v *validator) tls() {
	h := v.c.HTTP
	switch {
	case h.TLSCert == "" && h.TLSKey == "":
		return
	case h.TLSCert == "":
		v.add("http.tls_cert", "missing: tls_key is set; want both PEM files (certificate and key) or neither")
		return
	case h.TLSKey == "":
		v.add("http.tls_key", "missing: tls_cert is set; want both PEM files (certificate and key) or neither")
		return
	}
	certPEM, errC := os.ReadFile(h.TLSCert)
	if errC != nil {
		v.add("http.tls_cert", "cannot read the certificate: %v", errC)
	}
	keyPEM, errK := os.ReadFile(h.TLSKey)
	if errK != nil {
		v.add("http.tls_key", "cannot read the private key: %v", errK)
	}
	if errC != nil {
		return
	}
	if _, err := parseLeaf(h.TLSCert, certPEM); err != nil {
		v.add("http.tls_cert", "%v: want a PEM certificate (chain), leaf first", err)
		return
	}
	if errK != nil {
		return
	}
	if _, err := tls.X509KeyPair(certPEM, keyPEM); err != nil {
		v.add("http.tls_key", "%q does not load with the certificate %q: %v", h.TLSKey, h.TLSCert, err)
	}
}
