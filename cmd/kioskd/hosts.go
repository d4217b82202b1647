package main

import (
	"net"
	"net/netip"
	"path/filepath"

	"github.com/qinqing/station/config"
)

// defaultAdminURL is kioskctl's --addr when neither the flag nor
// $KIOSK_ADDR is given (cmd/kioskctl); the banner names --addr otherwise.
const defaultAdminURL = "http://127.0.0.1:8080"

// shownURL returns scheme://addr for a listener's address, with a host
// people can open: a listener on every interface (0.0.0.0, which Go
// reports as [::], or ::) has no usable host, so the first
// non-loopback IPv4 address of addrs is shown instead (others on the
// school's network reach it), else 127.0.0.1. With loopback true it is
// 127.0.0.1 (for kioskctl, whose admin API answers loopback peers only).
func shownURL(scheme string, addr net.Addr, addrs []net.Addr, loopback bool) string {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil || !ap.Addr().IsUnspecified() {
		return scheme + "://" + addr.String()
	}
	host := netip.AddrFrom4([4]byte{127, 0, 0, 1})
	if !loopback {
		if ip, ok := firstIPv4(addrs); ok {
			host = ip
		}
	}
	return scheme + "://" + netip.AddrPortFrom(host, ap.Port()).String()
}

// firstIPv4 returns the first IPv4 address in addrs (net.InterfaceAddrs)
// that is neither loopback, link-local (169.254/16) nor unspecified.
func firstIPv4(addrs []net.Addr) (netip.Addr, bool) {
	for _, a := range addrs {
		var ip net.IP
		switch v := a.(type) {
		case *net.IPNet:
			ip = v.IP
		case *net.IPAddr:
			ip = v.IP
		default:
			continue
		}
		ip4 := ip.To4()
		if ip4 == nil {
			continue
		}
		na, _ := netip.AddrFromSlice(ip4)
		if na.IsLoopback() || na.IsLinkLocalUnicast() || na.IsUnspecified() {
			continue
		}
		return na, true
	}
	return netip.Addr{}, false
}

// interfaceAddrs is net.InterfaceAddrs, or none when it fails (the
// banner then shows 127.0.0.1).
func interfaceAddrs() []net.Addr {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil
	}
	return addrs
}

// AdminURL returns the address kioskctl should use (its --addr): [http]
// admin when set, else the HTTP listener, on 127.0.0.1 when it listens on
// every interface. "" before Run has listened.
func (m *Main) AdminURL() string {
	if m.httpLn == nil {
		return ""
	}
	if a := m.Config.HTTP.Admin; a != "" {
		return "http://" + a
	}
	return shownURL(m.httpScheme(), m.httpLn.Addr(), nil, true)
}

// kioskctlCmd is how the banner tells to run kioskctl: with --addr when
// the daemon is not where kioskctl looks by default, and --data when its
// data (with the admin token) is not in kioskctl's default directory.
func (m *Main) kioskctlCmd() string {
	cmd := "go run ./cmd/kioskctl"
	if a := m.AdminURL(); a != defaultAdminURL {
		cmd += " --addr " + a
	}
	if d := m.Config.Storage.DataDir; filepath.Clean(d) != filepath.Clean(config.DefaultDataDir) {
		cmd += " --data " + d
	}
	return cmd
}
