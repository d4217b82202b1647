//go:build unix

package main

// Interop suites: kioskd against third-party SIP peers, run by .ci/run
// with KIOSK_REQUIRE_PEERS=1. sipp (Debian package sip-tester) plays the
// trunk (UAS) and a booth phone (UAC, digest REGISTER and a speed-dial
// INVITE); baresip (Debian package baresip-core) plays an auto-answering
// booth phone for a click-to-call. sipp's exit code is its verdict; the
// ledger is checked after the daemon has closed.
//
// Scenarios and configs are in testdata/sipp and testdata/baresip.

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/callbridge"
	"github.com/qinqing/station/callbridge/sip/sipdemo"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// interopPeer returns the path of a third-party peer binary. It skips the
// test under -short, and when bin is not on PATH: skips with a message
// naming the Debian package, or fails if KIOSK_REQUIRE_PEERS=1 (CI must
// never pass by skipping).
func interopPeer(t *testing.T, bin, pkg string) string {
	t.Helper()
	if testing.Short() {
		t.Skip("interop suite: skipped with -short")
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		msg := fmt.Sprintf("%s not found: install Debian package %s", bin, pkg)
		if os.Getenv("KIOSK_REQUIRE_PEERS") == "1" {
			t.Fatal(msg + " (KIOSK_REQUIRE_PEERS=1)")
		}
		t.Skip(msg)
	}
	return path
}

const (
	interopBooth    = "booth1"
	interopExt      = "101"
	interopPassword = "interop-101-secret"
	interopCard     = "0A1B2C3D"
)

// interopRoster is one fictional child with two approved contacts.
var interopRoster = []kiosk.RosterEntry{{
	Child: kiosk.Child{ExternalID: "interop-1", Name: "测试儿童", Gender: "女", Class: "三年级1班", Status: kiosk.ChildActive},
	Cards: []string{interopCard},
	Contacts: []kiosk.Contact{
		{Slot: 1, Name: "测试母亲", Relation: "母亲", Phone: "+8613800009901", Modes: []kiosk.Mode{kiosk.ModePhone}},
		{Slot: 2, Name: "测试父亲", Relation: "父亲", Phone: "+8613800009902", Modes: []kiosk.Mode{kiosk.ModePhone}},
	},
}}

// interopConfig is the daemon's TOML config for one interop test: always
// open, one booth with extension 101, one trunk at trunkURI, the per-call
// limit and warnings given as TOML duration strings.
func interopConfig(dataDir, trunkURI, limit, warnings string) string {
	return fmt.Sprintf(`[station]
name = "Interop"
timezone = "Asia/Shanghai"

[hours]
windows = ["daily 00:00-24:00"]

[limits]
call = %q
warnings = %s

[sip]
listen = ["udp:127.0.0.1:0"]
media_ip = "127.0.0.1"
ring_timeout = "15s"
rtp_timeout = "20s"

[[sip.extension]]
user = %q
password = %q

[[sip.trunk]]
name = "interop"
uri = %q
dial_pattern = "{national}"
codecs = ["PCMU", "PCMA"]

[[booth]]
id = %q
name = "Booth 1"
reader = "reader1"
extension = %q

[[devices.reader]]
name = "reader1"
kind = "sim"

[storage]
data_dir = %q

[http]
listen = "127.0.0.1:0"
`, limit, warnings, interopExt, interopPassword, trunkURI, interopBooth, interopExt, dataDir)
}

// interopLog is a goroutine-safe log sink, printed if the test fails
// (t.Log cannot take writes from goroutines that outlive the test).
type interopLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *interopLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *interopLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// interopDaemon is an in-process kioskd for an interop test.
type interopDaemon struct {
	m       *Main
	dataDir string
	log     *interopLog
	screens <-chan kiosk.Screen
}

