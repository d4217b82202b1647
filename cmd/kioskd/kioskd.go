package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	siplib "github.com/emiago/sipgo/sip"

	"github.com/qinqing/station/callbridge/rtc"
	"github.com/qinqing/station/callbridge/sip"
	"github.com/qinqing/station/config"
	"github.com/qinqing/station/devices/sim"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
	"github.com/qinqing/station/ui"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

var errHelp = errors.New("help requested")

// errFlags wraps a flag the flag package refused; it has printed the
// error and the usage already.
var errFlags = errors.New("bad flags")

// Main is the daemon: flags, config and the running components. Tests
// create one, set its fields, and call Run and Close themselves.
type Main struct {
	// Flags.
	ConfigPath   string
	DataDir      string
	HTTPAddr     string
	SIPAddr      string
	Demo         bool
	ValidateOnly bool
	Version      bool

	// Stdout gets the start banner; Logger the logs (stderr, text).
	Stdout io.Writer
	Logger *slog.Logger
	// Ready, if set, is closed when Run has started everything.
	Ready chan struct{}
	// Tweak, if set, edits the loaded config before it is used (tests
	// shorten the demo's limits with it).
	Tweak func(*config.Config)

	Config  config.Config
	started time.Time

	db      *sqlite.DB
	station *kiosk.Station
	desk    *kiosk.BookDesk // books.go; nil when [books] is off
	bridge  *sip.Bridge
	video   *rtc.Bridge // nil when [video] is off
	links   []string    // -demo: the parents' links, for the banner
	setup   string      // the console's one-time setup link, if no manager yet
	ui      *ui.Server
	http    *http.Server
	httpLn  net.Listener
	lights  map[string]*sim.Light  // simulated lights by booth (m.devs.simLights)
	readers map[string]*sim.Reader // simulated readers by booth (m.devs.simReader)
	devs    *hwDevices
	tv      *tvWiring // tv.go; nil without [[tv]]
	tvOpts  tvOpts    // tests set the TV clock
	devOpts devOpts   // tests shorten the device timings
	sd      *notifier // systemd notify (sdnotify.go); nil when not under systemd
	demo    *demoPeers
	lock    *os.File

	// now, set by tests, is the wall clock of the ledger, the station and
	// the book desk; nil means time.Now.
	now func() time.Time

	cancel context.CancelFunc
	wg     sync.WaitGroup
	closed bool
}

// NewMain returns a Main with the defaults of the flags.
func NewMain() *Main {
	return &Main{
		Stdout: os.Stdout,
		Logger: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo})),
	}
}

// ParseFlags reads the command line into m.
func (m *Main) ParseFlags(args []string) error {
	fs := flag.NewFlagSet("kioskd", flag.ContinueOnError)
	fs.StringVar(&m.ConfigPath, "config", "", "config `FILE` (TOML); see firmware-config/kiosk.example.toml")
	fs.StringVar(&m.DataDir, "data", "", "data `DIR` (default from config, else ./kiosk-data)")
	fs.StringVar(&m.HTTPAddr, "http", "", "HTTP listen `ADDR` (default from config, else 127.0.0.1:8080)")
	fs.StringVar(&m.SIPAddr, "sip", "", "SIP listen `ADDR` for UDP and TCP (default from config, else 127.0.0.1:5060)")
	fs.BoolVar(&m.Demo, "demo", false, "run the demo: simulated devices, booth phone and trunk, demo roster")
	fs.BoolVar(&m.ValidateOnly, "validate", false, "check the config and exit: 0 valid, 2 invalid")
	fs.BoolVar(&m.Version, "version", false, "print the version and exit")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return errHelp
		}
		return fmt.Errorf("%w: %w", errFlags, err)
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if !m.Demo && m.ConfigPath == "" && !m.Version {
		return errors.New("need -config FILE or -demo")
	}
	return nil
}

// loadConfig reads the config (or the demo's) and applies the flags.
func (m *Main) loadConfig() error {
	var cfg config.Config
	if m.ConfigPath != "" {
		var err error
		if cfg, err = config.Load(m.ConfigPath); err != nil {
			return err
		}
	} else {
		cfg = config.Demo()
	}
	if m.DataDir != "" {
		cfg.Storage.DataDir = m.DataDir
	}
	if m.HTTPAddr != "" {
		cfg.HTTP.Listen = m.HTTPAddr
	}
	if m.SIPAddr != "" {
		cfg.SIP.Listen = []string{"udp:" + m.SIPAddr, "tcp:" + m.SIPAddr}
	}
	if m.Tweak != nil {
		m.Tweak(&cfg)
		if err := cfg.Validate(); err != nil {
			return err
		}
	}
	m.Config = cfg
	return nil
}

