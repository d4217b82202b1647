package main

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShownURL(t *testing.T) {
	tcp := func(s string) net.Addr {
		a, err := net.ResolveTCPAddr("tcp", s)
		require.NoError(t, err)
		return a
	}
	cidr := func(s string) net.Addr {
		ip, n, err := net.ParseCIDR(s)
		require.NoError(t, err)
		n.IP = ip
		return n
	}
	lan := []net.Addr{cidr("127.0.0.1/8"), cidr("::1/128"), cidr("169.254.3.4/16"), cidr("fe80::1/64"), cidr("192.168.1.20/24"), cidr("10.0.0.2/8")}
	for _, tc := range []struct {
		name     string
		addr     net.Addr
		addrs    []net.Addr
		loopback bool
		want     string
	}{
		{"loopback as it is", tcp("127.0.0.1:18080"), lan, false, "http://127.0.0.1:18080"},
		{"a given address as it is", tcp("192.168.1.20:8080"), lan, false, "http://192.168.1.20:8080"},
		{"every interface: the first LAN IPv4", tcp("[::]:18082"), lan, false, "http://192.168.1.20:18082"},
		{"0.0.0.0 too", tcp("0.0.0.0:18082"), lan, false, "http://192.168.1.20:18082"},
		{"no LAN address: loopback", tcp("[::]:18082"), lan[:4], false, "http://127.0.0.1:18082"},
		{"for kioskctl: loopback", tcp("[::]:18082"), lan, true, "http://127.0.0.1:18082"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.want, shownURL("http", tc.addr, tc.addrs, tc.loopback))
		})
	}
}

// TestBannerKioskctlAddr: a daemon off kioskctl's default port and data
// directory tells the kioskctl command that reaches it.
func TestBannerKioskctlAddr(t *testing.T) {
	m, out, _ := startTLSDemo(t, "127.0.0.1:0", nil)
	banner := out.String()
	want := "go run ./cmd/kioskctl --addr " + m.AdminURL() + " --data " + m.Config.Storage.DataDir
	assert.NotEqual(t, defaultAdminURL, m.AdminURL())
	assert.Contains(t, banner, "tap one with: "+want+" tap UID")
	assert.Contains(t, banner, "then: "+want+" dial 1")
	assert.NotContains(t, banner, "[::]")

	// The command printed works: --addr reaches the admin API.
	code, _ := api(t, m.AdminURL(), m.Config.Storage.DataDir, "GET", "/api/status", nil)
	assert.Equal(t, http.StatusOK, code)
}

// TestBannerEveryInterface: on 0.0.0.0 the banner shows no [::] but a
// host that opens, and kioskctl is told to use 127.0.0.1.
func TestBannerEveryInterface(t *testing.T) {
	m, out, _ := startTLSDemo(t, "0.0.0.0:0", nil)
	banner := out.String()
	assert.NotContains(t, banner, "[::]")
	assert.NotContains(t, banner, "://0.0.0.0")
	assert.Regexp(t, `console:\s+http://\d+\.\d+\.\d+\.\d+:\d+/console/`, banner)
	assert.True(t, strings.HasPrefix(m.AdminURL(), "http://127.0.0.1:"), m.AdminURL())
	assert.Contains(t, banner, "--addr "+m.AdminURL()+" ")
	setup := regexp.MustCompile(`open (\S+/console/setup/\S+)`).FindStringSubmatch(banner)
	require.NotNil(t, setup, "a setup link in: %s", banner)
	resp, err := http.Get(setup[1])
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the printed setup link opens")
}

// TestLongURL: an over-long URL gets an HTTP error, not a dropped
// connection: 414 up to the header limit, Go's 431 above it.
func TestLongURL(t *testing.T) {
	m, _, _ := startTLSDemo(t, "127.0.0.1:0", nil)
	for _, tc := range []struct {
		n    int
		want string
	}{
		{100, "HTTP/1.1 303 See Other"},
		{100 << 10, "HTTP/1.1 414 Request URI Too Long"},
		{2 << 20, "HTTP/1.1 431 Request Header Fields Too Large"},
	} {
		c, err := net.Dial("tcp", m.httpLn.Addr().String())
		require.NoError(t, err)
		go fmt.Fprintf(c, "GET /console/%s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", strings.Repeat("a", tc.n))
		require.NoError(t, c.SetReadDeadline(time.Now().Add(10*time.Second)))
		b, _ := io.ReadAll(c)
		c.Close()
		line, _, _ := strings.Cut(string(b), "\r\n")
		assert.Equal(t, tc.want, line, "a URL of %d bytes", tc.n)
	}
}
