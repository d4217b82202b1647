package boards_test

// TestFirmwareConfig parses every file in firmware-config/, one subtest per
// file, with a small strict checker per kind of file: an unknown key fails
// naming file:line. A file with no checker fails too, so that whoever adds
// one adds its checker here.

import (
	"bufio"
	"bytes"
	"fmt"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/devices/boards"
)

// checker returns the problems of one file as "file:line: message".
type checker func(file string, data []byte) []string

func checkerFor(rel string) (checker, bool) {
	switch {
	case rel == "kiosk.example.toml":
		return checkKioskConfig, true
	case strings.HasPrefix(rel, "boards/") && strings.HasSuffix(rel, ".toml"):
		return checkBoard, true
	case rel == "pi/config.txt":
		return checkConfigTxt, true
	case strings.HasSuffix(rel, ".rules"):
		return checkUdev, true
	case strings.HasSuffix(rel, ".service"):
		return checkINI(systemdKeys), true
	case strings.HasSuffix(rel, ".desktop"):
		return checkINI(desktopKeys), true
	case rel == "kiosk/apt-packages.txt":
		return checkPackages, true
	case strings.HasSuffix(rel, ".md"):
		return checkMarkdown, true
	case rel == "boards.go":
		return checkEmbedGo, true
	case strings.HasPrefix(rel, "turn/") && strings.HasSuffix(rel, ".conf"):
		return checkCoturn, true
	}
	return nil, false
}