// validate implements -validate: every problem as file:line: message and
// exit status 2. A file that cannot be read has nothing wrong in it: it is
// reported as the start reports it ("kioskd: read config PATH: ..."), exit
// status 1.
func (m *Main) validate() int {
	if m.ConfigPath == "" && !m.Demo {
		fmt.Fprintln(os.Stderr, "kioskd: -validate needs -config FILE")
		return 2
	}
	if err := m.loadConfig(); err != nil {
		var ps *config.Problems
		if !errors.As(err, &ps) {
			fmt.Fprintln(os.Stderr, "kioskd:", err)
			return 1
		}
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	fmt.Fprintf(m.Stdout, "%s: valid\n", m.Config.File())
	return 0
}

// Run loads the config and starts every component in order: ledger,
// devices, station, SIP bridge, HTTP (and in -demo the demo trunk and booth
// phone). If a step fails, the started ones are stopped in reverse and
// the error returned. Run returns once everything is started.
func (m *Main) Run(ctx context.Context) (err error) {
	m.started = time.Now()
	if err := m.loadConfig(); err != nil {
		return err
	}
	cfg := &m.Config
	log := m.Logger
	ctx, m.cancel = context.WithCancel(ctx)
	defer func() {
		if err != nil {
			cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			m.Close(cctx)
		}
	}()

	if err := os.MkdirAll(cfg.Storage.DataDir, 0o750); err != nil {
		return fmt.Errorf("create data dir: %w", err)
	}
	if m.lock, err = lockDataDir(cfg.Storage.DataDir); err != nil {
		return err
	}
	token, err := adminToken(cfg.Storage.DataDir)
	if err != nil {
		return err
	}
	// Bind the HTTP port before touching the ledger, so that a port in
	// use stops the start before anything is written.
	m.httpLn, err = net.Listen("tcp", cfg.HTTP.Listen)
	if err != nil {
		return fmt.Errorf("http: %w", err)
	}
	serveAdmin, err := m.listenTLSAndAdmin(ctx) // tls.go: HTTPS on listen, plain HTTP on [http] admin
	if err != nil {
		return err
	}
	// The SIP ports are bound by the bridge later; try them now, for the
	// same reason (another daemon on 5060 is the usual case).
	if err := probeSIP(cfg.SIP.Listen); err != nil {
		return fmt.Errorf("sip: %w", err)
	}

	// Ledger first: a crash left calls open, close them before any new one.
	m.db, err = sqlite.Open(ctx, filepath.Join(cfg.Storage.DataDir, "kiosk.db"), sqlite.Opts{
		Now: m.now, ClockSynced: clockSynced, Logger: log})
	if err != nil {
		return fmt.Errorf("open ledger: %w", err)
	}
	if n, err := m.db.RecoverInterrupted(ctx); err != nil {
		return fmt.Errorf("recover interrupted calls: %w", err)
	} else if n > 0 {
		log.Warn("closed calls interrupted by a crash", "count", n)
	}
	if m.Demo {
		if err := seedDemoRoster(ctx, m.db); err != nil {
			return err
		}
	}

	policy, err := cfg.Policy()
	if err != nil {
		return fmt.Errorf("policy: %w", err)
	}
	// The console's settings (settings.go) override the file's.
	if policy, err = m.consoleSettings(ctx, policy); err != nil {
		return err
	}

	// Devices (devices.go): lights first, the station needs them.
	m.devs = newDevices(cfg, log, m.db, m.devOpts)
	m.lights = m.devs.simLights
	var booths []kiosk.Booth
	for _, b := range cfg.Booths {
		booths = append(booths, kiosk.Booth{ID: b.ID, Name: b.Name, Extension: b.Extension})
	}
	lines := 0
	for _, t := range cfg.SIP.Trunks {
		if t.Channels == 0 {
			lines = 0
			break
		}
		lines += t.Channels
	}
	m.station = kiosk.NewStation(policy, booths, m.db, m.db, m.devs.lights, kiosk.StationOpts{
		Now: m.now, ClockSynced: clockSynced, Logger: log, Lines: lines})
	m.desk = m.newBookDesk()
	m.devs.desk = m.desk // the scanners lend and return books
	m.devs.start(ctx, m.station)
	m.readers = m.devs.simReader
	if m.tv, err = newTVs(ctx, cfg, m.db, m.devs, policy.Hours.Location(), log, m.tvOpts); err != nil {
		return err
	}

	if m.Demo {
		if m.demo, err = startDemoTrunk(ctx, log); err != nil {
			return err
		}
		for i := range cfg.SIP.Trunks {
			if cfg.SIP.Trunks[i].Name == config.DemoTrunk {
				cfg.SIP.Trunks[i].URI = m.demo.trunkURI
			}
		}
	}
	// sipgo logs through its package default, with whole request lines
	// (numbers in them) at info: keep only its warnings and errors.
	siplib.SetDefaultLogger(slog.New(minLevel{log.Handler(), slog.LevelWarn}).With("component", "sipgo"))
	if m.bridge, err = m.newBridge(); err != nil {
		return err
	}
	m.station.Attach(m.bridge)
	if m.Config.Video.Enabled {
		if m.video, err = m.newVideo(); err != nil {
			return err
		}
		m.station.AttachVideo(m.video, m.video)
		// A booth without a phone calls through its screen's headset.
		m.bridge.SetScreenAudio(m.video)
	}
	m.wg.Add(2)
	go func() {
		defer m.wg.Done()
		if err := m.bridge.Run(ctx); err != nil {
			log.Error("sip stopped", "err", err)
		}
	}()
	go func() {
		defer m.wg.Done()
		m.station.Run(ctx)
	}()
	select {
	case <-m.bridge.Ready():
		if err := m.bridge.StartErr(); err != nil {
			return fmt.Errorf("sip: %w", err)
		}
	case <-time.After(5 * time.Second):
		return errors.New("sip: not listening after 5 s")
	}

	uiOpts := ui.Opts{Station: stationUI{m}, Health: m.health, AdminToken: token, Version: version, Logger: log,
		Devices: m.devs, TV: m.tv.admin()}
	if m.video != nil {
		uiOpts.Signaler = m.video
	}
	con, err := m.newConsole(policy.Hours.Location())
	if err != nil {
		return err
	}
	uiOpts.Console = con.Handler()
	uiOpts.Books = m.bookDesk()
	if m.setup, err = m.setupLink(ctx); err != nil {
		return fmt.Errorf("console setup link: %w", err)
	}
	m.ui, err = ui.New(uiOpts)
	if err != nil {
		return err
	}
	m.http = &http.Server{Handler: m.ui.Handler(), ReadHeaderTimeout: 10 * time.Second, MaxHeaderBytes: ui.MaxHeaderBytes}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		if err := m.http.Serve(m.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http stopped", "err", err)
		}
	}()
	serveAdmin(m.http.Handler)

	if m.Demo {
		if err := m.demo.startPhones(ctx, m, log); err != nil {
			return err
		}
		if m.video != nil {
			if m.links, err = m.demoLinks(ctx); err != nil {
				return err
			}
		}
	}
	m.startRetention(ctx) // retention.go
	m.startNotify(ctx)
	m.banner()
	if m.Ready != nil {
		close(m.Ready)
	}
	return nil
}