// startInteropDaemon writes the config, imports interopRoster into a
// fresh ledger, runs Main and subscribes to the booth's screens. The
// daemon's logs are printed if the test fails.
func startInteropDaemon(t *testing.T, trunkURI, limit, warnings string) *interopDaemon {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	d := &interopDaemon{dataDir: filepath.Join(dir, "data"), log: &interopLog{}}
	require.NoError(t, os.MkdirAll(d.dataDir, 0o750))
	cfgPath := filepath.Join(dir, "kiosk.toml")
	require.NoError(t, os.WriteFile(cfgPath, []byte(interopConfig(d.dataDir, trunkURI, limit, warnings)), 0o600))

	db, err := sqlite.Open(ctx, filepath.Join(d.dataDir, "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err, "open ledger to import the roster")
	_, err = db.ApplyRoster(ctx, interopRoster, false)
	require.NoError(t, err, "import roster")
	require.NoError(t, db.Close())

	d.m = NewMain()
	d.m.ConfigPath = cfgPath
	d.m.Stdout = d.log
	d.m.Logger = slog.New(slog.NewTextHandler(d.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	require.NoError(t, d.m.Run(ctx), "start kioskd")
	t.Cleanup(func() {
		d.close(t)
		if interopTrace(t) {
			t.Logf("kioskd log:\n%s", d.log.String())
		}
	})
	screens, cancel, err := d.m.station.Subscribe(interopBooth)
	require.NoError(t, err)
	t.Cleanup(cancel)
	d.screens = screens
	return d
}

func (d *interopDaemon) sipAddr() string { return d.m.bridge.Addr("udp") }

func (d *interopDaemon) close(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	assert.NoError(t, d.m.Close(ctx), "close kioskd")
}

// waitScreen reads the booth's screens until one of kind shows, and
// returns it; it fails the test after within.
func (d *interopDaemon) waitScreen(t *testing.T, kind kiosk.ScreenKind, within time.Duration) kiosk.Screen {
	t.Helper()
	deadline := time.NewTimer(within)
	defer deadline.Stop()
	var last kiosk.ScreenKind
	for {
		select {
		case sc, ok := <-d.screens:
			require.True(t, ok, "screen subscription dropped")
			last = sc.Kind
			if sc.Kind == kind {
				return sc
			}
		case <-deadline.C:
			t.Fatalf("booth did not show %q within %s (last %q)", kind, within, last)
		}
	}
}

// waitRegistered waits until the booth extension has a live binding.
func (d *interopDaemon) waitRegistered(t *testing.T, within time.Duration) {
	t.Helper()
	require.Eventually(t, func() bool {
		_, ok := d.m.bridge.Registrar().Lookup(interopExt)
		return ok
	}, within, 50*time.Millisecond, "extension %s did not register", interopExt)
}

// tapAndPick taps the roster's card at the booth and picks slot.
func (d *interopDaemon) tapAndPick(t *testing.T, slot int) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, d.m.station.Tap(ctx, interopBooth, interopCard))
	d.waitScreen(t, kiosk.ScreenIdentified, 5*time.Second)
	require.NoError(t, d.m.station.Pick(ctx, interopBooth, slot))
}

// ledger closes the daemon, reopens its ledger and returns the calls
// register and the chain check.
func (d *interopDaemon) ledger(t *testing.T) ([]sqlite.CallRow, sqlite.VerifyResult) {
	t.Helper()
	d.close(t)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(d.dataDir, "kiosk.db"), sqlite.Opts{})
	require.NoError(t, err, "reopen ledger")
	defer db.Close()
	calls, err := db.Calls(ctx, time.Time{}, time.Time{})
	require.NoError(t, err, "read calls register")
	v, err := db.Verify(ctx)
	require.NoError(t, err, "verify ledger")
	return calls, v
}

// interopUDPPort returns a UDP port on 127.0.0.1 that was free a moment
// ago, for peers that need an explicit port. With rtp, the port is even
// and the next three ports (RTCP, and sipp's video pair) were free too.
func interopUDPPort(t *testing.T, rtp bool) int {
	t.Helper()
	for range 200 {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		require.NoError(t, err)
		port := c.LocalAddr().(*net.UDPAddr).Port
		c.Close()
		if !rtp {
			// A SIP peer (baresip) listens on TCP at the same port number
			// too: the port must be free for both.
			l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
			if err != nil {
				continue
			}
			l.Close()
			return port
		}
		if port%2 != 0 || port > 65531 {
			continue
		}
		free := true
		for p := port; p < port+4 && free; p++ {
			c, err := net.ListenPacket("udp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p)))
			if err != nil {
				free = false
				continue
			}
			c.Close()
		}
		if free {
			return port
		}
	}
	t.Fatal("no free UDP port")
	return 0
}

// waitUDPBound waits until something has bound 127.0.0.1:port (a peer
// process is listening), failing the test after within or if the process
// ended first.
func waitUDPBound(t *testing.T, port int, within time.Duration, exited <-chan struct{}) {
	t.Helper()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		select {
		case <-exited:
			t.Fatalf("peer exited before listening on %s", addr)
		default:
		}
		c, err := net.ListenPacket("udp", addr)
		if err != nil {
			return
		}
		c.Close()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no peer listening on %s after %s", addr, within)
}

// writeTonePCAP writes a pcap (Ethernet, IPv4, UDP) of G.711 A-law RTP,
// payload type 8, 20 ms packets, carrying a 425 Hz tone for dur: what
// sipp's play_pcap_audio replays (it rewrites the addresses and ports).
func writeTonePCAP(path string, dur time.Duration) error {
	var buf bytes.Buffer
	le := binary.LittleEndian
	hdr := make([]byte, 24)
	le.PutUint32(hdr[0:], 0xa1b2c3d4) // microsecond timestamps
	le.PutUint16(hdr[4:], 2)
	le.PutUint16(hdr[6:], 4)
	le.PutUint32(hdr[16:], 65535) // snaplen
	le.PutUint32(hdr[20:], 1)     // LINKTYPE_ETHERNET
	buf.Write(hdr)
	const samples = 160
	pcm := make([]int16, samples)
	payload := make([]byte, samples)
	n := int(dur / (20 * time.Millisecond))
	for i := range n {
		for j := range pcm {
			k := float64(i*samples + j)
			pcm[j] = int16(8000 * math.Sin(2*math.Pi*425*k/8000))
		}
		for j, s := range pcm {
			payload[j] = callbridge.AlawEncode(s)
		}
		pkt := rtp.Packet{Header: rtp.Header{Version: 2, Marker: i == 0, PayloadType: 8,
			SequenceNumber: uint16(1000 + i), Timestamp: uint32(i * samples), SSRC: 0x4b494f53}, Payload: payload}
		rtpb, err := pkt.Marshal()
		if err != nil {
			return fmt.Errorf("tone pcap: rtp packet %d: %w", i, err)
		}
		udpLen := 8 + len(rtpb)
		ipLen := 20 + udpLen
		frame := make([]byte, 14+ipLen)
		binary.BigEndian.PutUint16(frame[12:], 0x0800)
		ip := frame[14:]
		ip[0], ip[8], ip[9] = 0x45, 64, 17
		binary.BigEndian.PutUint16(ip[2:], uint16(ipLen))
		copy(ip[12:16], []byte{127, 0, 0, 1})
		copy(ip[16:20], []byte{127, 0, 0, 1})
		var sum uint32
		for k := 0; k < 20; k += 2 {
			sum += uint32(binary.BigEndian.Uint16(ip[k:]))
		}
		for sum > 0xffff {
			sum = sum&0xffff + sum>>16
		}
		binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
		udp := ip[20:]
		binary.BigEndian.PutUint16(udp[0:], 6000)
		binary.BigEndian.PutUint16(udp[2:], 6000)
		binary.BigEndian.PutUint16(udp[4:], uint16(udpLen))
		copy(udp[8:], rtpb)
		rec := make([]byte, 16)
		at := time.Duration(i) * 20 * time.Millisecond
		le.PutUint32(rec[0:], uint32(at/time.Second))
		le.PutUint32(rec[4:], uint32((at%time.Second)/time.Microsecond))
		le.PutUint32(rec[8:], uint32(len(frame)))
		le.PutUint32(rec[12:], uint32(len(frame)))
		buf.Write(rec)
		buf.Write(frame)
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

// interopTestdata returns the absolute path of a file under testdata/.
func interopTestdata(t *testing.T, elem ...string) string {
	t.Helper()
	p, err := filepath.Abs(filepath.Join(append([]string{"..", "..", "testdata"}, elem...)...))
	require.NoError(t, err)
	_, err = os.Stat(p)
	require.NoError(t, err)
	return p
}

// peerProc is a peer process in its own process group, with its output
// in a buffer.
type peerProc struct {
	name string
	cmd  *exec.Cmd
	out  *interopLog
	done chan struct{}
	err  error
}

// startPeer starts bin with args in dir, in its own process group. The
// process group is killed at cleanup if still running; its output is
// printed if the test fails.
func startPeer(t *testing.T, name, bin, dir string, args ...string) *peerProc {
	t.Helper()
	p := &peerProc{name: name, out: &interopLog{}, done: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Dir = dir
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	require.NoError(t, p.cmd.Start(), "start %s", name)
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop(syscall.SIGKILL, 0)
		if interopTrace(t) {
			t.Logf("%s %s output:\n%s", name, strings.Join(args, " "), tail(p.out.String(), 6000))
		}
	})
	return p
}

// wait waits for the process to exit and returns its exit code; -1 and
// a test failure if it is still running after within (then it is killed).
func (p *peerProc) wait(t *testing.T, within time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(within):
		p.stop(syscall.SIGKILL, 0)
		t.Errorf("%s still running after %s: killed", p.name, within)
		return -1
	}
	var ee *exec.ExitError
	switch {
	case p.err == nil:
		return 0
	case errors.As(p.err, &ee):
		return ee.ExitCode()
	default:
		t.Errorf("%s: %v", p.name, p.err)
		return -1
	}
}

// stop signals the process group, waits up to grace for the process to
// exit, then kills the group.
func (p *peerProc) stop(sig syscall.Signal, grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, sig)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	<-p.done
}

// interopTrace says whether to print the peers' traces and the daemon's
// log: when the test failed, or always with KIOSK_INTEROP_TRACE=1.
func interopTrace(t *testing.T) bool {
	return t.Failed() || os.Getenv("KIOSK_INTEROP_TRACE") == "1"
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "..." + s[len(s)-n:]
}

// sippArgs are the options common to every sipp run: one call, UDP on
// 127.0.0.1:sipPort with media on mediaPort, a global timeout that fails
// the run, and unexpected messages and all SIP traffic traced into dir.
func sippArgs(dir, scenario string, sipPort, mediaPort int, extra ...string) []string {
	base := strings.TrimSuffix(filepath.Base(scenario), ".xml")
	args := []string{"-sf", scenario, "-m", "1", "-nostdin",
		"-i", "127.0.0.1", "-p", strconv.Itoa(sipPort),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(mediaPort),
		"-timeout", "25s", "-timeout_error",
		"-trace_err", "-error_file", filepath.Join(dir, base+"_errors.log"),
		"-trace_msg", "-message_file", filepath.Join(dir, base+"_messages.log"),
	}
	return append(args, extra...)
}

// sippScenario copies testdata/sipp/name into dir, next to the pcap the
// scenario plays (sipp looks for it beside the scenario), and returns the
// copy's path.
func sippScenario(t *testing.T, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(interopTestdata(t, "sipp", name))
	require.NoError(t, err)
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

// logSippTraces prints sipp's error and message traces if the test
// failed.
func logSippTraces(t *testing.T, dir string) {
	t.Cleanup(func() {
		if !interopTrace(t) {
			return
		}
		files, _ := filepath.Glob(filepath.Join(dir, "*.log"))
		for _, f := range files {
			b, _ := os.ReadFile(f)
			t.Logf("%s:\n%s", filepath.Base(f), tail(string(b), 8000))
		}
	})
}

// TestInteropSippTrunk: sipp is the trunk (UAS). A sipdemo booth phone
// registers and auto-answers the click-to-call; the bridge then INVITEs
// sipp, which rings, answers with PCMA only and plays A-law RTP from a
// pcap, and must receive kioskd's BYE at the 5 s limit. The audio must
// reach the booth phone through the relay (transcoded to the booth's
// codec if needed), and the ledger holds one ANSWERED call cut at the
// limit, with an intact chain.
func TestInteropSippTrunk(t *testing.T) {
	sipp := interopPeer(t, "sipp", "sip-tester")
	work := t.TempDir()
	logSippTraces(t, work)
	require.NoError(t, writeTonePCAP(filepath.Join(work, "kiosk-tone.pcap"), 8*time.Second))

	sipPort, mediaPort := interopUDPPort(t, false), interopUDPPort(t, true)
	const limit = 5 * time.Second
	d := startInteropDaemon(t, fmt.Sprintf("sip:127.0.0.1:%d", sipPort), "5s", `["2s"]`)

	phone, err := sipdemo.NewPhone(sipdemo.PhoneConfig{Ext: interopExt, Password: interopPassword,
		Server: d.sipAddr(), Listen: "127.0.0.1:0"}, sipdemo.Opts{Logger: d.m.Logger.With("component", "test-phone")})
	require.NoError(t, err)
	t.Cleanup(func() { phone.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	code, err := phone.Register(ctx)
	cancel()
	require.NoError(t, err)
	require.Equal(t, 200, code, "booth phone REGISTER")

	trunk := startPeer(t, "sipp (trunk)", sipp, work,
		sippArgs(work, sippScenario(t, work, "trunk_uas.xml"), sipPort, mediaPort)...)
	waitUDPBound(t, sipPort, 5*time.Second, trunk.done)

	d.tapAndPick(t, 1)
	d.waitScreen(t, kiosk.ScreenConnected, 10*time.Second)
	d.waitScreen(t, kiosk.ScreenWarning, limit)
	// Before the warning tone: everything the booth heard came from sipp.
	call := phone.Current()
	require.NotNil(t, call, "the booth phone got no call")
	heard := call.RTPReceived()
	ended := d.waitScreen(t, kiosk.ScreenEnded, limit)

	assert.Equal(t, 0, trunk.wait(t, 10*time.Second), "sipp (trunk) exit code: its verdict on the scenario")
	assert.Greater(t, heard, 25, "RTP packets from sipp's pcap at the booth phone before the warning")
	assert.Equal(t, string(kiosk.DispAnswered), ended.Disposition)

	calls, v := d.ledger(t)
	require.Len(t, calls, 1)
	c := calls[0]
	assert.Equal(t, kiosk.DispAnswered, c.Disposition)
	assert.Equal(t, kiosk.CauseLimit, c.Cause)
	assert.Equal(t, 200, c.SIPCode)
	assert.Equal(t, limit, c.Limit)
	assert.InDelta(t, limit.Seconds(), c.Billsec.Seconds(), 1, "billsec ≈ limit")
	assert.Equal(t, "母亲", c.Relation)
	assert.Equal(t, interopBooth, c.Booth)
	assert.True(t, v.OK, "ledger chain: %+v", v)
}

// TestInteropSippBooth: sipp is the booth phone (UAC). It REGISTERs with
// digest auth (401, then Authorization); the card is tapped at its booth;
// then it INVITEs the speed-dial digit 1, answers the 407 challenge, is
// connected when the sipdemo trunk answers, sends A-law RTP for 3 s and
// hangs up. The trunk must hear it; the ledger holds one ANSWERED call
// to the contact in slot 1, ended by the caller.
func TestInteropSippBooth(t *testing.T) {
	sipp := interopPeer(t, "sipp", "sip-tester")
	work := t.TempDir()
	logSippTraces(t, work)
	require.NoError(t, writeTonePCAP(filepath.Join(work, "kiosk-tone.pcap"), 3*time.Second))

	trunk, err := sipdemo.NewTrunk(sipdemo.TrunkConfig{Listen: "127.0.0.1:0", RingDelay: 300 * time.Millisecond},
		sipdemo.Opts{})
	require.NoError(t, err)
	t.Cleanup(func() { trunk.Close() })
	d := startInteropDaemon(t, trunk.URI(), "30s", `["10s"]`)

	sipPort, mediaPort := interopUDPPort(t, false), interopUDPPort(t, true)
	creds := []string{"-key", "ext", interopExt, "-au", interopExt, "-ap", interopPassword}
	reg := startPeer(t, "sipp (register)", sipp, work, sippArgs(work, sippScenario(t, work, "booth_register.xml"),
		sipPort, mediaPort, append(creds, d.sipAddr())...)...)
	require.Equal(t, 0, reg.wait(t, 15*time.Second), "sipp (register) exit code: its verdict on the scenario")
	b, ok := d.m.bridge.Registrar().Lookup(interopExt)
	require.True(t, ok, "sipp's REGISTER left no binding")
	assert.Equal(t, sipPort, b.Contact.Port, "binding contact port")

	require.NoError(t, d.m.station.Tap(context.Background(), interopBooth, interopCard))
	d.waitScreen(t, kiosk.ScreenIdentified, 5*time.Second)
	call := startPeer(t, "sipp (call)", sipp, work, sippArgs(work, sippScenario(t, work, "booth_call.xml"),
		sipPort, mediaPort, append(creds, "-s", "1", "-auth_uri", "1@"+d.sipAddr(), d.sipAddr())...)...)
	assert.Equal(t, 0, call.wait(t, 25*time.Second), "sipp (call) exit code: its verdict on the scenario")
	ended := d.waitScreen(t, kiosk.ScreenEnded, 5*time.Second)
	assert.Equal(t, string(kiosk.DispAnswered), ended.Disposition)
	if tc := trunk.Last(); assert.NotNil(t, tc, "the trunk got no call") {
		assert.Greater(t, tc.RTPReceived(), 25, "RTP packets from sipp at the trunk")
		assert.Equal(t, "13800009901", tc.Invite.Recipient.User, "trunk request-URI: contact 1's number, {national}")
	}

	calls, v := d.ledger(t)
	require.Len(t, calls, 1)
	c := calls[0]
	assert.Equal(t, kiosk.DispAnswered, c.Disposition)
	assert.Equal(t, kiosk.CauseCallerHangup, c.Cause)
	assert.Equal(t, "母亲", c.Relation)
	assert.Equal(t, "+8613800009901", c.Number)
	assert.InDelta(t, 3, c.Billsec.Seconds(), 1.5, "billsec ≈ sipp's 3 s pause")
	assert.True(t, v.OK, "ledger chain: %+v", v)
}

// TestInteropBaresipClickToCall: baresip is the booth phone. It registers
// with digest auth; a card is tapped and contact 1 picked on the screen;
// the bridge INVITEs baresip with auto-answer hints and baresip
// (answermode=auto) answers; the sipdemo trunk answers; baresip echoes
// the trunk's audio back (aubridge), and the call is cut at the 4 s
// limit. The ledger holds one ANSWERED call cut at the limit; baresip
// logged the established call; stopped with SIGTERM, it unregisters.
func TestInteropBaresipClickToCall(t *testing.T) {
	baresip := interopPeer(t, "baresip", "baresip-core")
	trunk, err := sipdemo.NewTrunk(sipdemo.TrunkConfig{Listen: "127.0.0.1:0", RingDelay: 300 * time.Millisecond},
		sipdemo.Opts{})
	require.NoError(t, err)
	t.Cleanup(func() { trunk.Close() })
	const limit = 4 * time.Second
	d := startInteropDaemon(t, trunk.URI(), "4s", `["2s"]`)

	cfgDir := t.TempDir()
	sipPort, rtpPort := interopUDPPort(t, false), interopUDPPort(t, true)
	modules := "/usr/lib/baresip/modules"
	if _, err := os.Stat(modules); err != nil {
		modules = "/usr/local/lib/baresip/modules"
	}
	fill := strings.NewReplacer(
		"@SIP_LISTEN@", fmt.Sprintf("127.0.0.1:%d", sipPort),
		"@RTP_PORTS@", fmt.Sprintf("%d-%d", rtpPort, rtpPort+3),
		"@MODULE_PATH@", modules,
		"@EXT@", interopExt,
		"@PASSWORD@", interopPassword,
		"@REGISTRAR@", d.sipAddr(),
	)
	for _, f := range []string{"config", "accounts"} {
		tmpl, err := os.ReadFile(interopTestdata(t, "baresip", f+".tmpl"))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(cfgDir, f), []byte(fill.Replace(string(tmpl))), 0o600))
	}
	phone := startPeer(t, "baresip", baresip, cfgDir, "-f", cfgDir, "-4")
	d.waitRegistered(t, 10*time.Second)

	d.tapAndPick(t, 1)
	d.waitScreen(t, kiosk.ScreenConnected, 10*time.Second)
	ended := d.waitScreen(t, kiosk.ScreenEnded, limit+5*time.Second)
	assert.Equal(t, string(kiosk.DispAnswered), ended.Disposition)
	if tc := trunk.Last(); assert.NotNil(t, tc, "the trunk got no call") {
		assert.Greater(t, tc.RTPReceived(), 10, "RTP at the trunk: its tone echoed by baresip")
	}

	// Stop baresip while the daemon runs: it unregisters on SIGTERM.
	phone.stop(syscall.SIGTERM, 5*time.Second)
	assert.Contains(t, strings.ToLower(phone.out.String()), "call established", "baresip output")
	assert.Eventually(t, func() bool {
		_, ok := d.m.bridge.Registrar().Lookup(interopExt)
		return !ok
	}, 2*time.Second, 20*time.Millisecond, "baresip's binding is still there after it stopped")

	calls, v := d.ledger(t)
	require.Len(t, calls, 1)
	c := calls[0]
	assert.Equal(t, kiosk.DispAnswered, c.Disposition)
	assert.Equal(t, kiosk.CauseLimit, c.Cause)
	assert.InDelta(t, limit.Seconds(), c.Billsec.Seconds(), 1, "billsec ≈ limit")
	assert.Equal(t, "母亲", c.Relation)
	assert.True(t, v.OK, "ledger chain: %+v", v)
}