func TestFirmwareConfig(t *testing.T) {
	var files []string
	err := filepath.WalkDir(firmwareDir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, err := filepath.Rel(firmwareDir, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	require.NoError(t, err)
	for _, want := range []string{
		"README.md", "kiosk.example.toml", "pi/config.txt", "pi/cmdline-note.md",
		"udev/99-kioskd.rules", "systemd/kioskd.service", "kiosk/chromium-kiosk.service",
		"boards/rpi3bplus.toml", "boards/rpi4b.toml", "boards/rpi5.toml",
		"boards/rpizero2w.toml", "boards/x86-minipc.toml",
	} {
		assert.Contains(t, files, want, "firmware-config must ship %s", want)
	}
	for _, rel := range files {
		t.Run(rel, func(t *testing.T) {
			check, ok := checkerFor(rel)
			require.True(t, ok, "no checker for firmware-config/%s: add one in devices/boards/firmware_test.go", rel)
			data, err := os.ReadFile(filepath.Join(firmwareDir, rel))
			require.NoError(t, err)
			for _, p := range check("firmware-config/"+rel, data) {
				t.Error(p)
			}
			for _, want := range mustContain[rel] {
				assert.Contains(t, string(data), want, "firmware-config/%s", rel)
			}
		})
	}
}

// mustContain holds lines a file must keep, whatever else changes.
var mustContain = map[string][]string{
	"systemd/kioskd.service": {
		"\nType=notify\n", "\nNotifyAccess=main\n", "\nWatchdogSec=30\n", "\nRestart=always\n",
		"\nUser=kioskd\n", "\nSupplementaryGroups=gpio spi input dialout\n",
		"\nExecStart=/usr/local/bin/kioskd -config /etc/kioskd/kiosk.toml\n",
	},
	"kiosk/chromium-kiosk.service": kioskFlags,
	"kiosk/chromium-kiosk.desktop": kioskFlags,
	"pi/config.txt":                {"\ndtparam=spi=on\n", "\nenable_uart=1\n", "\ndtoverlay=disable-bt\n"},
	"udev/99-kioskd.rules":         {`SYMLINK+="kiosk-reader-`, `GROUP="gpio"`, `GROUP="spi"`, `GROUP="input"`, `GROUP="dialout"`},
	"kiosk/apt-packages.txt":       {"\nfonts-noto-cjk\n"},
}

var kioskFlags = []string{
	" --kiosk ", " --noerrdialogs ", " --disable-session-crashed-bubble ",
	" --autoplay-policy=no-user-gesture-required ", " --use-fake-ui-for-media-stream ",
	" http://127.0.0.1:8080/?booth=booth1",
}

func TestCheckersCatchUnknownKeys(t *testing.T) {
	tests := []struct {
		name  string
		check checker
		doc   string
		want  string
	}{
		{"systemd key", checkINI(systemdKeys), "[Service]\nType=notify\nWatchDogSec=30\n", "f:3: unknown key WatchDogSec in [Service]"},
		{"systemd section", checkINI(systemdKeys), "# c\n[Servise]\n", "f:2: unknown section [Servise]"},
		{"systemd outside", checkINI(systemdKeys), "Type=simple\n", "f:1: key Type outside a section"},
		{"desktop key", checkINI(desktopKeys), "[Desktop Entry]\nExecute=x\n", "f:2: unknown key Execute"},
		{"udev key", checkUdev, "KERNEL==\"x\", GRUOP=\"gpio\"\n", "f:1: unknown key GRUOP"},
		{"udev assign to match-only", checkUdev, "KERNELS=\"x\", MODE=\"0660\"\n", "f:1: KERNELS cannot be assigned"},
		{"udev match on assign-only", checkUdev, "MODE==\"0660\", GROUP=\"x\"\n", "f:1: MODE cannot be matched"},
		{"udev syntax", checkUdev, "# ok\n\nKERNEL==x\n", "f:3: cannot parse"},
		{"udev attr missing", checkUdev, "ATTRS==\"1\", GROUP=\"x\"\n", "f:1: ATTRS needs {name}"},
		{"udev continuation", checkUdev, "KERNEL==\"a\", \\\n  GROUP=\"x\", FOO=\"y\"\n", "f:1: unknown key FOO"},
		{"config.txt key", checkConfigTxt, "[all]\ndtparam=spi=on\nenable_uarts=1\n", "f:3: unknown key enable_uarts"},
		{"config.txt section", checkConfigTxt, "[pi6]\n", "f:1: unknown section [pi6]"},
		{"config.txt overlay", checkConfigTxt, "dtoverlay=disable-bluetooth\n", "f:1: unknown overlay disable-bluetooth"},
		{"config.txt param", checkConfigTxt, "dtparam=spy=on\n", "f:1: unknown dtparam spy"},
		{"package", checkPackages, "# c\nfonts-noto-cjkk\n", "f:2: unknown package fonts-noto-cjkk"},
		{"markdown", checkMarkdown, "no title\n", "f:1: want a '# title' first line"},
		{"coturn key", checkCoturn, "# c\nlistening-port=3478\nlisten-port=3478\n", "f:3: unknown key listen-port"},
		{"coturn flag with value", checkCoturn, "no-cli=yes\n", "f:1: no-cli takes no value"},
		{"coturn key without value", checkCoturn, "realm\n", "f:1: realm needs a value"},
		{"coturn syntax", checkCoturn, "realm: x\n", "f:1: cannot parse"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := tc.check("f", []byte(tc.doc))
			require.NotEmpty(t, got, "checker accepted a bad file")
			assert.True(t, strings.HasPrefix(got[0], tc.want), "got %q, want it to start with %q", got[0], tc.want)
		})
	}
}

// --- kiosk.example.toml and boards/*.toml ---

// checkEmbedGo checks the one Go file of firmware-config: package
// firmwareconfig embedding the board profiles, and nothing else.
func checkEmbedGo(file string, data []byte) []string {
	f, err := parser.ParseFile(token.NewFileSet(), file, data, parser.ParseComments)
	if err != nil {
		return []string{err.Error()}
	}
	var probs []string
	if f.Name.Name != "firmwareconfig" {
		probs = append(probs, fmt.Sprintf("%s:1: package %s, want firmwareconfig", file, f.Name.Name))
	}
	if !bytes.Contains(data, []byte("\n//go:embed boards/*.toml\n")) {
		probs = append(probs, file+":1: want the directive //go:embed boards/*.toml")
	}
	if len(f.Decls) != 2 { // the import and the embedded FS
		probs = append(probs, fmt.Sprintf("%s:1: %d declarations, want the import and var FS only: firmware-config is data", file, len(f.Decls)))
	}
	return probs
}

func checkKioskConfig(file string, data []byte) []string {
	if _, err := config.Parse(file, data); err != nil {
		return strings.Split(err.Error(), "\n")
	}
	return nil
}

func checkBoard(file string, data []byte) []string {
	b, err := boards.Parse(file, data)
	if err != nil {
		return strings.Split(err.Error(), "\n")
	}
	if want := strings.TrimSuffix(path.Base(file), ".toml"); b.Name != want {
		return []string{fmt.Sprintf("%s: name %q: want %q, the file's name", file, b.Name, want)}
	}
	return nil
}

// --- line-based formats ---

// lines yields the non-blank, non-comment lines with their 1-based
// numbers, joining lines ending in a backslash (numbered by their first).
func lines(data []byte, comment string) (nums []int, texts []string) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	n, start := 0, 0
	var acc strings.Builder
	for sc.Scan() {
		n++
		line := strings.TrimSpace(sc.Text())
		if acc.Len() == 0 {
			if line == "" || strings.ContainsAny(line[:1], comment) {
				continue
			}
			start = n
		}
		if strings.HasSuffix(line, `\`) {
			acc.WriteString(strings.TrimSuffix(line, `\`) + " ")
			continue
		}
		acc.WriteString(line)
		nums, texts = append(nums, start), append(texts, acc.String())
		acc.Reset()
	}
	if acc.Len() > 0 {
		nums, texts = append(nums, start), append(texts, acc.String())
	}
	return nums, texts
}

// systemdKeys are the sections and keys our units may use (systemd.unit,
// systemd.service, systemd.exec, systemd.kill, systemd.resource-control).
var systemdKeys = map[string][]string{
	"Unit": {"Description", "Documentation", "Wants", "Requires", "BindsTo", "PartOf",
		"After", "Before", "Conflicts", "ConditionPathExists", "StartLimitIntervalSec", "StartLimitBurst"},
	"Service": {"Type", "NotifyAccess", "WatchdogSec", "ExecStart", "ExecStartPre", "ExecStartPost",
		"ExecStop", "ExecReload", "Restart", "RestartSec", "TimeoutStartSec", "TimeoutStopSec",
		"User", "Group", "SupplementaryGroups", "DynamicUser", "Environment", "EnvironmentFile",
		"StateDirectory", "StateDirectoryMode", "ConfigurationDirectory", "CacheDirectory",
		"LogsDirectory", "RuntimeDirectory", "WorkingDirectory", "UMask", "ReadWritePaths",
		"ReadOnlyPaths", "NoNewPrivileges", "ProtectSystem", "ProtectHome", "PrivateTmp",
		"ProtectControlGroups", "ProtectKernelModules", "ProtectKernelLogs", "ProtectHostname",
		"RestrictAddressFamilies", "RestrictNamespaces", "RestrictRealtime", "RestrictSUIDSGID",
		"LockPersonality", "MemoryDenyWriteExecute", "SystemCallArchitectures", "SystemCallFilter",
		"CapabilityBoundingSet", "AmbientCapabilities", "LimitNOFILE", "Nice", "KillMode", "KillSignal",
		"MemoryMax", "CPUQuota", "StandardOutput", "StandardError"},
	"Install": {"WantedBy", "RequiredBy", "Alias", "Also"},
}

// desktopKeys are the keys of an XDG autostart entry (Desktop Entry
// Specification 1.5, plus the GNOME autostart key).
var desktopKeys = map[string][]string{
	"Desktop Entry": {"Type", "Name", "Comment", "Exec", "TryExec", "Icon", "Terminal",
		"NoDisplay", "Hidden", "OnlyShowIn", "NotShowIn", "X-GNOME-Autostart-enabled",
		"X-GNOME-Autostart-Delay"},
}

var keyRE = regexp.MustCompile(`^([A-Za-z][A-Za-z0-9-]*)\s*=`)

// checkINI checks an INI-like file (systemd unit, desktop entry): known
// sections, known keys within them, Key=Value lines only.
func checkINI(known map[string][]string) checker {
	return func(file string, data []byte) []string {
		var probs []string
		bad := func(n int, format string, args ...any) {
			probs = append(probs, fmt.Sprintf("%s:%d: ", file, n)+fmt.Sprintf(format, args...))
		}
		section := ""
		nums, texts := lines(data, "#;")
		for i, line := range texts {
			n := nums[i]
			if strings.HasPrefix(line, "[") {
				section = strings.TrimSuffix(strings.TrimPrefix(line, "["), "]")
				if _, ok := known[section]; !ok || !strings.HasSuffix(line, "]") {
					bad(n, "unknown section %s", line)
				}
				continue
			}
			m := keyRE.FindStringSubmatch(line)
			switch {
			case m == nil:
				bad(n, "cannot parse %q: want Key=Value", line)
			case section == "":
				bad(n, "key %s outside a section", m[1])
			case known[section] != nil && !slices.Contains(known[section], m[1]):
				bad(n, "unknown key %s in [%s]", m[1], section)
			}
		}
		return probs
	}
}

// udev rule keys (udev(7)): which may be matched, which assigned, and
// which take a {name}.
var (
	udevMatch    = []string{"ACTION", "DEVPATH", "KERNEL", "KERNELS", "NAME", "SYMLINK", "SUBSYSTEM", "SUBSYSTEMS", "DRIVER", "DRIVERS", "ATTR", "ATTRS", "SYSCTL", "ENV", "CONST", "TAG", "TAGS", "TEST", "PROGRAM", "RESULT"}
	udevAssign   = []string{"NAME", "SYMLINK", "OWNER", "GROUP", "MODE", "SECLABEL", "ATTR", "SYSCTL", "ENV", "TAG", "RUN", "LABEL", "GOTO", "IMPORT", "OPTIONS"}
	udevNeedsArg = []string{"ATTR", "ATTRS", "SYSCTL", "ENV", "CONST", "SECLABEL", "IMPORT"}
	udevPairRE   = regexp.MustCompile(`^([A-Z_]+)(\{[^{}]+\})?\s*(==|!=|\+=|-=|:=|=)\s*"([^"]*)"$`)
	udevModeRE   = regexp.MustCompile(`^0[0-7]{3}$`)
)