func (m *Main) newBridge() (*sip.Bridge, error) {
	cfg := &m.Config
	sc := sip.Config{
		Listen:       cfg.SIP.Listen,
		RTPPortMin:   cfg.SIP.RTPPorts.Min,
		RTPPortMax:   cfg.SIP.RTPPorts.Max,
		Extensions:   map[string]string{},
		Booths:       map[string]kiosk.Booth{},
		RingTimeout:  cfg.SIP.RingTimeout.Duration,
		TrunkTimeout: cfg.SIP.TrunkTimeout.Duration,
		RTPTimeout:   cfg.SIP.RTPTimeout.Duration,
	}
	if cfg.SIP.MediaIP != "" {
		ip, err := netip.ParseAddr(cfg.SIP.MediaIP)
		if err != nil {
			return nil, fmt.Errorf("sip media_ip: %w", err)
		}
		sc.MediaIP = ip
	}
	for _, e := range cfg.SIP.Extensions {
		sc.Extensions[e.User] = e.Password
	}
	for _, b := range cfg.Booths {
		if b.Extension != "" {
			sc.Booths[b.Extension] = kiosk.Booth{ID: b.ID, Name: b.Name, Extension: b.Extension}
		}
	}
	for _, t := range cfg.SIP.Trunks {
		var codecs []string
		dtmf := false
		for _, c := range t.Codecs {
			if c == "telephone-event" {
				dtmf = true
			} else {
				codecs = append(codecs, c)
			}
		}
		sc.Trunks = append(sc.Trunks, sip.Trunk{Name: t.Name, URI: t.URI, User: t.User, Password: t.Password,
			DialPattern: t.DialPattern, Codecs: codecs, Channels: t.Channels, NoTelephoneEvent: !dtmf})
	}
	b, err := sip.New(sc, m.station, sip.Opts{Logger: m.Logger})
	if err != nil {
		return nil, fmt.Errorf("sip: %w", err)
	}
	return b, nil
}

// HTTPURL returns the URL of the HTTP server: on every interface
// (0.0.0.0), with this machine's first non-loopback IPv4 address, else
// 127.0.0.1 (hosts.go).
func (m *Main) HTTPURL() string {
	if m.httpLn == nil {
		return ""
	}
	return shownURL(m.httpScheme(), m.httpLn.Addr(), interfaceAddrs(), false) // tls.go, hosts.go
}

func (m *Main) banner() {
	w := m.Stdout
	fmt.Fprintf(w, "kioskd %s: %s\n", version, m.Config.Station.Name)
	fmt.Fprintf(w, "  kiosk screen:  %s/\n", m.HTTPURL())
	fmt.Fprintf(w, "  health:        %s/healthz\n", m.HTTPURL())
	fmt.Fprintf(w, "  console:       %s/console/\n", m.HTTPURL())
	m.plainHTTPWarning(w) // tls.go
	if m.setup != "" {
		fmt.Fprintf(w, "  first manager: open %s (once, within 24 h) or run %s user add NAME --role manager\n", m.setup, m.kioskctlCmd())
	}
	var sipAddrs []string
	for _, tr := range []string{"udp", "tcp"} {
		if a := m.bridge.Addr(tr); a != "" {
			sipAddrs = append(sipAddrs, tr+":"+a)
		}
	}
	fmt.Fprintf(w, "  SIP:           %s\n", strings.Join(sipAddrs, ", "))
	fmt.Fprintf(w, "  data:          %s\n", m.Config.Storage.DataDir)
	fmt.Fprintf(w, "  go runtime:    %s\n", goRuntime()) // goruntime.go
	if m.Demo {
		fmt.Fprintf(w, "  demo trunk:    %s (answers after 2 s with a tone)\n", m.demo.trunkURI)
		fmt.Fprintf(w, "  demo cards (tap one with: %s tap UID):\n", m.kioskctlCmd()) // hosts.go
		for _, c := range demoRoster {
			fmt.Fprintf(w, "    %s  %s (%s)\n", c.Cards[0], c.Child.Name, c.Child.Class)
		}
		fmt.Fprintf(w, "  then: %s dial 1    (call contact 1; the demo limit is 60 s)\n", m.kioskctlCmd())
		if len(m.links) > 0 {
			fmt.Fprintln(w, "  video: open a parent's link in another browser window, tap that child's card, press 视频:")
			for _, l := range m.links {
				fmt.Fprintln(w, "    "+l)
			}
		}
	}
	fmt.Fprintf(w, "started in %d ms\n", time.Since(m.started).Milliseconds())
}

// health is /healthz's report: store, sip and each device.
func (m *Main) health() ui.HealthReport {
	r := ui.HealthReport{Version: version, Started: m.started, ClockSynced: clockSynced(),
		Components: map[string]kiosk.Health{}, Lights: m.station.Lights()}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	if err := m.db.Ping(ctx); err != nil {
		r.Components["store"] = kiosk.Health{Status: kiosk.HealthFault, Reason: err.Error()}
	} else {
		r.Components["store"] = kiosk.Health{Status: kiosk.HealthOK}
	}
	r.Components["sip"] = m.bridge.Health()
	if m.video != nil {
		r.Components["video"] = m.video.Health()
	}
	before := make(map[string]bool, len(r.Components))
	for name := range r.Components {
		before[name] = true
	}
	m.devs.health(r.Components)
	m.tv.health(r.Components)
	// A booth's device down degrades the station; it does not fail it.
	r.Peripheral = map[string]bool{}
	for name := range r.Components {
		if !before[name] {
			r.Peripheral[name] = true
		}
	}
	return r
}