// checkUdev checks rules of comma-separated KEY=="value" matches and
// KEY="value" assignments (udev(7)) with known keys only; MODE is octal.
func checkUdev(file string, data []byte) []string {
	var probs []string
	nums, texts := lines(data, "#")
	for i, line := range texts {
		n := nums[i]
		bad := func(format string, args ...any) {
			probs = append(probs, fmt.Sprintf("%s:%d: ", file, n)+fmt.Sprintf(format, args...))
		}
		assigns := 0
		for _, pair := range splitUdev(line) {
			m := udevPairRE.FindStringSubmatch(strings.TrimSpace(pair))
			if m == nil {
				bad("cannot parse %q: want KEY==\"value\" or KEY=\"value\"", strings.TrimSpace(pair))
				continue
			}
			key, arg, op, val := m[1], m[2], m[3], m[4]
			isMatch := op == "==" || op == "!="
			switch {
			case !slices.Contains(udevMatch, key) && !slices.Contains(udevAssign, key):
				bad("unknown key %s", key)
				continue
			case isMatch && !slices.Contains(udevMatch, key):
				bad("%s cannot be matched", key)
			case !isMatch && !slices.Contains(udevAssign, key):
				bad("%s cannot be assigned", key)
			}
			if slices.Contains(udevNeedsArg, key) && arg == "" {
				bad("%s needs {name}", key)
			}
			if key == "MODE" && !udevModeRE.MatchString(val) {
				bad("MODE %q: want four octal digits", val)
			}
			if !isMatch {
				assigns++
			}
		}
		if assigns == 0 && len(probs) == 0 {
			bad("rule assigns nothing")
		}
	}
	return probs
}

// splitUdev splits a rule at the commas outside quotes.
func splitUdev(line string) []string {
	var parts []string
	quoted, start := false, 0
	for i, r := range line {
		switch {
		case r == '"':
			quoted = !quoted
		case r == ',' && !quoted:
			parts = append(parts, line[start:i])
			start = i + 1
		}
	}
	if rest := strings.TrimSpace(line[start:]); rest != "" {
		parts = append(parts, rest)
	}
	return parts
}

// config.txt (Raspberry Pi firmware): known conditional sections, keys,
// and the dtparams and overlays we know about.
var (
	configSections = []string{"all", "none", "pi0", "pi0w", "pi02", "pi1", "pi2", "pi3", "pi3+", "pi4", "pi400", "pi5", "pi500", "cm4", "cm5"}
	configKeys     = []string{"dtparam", "dtoverlay", "enable_uart", "core_freq", "arm_64bit", "arm_boost",
		"gpu_mem", "camera_auto_detect", "display_auto_detect", "auto_initramfs", "disable_overscan",
		"max_framebuffers", "hdmi_force_hotplug", "hdmi_group", "hdmi_mode", "hdmi_cvt", "disable_splash",
		"display_rotate", "otg_mode", "include", "kernel", "initramfs", "uart_2ndstage", "force_turbo"}
	configParams   = []string{"spi", "i2c_arm", "i2s", "audio", "uart0", "uart0_console", "krnbt", "watchdog", "pciex1", "pciex1_gen"}
	configOverlays = []string{"disable-bt", "miniuart-bt", "vc4-kms-v3d", "vc4-fkms-v3d", "dwc2",
		"uart0", "uart1", "uart2", "uart3", "uart4", "uart5", "spi1-1cs", "spi1-2cs", "spi1-3cs", "gpio-shutdown"}
)