// Close stops everything in reverse order within ctx: calls are hung up
// and closed in the ledger, lights turned off, HTTP and SIP stopped, the
// ledger closed.
func (m *Main) Close(ctx context.Context) error {
	if m.closed {
		return nil
	}
	m.closed = true
	m.notifyStopping()
	var errs []error
	if m.station != nil {
		errs = append(errs, m.station.Close(ctx))
	}
	errs = append(errs, m.tv.close(ctx))
	if m.video != nil {
		errs = append(errs, m.video.Close())
	}
	if m.demo != nil {
		m.demo.close()
	}
	if m.http != nil {
		errs = append(errs, m.http.Shutdown(ctx))
	}
	if m.ui != nil {
		errs = append(errs, m.ui.Close())
	}
	if m.bridge != nil {
		errs = append(errs, m.bridge.Close())
	}
	if m.cancel != nil {
		m.cancel()
	}
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		errs = append(errs, errors.New("components still running at the shutdown deadline"))
	}
	if m.devs != nil {
		errs = append(errs, m.devs.close(ctx))
	}
	m.sd.close()
	if m.db != nil {
		errs = append(errs, m.db.Close())
	}
	if m.http == nil && m.httpLn != nil {
		m.httpLn.Close()
	}
	if m.lock != nil {
		m.lock.Close()
	}
	return errors.Join(errs...)
}

// adminToken returns the admin API token from DIR/admin.token, creating
// it (128 random bits, hex, mode 0600) if missing.
func adminToken(dir string) (string, error) {
	path := filepath.Join(dir, "admin.token")
	b, err := os.ReadFile(path)
	if err == nil && len(strings.TrimSpace(string(b))) >= 32 {
		if err := os.Chmod(path, 0o600); err != nil {
			return "", fmt.Errorf("admin token: %w", err)
		}
		return strings.TrimSpace(string(b)), nil
	}
	var raw [16]byte
	if _, err := rand.Read(raw[:]); err != nil {
		return "", err
	}
	tok := hex.EncodeToString(raw[:])
	if err := os.WriteFile(path, []byte(tok+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write admin token: %w", err)
	}
	return tok, nil
}

// stationUI routes the screen's and admin API's actions: taps go through
// the booth's reader, as a real card would.
type stationUI struct{ m *Main }

func (s stationUI) Booths() []kiosk.Booth                 { return s.m.station.Booths() }
func (s stationUI) Screen(b string) (kiosk.Screen, error) { return s.m.station.Screen(b) }
func (s stationUI) Subscribe(b string) (<-chan kiosk.Screen, func(), error) {
	return s.m.station.Subscribe(b)
}
func (s stationUI) Pick(ctx context.Context, b string, slot int) error {
	return s.m.station.Pick(ctx, b, slot)
}
func (s stationUI) PickMode(ctx context.Context, b string, slot int, mode kiosk.Mode) error {
	return s.m.station.PickMode(ctx, b, slot, mode)
}
func (s stationUI) Help(ctx context.Context, b string) error   { return s.m.station.Help(ctx, b) }
func (s stationUI) Hangup(ctx context.Context, b string) error { return s.m.station.Hangup(ctx, b) }

// OperatorHangup is the admin API's hang-up (kioskctl hangup): the ledger
// records it as ended by staff, not by the child.
func (s stationUI) OperatorHangup(ctx context.Context, b string) error {
	return s.m.station.HangupCause(ctx, b, kiosk.CauseOperator)
}

func (s stationUI) Tap(ctx context.Context, booth, uid string) error {
	if booth == "" {
		if bs := s.m.station.Booths(); len(bs) > 0 {
			booth = bs[0].ID
		}
	}
	r, ok := s.m.readers[booth]
	if !ok {
		return kiosk.Errorf(kiosk.ENOTFOUND, "booth %q has no card reader", booth)
	}
	return r.Present(ctx, uid)
}

// minLevel drops records below its level, whatever the wrapped handler
// would take.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}

// probeSIP binds and releases each SIP listen address ("udp:HOST:PORT",
// "tcp:HOST:PORT"), so that a port in use stops the start before the
// ledger is touched. Port 0 always succeeds.
func probeSIP(listens []string) error {
	for _, l := range listens {
		network, addr, ok := strings.Cut(l, ":")
		if !ok {
			continue // config validation reports it
		}
		switch network {
		case "udp":
			c, err := net.ListenPacket("udp", addr)
			if err != nil {
				return err
			}
			c.Close()
		case "tcp":
			ln, err := net.Listen("tcp", addr)
			if err != nil {
				return err
			}
			ln.Close()
		}
	}
	return nil
}