func checkConfigTxt(file string, data []byte) []string {
	var probs []string
	nums, texts := lines(data, "#")
	for i, line := range texts {
		bad := func(format string, args ...any) {
			probs = append(probs, fmt.Sprintf("%s:%d: ", file, nums[i])+fmt.Sprintf(format, args...))
		}
		if strings.HasPrefix(line, "[") {
			if s := strings.TrimSuffix(strings.TrimPrefix(line, "["), "]"); !slices.Contains(configSections, s) {
				bad("unknown section %s", line)
			}
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		if !ok {
			bad("cannot parse %q: want key=value", line)
			continue
		}
		switch key {
		case "dtparam":
			for _, p := range strings.Split(val, ",") {
				name, _, _ := strings.Cut(p, "=")
				if !slices.Contains(configParams, name) {
					bad("unknown dtparam %s", name)
				}
			}
		case "dtoverlay":
			name, _, _ := strings.Cut(val, ",")
			if !slices.Contains(configOverlays, name) {
				bad("unknown overlay %s", name)
			}
		default:
			if !slices.Contains(configKeys, key) {
				bad("unknown key %s", key)
			}
		}
	}
	return probs
}

var aptPackages = []string{"chromium", "chromium-browser", "fonts-noto-cjk", "fonts-noto-cjk-extra", "fonts-wqy-microhei", "fonts-wqy-zenhei", "unclutter", "wtype"}

func checkPackages(file string, data []byte) []string {
	var probs []string
	nums, texts := lines(data, "#")
	for i, name := range texts {
		if !slices.Contains(aptPackages, name) {
			probs = append(probs, fmt.Sprintf("%s:%d: unknown package %s", file, nums[i], name))
		}
	}
	return probs
}

func checkMarkdown(file string, data []byte) []string {
	if !bytes.HasPrefix(data, []byte("# ")) {
		return []string{file + ":1: want a '# title' first line"}
	}
	return nil
}

// --- turn/*.conf ---

// coturnFlags and coturnValued are the turnserver.conf keys we may use
// (coturn 4.6 turnserver(1) options without the leading "--"): flags
// stand alone, the others are key=value.
var (
	coturnFlags = []string{"use-auth-secret", "lt-cred-mech", "fingerprint", "no-tlsv1", "no-tlsv1_1",
		"no-cli", "no-stdout-log", "simple-log", "syslog", "no-multicast-peers", "no-tcp-relay",
		"no-udp-relay", "no-dtls", "no-tls", "no-udp", "no-tcp", "verbose", "mobility",
		"no-rfc5780", "no-stun-backward-compatibility", "response-origin-only-with-rfc5780",
		"secure-stun", "check-origin-consistency", "prometheus"}
	coturnValued = []string{"listening-port", "tls-listening-port", "alt-listening-port",
		"alt-tls-listening-port", "listening-ip", "relay-ip", "external-ip", "min-port", "max-port",
		"static-auth-secret", "realm", "server-name", "cert", "pkey", "cipher-list", "dh-file",
		"total-quota", "user-quota", "max-bps", "bps-capacity", "stale-nonce", "denied-peer-ip",
		"allowed-peer-ip", "log-file", "proc-user", "proc-group", "pidfile", "channel-lifetime",
		"permission-lifetime", "max-allocate-lifetime", "relay-threads", "prometheus-port"}
	coturnRE = regexp.MustCompile(`^([a-z][a-z0-9_-]*)(?:=(.*))?$`)
)

// checkCoturn checks a coturn turnserver.conf: one option a line, a known
// flag alone or a known key=value.
func checkCoturn(file string, data []byte) []string {
	var probs []string
	nums, texts := lines(data, "#")
	for i, line := range texts {
		bad := func(format string, args ...any) {
			probs = append(probs, fmt.Sprintf("%s:%d: ", file, nums[i])+fmt.Sprintf(format, args...))
		}
		m := coturnRE.FindStringSubmatch(line)
		switch {
		case m == nil:
			bad("cannot parse %q: want key=value or a flag", line)
		case slices.Contains(coturnFlags, m[1]):
			if strings.Contains(line, "=") {
				bad("%s takes no value", m[1])
			}
		case slices.Contains(coturnValued, m[1]):
			if strings.TrimSpace(m[2]) == "" {
				bad("%s needs a value", m[1])
			}
		default:
			bad("unknown key %s", m[1])
		}
	}
	return probs
}
