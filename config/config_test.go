package config_test

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk"
)

// valid is a small configuration that validates; tests append to it or
// replace parts of it.
const valid = `
[hours]
windows = ["daily 00:00-24:00"]

[[sip.extension]]
user = "101"
password = "password-101"

[[sip.trunk]]
name = "t"
uri = "sip:127.0.0.1:5070"

[[booth]]
id = "b1"
reader = "r1"
extension = "101"

[[devices.reader]]
name = "r1"
kind = "sim"
`

func problemsOf(t *testing.T, err error) config.Problems {
	t.Helper()
	require.Error(t, err, "want problems")
	var ps *config.Problems
	require.True(t, errors.As(err, &ps), "error is %T, want *config.Problems", err)
	require.NotEmpty(t, *ps)
	return *ps
}

type want struct {
	line int
	text string
}

var wantRE = regexp.MustCompile(`#\s*want(-line-0)?\s+("(?:[^"\\]|\\.)*")`)

// fixtureWants reads the `# want "text"` annotations of a fixture: a
// problem containing text on that line, or on line 0 for want-line-0.
func fixtureWants(t *testing.T, data []byte) []want {
	t.Helper()
	var ws []want
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		m := wantRE.FindStringSubmatch(sc.Text())
		if m == nil {
			continue
		}
		text, err := strconv.Unquote(m[2])
		require.NoError(t, err, "line %d: bad want annotation", n)
		line := n
		if m[1] != "" {
			line = 0
		}
		ws = append(ws, want{line, text})
	}
	require.NotEmpty(t, ws, "fixture has no want annotations")
	return ws
}

func TestParseFixtures(t *testing.T) {
	files, err := filepath.Glob("../testdata/config/*.toml")
	require.NoError(t, err)
	require.NotEmpty(t, files, "no fixtures in testdata/config")
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			data, err := os.ReadFile(file)
			require.NoError(t, err)
			wants := fixtureWants(t, data)

			_, err = config.Load(file)
			ps := problemsOf(t, err)
			got := map[int][]string{}
			for _, p := range ps {
				assert.Equal(t, file, p.File, "problem names the file")
				got[p.Line] = append(got[p.Line], p.Message)
			}
			matched := map[int]int{}
			for _, w := range wants {
				found := false
				for _, msg := range got[w.line] {
					if strings.Contains(msg, w.text) {
						found = true
					}
				}
				matched[w.line]++
				assert.True(t, found, "want a problem at line %d containing %q; line has %q\nall:\n%s", w.line, w.text, got[w.line], err)
			}
			for line, msgs := range got {
				assert.Equal(t, matched[line], len(msgs), "line %d: unexpected problems %q", line, msgs)
			}
		})
	}
}

func TestExampleValidates(t *testing.T) {
	c, err := config.Load("../firmware-config/kiosk.example.toml")
	require.NoError(t, err, "the example must validate")
	assert.Equal(t, "Asia/Shanghai", c.Station.Timezone)
	assert.Equal(t, 5*time.Minute, c.Limits.Call.Duration)
	require.Len(t, c.Booths, 1)
	assert.Equal(t, "101", c.Booths[0].Extension)
	assert.True(t, c.Booths[0].HasScreen())
	assert.Equal(t, "booth1", c.Booths[0].ScreenID())
	p, err := c.Policy()
	require.NoError(t, err)
	assert.Equal(t, "Asia/Shanghai", p.Hours.Loc.String())
	assert.Equal(t, []string{"+8613800000000", "12355"}, p.HelpNumbers)
}

// TestExampleDocumentsEveryKey checks that every key of a fully populated
// configuration appears in the example, so the example cannot fall behind
// the code.
func TestExampleDocumentsEveryKey(t *testing.T) {
	data, err := os.ReadFile("../firmware-config/kiosk.example.toml")
	require.NoError(t, err)
	for _, key := range []string{
		"[station]", "name =", "school =", "timezone =", "card_format =",
		"[hours]", "windows =", "[[hours.closure]]", "from =", "to =", "note =",
		"[limits]", "call =", "warnings =", "quota_minutes =", "quota_calls =",
		"[help]", "code =", "duty_teacher =", "numbers =", "limit =",
		"[sip]", "listen =", "media_ip =", "rtp_ports =", "ring_timeout =", "trunk_timeout =", "rtp_timeout =",
		"[[sip.extension]]", "user =", "password =",
		"[[sip.trunk]]", "uri =", "dial_pattern =", "codecs =", "channels =",
		"[[booth]]", "id =", "reader =", "light =", "extension =", "screen =",
		"[devices]", "board =", "[[devices.reader]]", "[[devices.light]]", "kind =",
		"spi =", "rst =", "irq =", "poll =", "port =", "path =", "input_name =", "absence =",
		"red =", "green =", "blue =", "active_low =",
		"[[devices.button]]", "booth =", "pin =", "pull =", "press =", "debounce =", "[[devices.relay]]", "[[devices.scanner]]",
		"[storage]", "data_dir =", "[http]", "admin =",
		"[video]", "enabled =", "public_url =", "peer_timeout =", "udp_port =", "[[video.ice_server]]", "urls =", "secret =", "ttl =",
		"[books]", "max_loans =", "loan_days =", "renewals =", "term_end =", "block_after_days =", "reminders =",
	} {
		assert.Contains(t, string(data), "\n"+key, "example should document %s", key)
	}
}

func TestDemoValidates(t *testing.T) {
	c := config.Demo()
	require.NoError(t, c.Validate(), "Demo() must validate")
	require.Len(t, c.Booths, 1)
	assert.Equal(t, config.DemoBooth, c.Booths[0].ID)
	assert.Equal(t, config.DemoExtension, c.Booths[0].Extension)
	require.Len(t, c.SIP.Extensions, 1)
	assert.GreaterOrEqual(t, len(c.SIP.Extensions[0].Password), 16, "demo password is random and long")
	assert.NotEqual(t, c.SIP.Extensions[0].Password, config.Demo().SIP.Extensions[0].Password, "each demo gets its own password")
	require.Len(t, c.SIP.Trunks, 1)

	p, err := c.Policy()
	require.NoError(t, err)
	assert.Equal(t, 60*time.Second, p.Limit)
	assert.Equal(t, []time.Duration{30 * time.Second}, p.Warnings, "one warning that fires within a 60 s call")
	assert.Equal(t, "0", p.HelpCode)
	for _, at := range []time.Time{
		time.Date(2025, 3, 3, 0, 0, 0, 0, p.Hours.Loc),   // Monday midnight
		time.Date(2025, 3, 9, 23, 59, 0, 0, p.Hours.Loc), // Sunday night
		time.Date(2025, 3, 5, 12, 0, 0, 0, p.Hours.Loc),
	} {
		assert.True(t, p.Hours.Open(at), "demo is open at %v", at)
	}
}

func TestDefault(t *testing.T) {
	c := config.Default()
	assert.Equal(t, config.DefaultTimezone, c.Station.Timezone)
	assert.Equal(t, config.CardHex, c.Station.CardFormat)
	assert.Equal(t, 5*time.Minute, c.Limits.Call.Duration)
	assert.Equal(t, []config.Duration{config.D(120 * time.Second), config.D(60 * time.Second)}, c.Limits.Warnings)
	assert.Equal(t, "0", c.Help.Code)
	assert.Equal(t, []string{"udp:127.0.0.1:5060", "tcp:127.0.0.1:5060"}, c.SIP.Listen)
	assert.Equal(t, config.PortRange{Min: 10000, Max: 10999}, c.SIP.RTPPorts)
	assert.Equal(t, 45*time.Second, c.SIP.RingTimeout.Duration)
	assert.Equal(t, 30*time.Second, c.SIP.RTPTimeout.Duration)
	assert.Equal(t, "./kiosk-data", c.Storage.DataDir)
	assert.Equal(t, "127.0.0.1:8080", c.HTTP.Listen)

	// Default alone has nothing to call from or through: Validate says so
	// without file lines.
	ps := problemsOf(t, c.Validate())
	for _, p := range ps {
		assert.Equal(t, 0, p.Line, "no file, no line: %s", p)
		assert.Equal(t, "default", p.File)
	}
}

func TestParseFillsDefaults(t *testing.T) {
	c, err := config.Parse("k.toml", []byte(valid))
	require.NoError(t, err)
	assert.Equal(t, "{national}", c.SIP.Trunks[0].DialPattern, "trunk default dial pattern")
	assert.Equal(t, []string{"PCMU", "PCMA", "telephone-event"}, c.SIP.Trunks[0].Codecs)
	assert.Equal(t, "b1", c.Booths[0].Name, "booth name defaults to its id")
	assert.Equal(t, config.DefaultTimezone, c.Station.Timezone)

	// An explicitly empty dial pattern is an error, not the default.
	_, err = config.Parse("k.toml", []byte(valid+"[[sip.trunk]]\nname = \"u\"\nuri = \"sip:127.0.0.1\"\ndial_pattern = \"\"\n"))
	ps := problemsOf(t, err)
	require.Len(t, ps, 1, "%s", err)
	assert.Equal(t, 24, ps[0].Line)
	assert.Contains(t, ps[0].Message, "dial pattern is empty")
}

func TestParseProblemLines(t *testing.T) {
	// valid has 20 lines (the first is empty): extra starts on line 21.
	for _, tc := range []struct {
		name       string
		top, extra string // put before and after valid
		line       int
		text       string
	}{
		{"unknown key in nested inline table", "", "[http]\nlisten = \"127.0.0.1:8080\"\nextra = { a = 1 }\n", 23, "unknown key http.extra"},
		{"unknown key in second array element", "", "[[devices.light]]\nname = \"l1\"\nkind = \"sim\"\n[[devices.light]]\nname = \"l2\"\nknd = \"sim\"\n", 26, "unknown key devices.light[1].knd"},
		{"bad duration", "", "[sip]\nring_timeout = \"forever\"\n", 22, "sip.ring_timeout: bad duration"},
		{"bad item in multi-line array", "", "[limits]\nwarnings = [\n  \"60s\",\n  \"10m\",\n]\n", 24, "limits.warnings[1]: warning 10m0s"},
		{"dotted key", "limits.call = \"2h\"\n", "", 1, "limits.call: 2h0m0s is longer"},
		{"missing key reported at its table", "", "[[sip.trunk]]\nname = \"t2\"\n", 21, "sip.trunk[1].uri: \"\": want a SIP URI"},
		{"cross reference", "", "[[booth]]\nid = \"b2\"\nreader = \"r2\"\nscreen = \"s2\"\n", 23, "no [[devices.reader]] named \"r2\""},
		{"integer for a duration", "", "[sip]\nrtp_timeout = 30\n", 22, "sip.rtp_timeout: bad duration 30"},
		{"type error in array of tables", "", "[[booth]]\nid = 2\n", 22, "booth[1].id: want a string, got a TOML integer"},
		{"bare date", "", "[[hours.closure]]\nfrom = 2025-10-01\nto = \"2025-10-02\"\n", 22, `hours.closure[0].from: want a quoted date such as "2025-10-01", got a TOML local date`},
		{"screen of a wrong type", "", "[[booth]]\nid = \"b2\"\nreader = \"r1\"\nscreen = 3\n", 24, "booth[1].screen: want true, false or a screen id string"},
		{"syntax error", "", "[http\n", 21, "syntax"},
		{"table in the wrong case", "", "[HTTP]\nlisten = \"127.0.0.1:8080\"\n", 21, "unknown key HTTP: keys are case-sensitive; did you mean http?"},
		{"key in the wrong case", "", "[http]\nListen = \"127.0.0.1:8080\"\n", 22, "did you mean http.listen?"},
		{"video: bad public url", "", "[video]\npublic_url = \"kiosk.example\"\n", 22, "video.public_url"},
		{"video: turn without credentials", "", "[[video.ice_server]]\nurls = [\"turn:t.example:3478\"]\n", 21, "needs username and credential, or secret"},
		{"video: bad ice url", "", "[[video.ice_server]]\nurls = [\"http://t.example\"]\n", 22, "want a stun:, stuns:, turn: or turns: URL"},
		{"video: secret and static credentials", "", "[[video.ice_server]]\nurls = [\"turn:t.example\"]\nsecret = \"s\"\nusername = \"u\"\n", 23, "not both"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("k.toml", []byte(tc.top+valid+tc.extra))
			ps := problemsOf(t, err)
			var found bool
			for _, p := range ps {
				assert.Equal(t, "k.toml", p.File)
				if p.Line == tc.line && strings.Contains(p.Message, tc.text) {
					found = true
				}
			}
			assert.True(t, found, "want k.toml:%d: ...%s..., got:\n%s", tc.line, tc.text, err)
		})
	}
}

func TestEmptyWindowsReportedAtKey(t *testing.T) {
	doc := strings.Replace(valid, `windows = ["daily 00:00-24:00"]`, `windows = []`, 1)
	_, err := config.Parse("k.toml", []byte(doc))
	ps := problemsOf(t, err)
	require.Len(t, ps, 1, "%s", err)
	assert.Equal(t, "k.toml:3: hours.windows: no opening windows: calls would never be allowed (help calls still are)", ps[0].String())
}

func TestProblemsAllAtOnce(t *testing.T) {
	doc := strings.Replace(valid, `name = "t"`, `name = "t"`+"\ncolor = 1\nchannels = \"x\"", 1) +
		"[limits]\ncall = \"0s\"\nquota_calls = -1\n[station]\ntimezone = \"Mars/Olympus\"\n"
	_, err := config.Parse("k.toml", []byte(doc))
	ps := problemsOf(t, err)
	var lines []int
	for _, p := range ps {
		lines = append(lines, p.Line)
	}
	assert.Equal(t, []int{11, 12, 24, 25, 27}, lines, "one problem per bad line, in line order:\n%s", err)
	assert.Equal(t, "k.toml:11: unknown key sip.trunk[0].color", ps[0].String())
	assert.Equal(t, "k.toml:12: sip.trunk[0].channels: want an integer, got a TOML string", ps[1].String())
	assert.Equal(t, len(ps), strings.Count(err.Error(), "\n")+1, "Error() has one line per problem")
}

func TestProblemString(t *testing.T) {
	p := config.Problem{File: "kiosk.toml", Line: 7, Message: "limits.call: bad"}
	assert.Equal(t, "kiosk.toml:7: limits.call: bad", p.String())
	ps := config.Problems{p, {File: "kiosk.toml", Message: "booth: none"}}
	assert.Equal(t, "kiosk.toml:7: limits.call: bad\nkiosk.toml: booth: none", ps.Error(),
		"a problem with no line is reported against the file, without a :0")
}

// A file that cannot be read is an error of the read, not an invalid
// config: no *Problems, no line.
func TestLoadMissingFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "nope.toml")
	_, err := config.Load(path)
	require.Error(t, err)
	assert.ErrorIs(t, err, fs.ErrNotExist)
	var ps *config.Problems
	assert.False(t, errors.As(err, &ps), "a missing file is not a config problem: %v", err)
	var pe *fs.PathError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "read config "+path+": "+pe.Error(), err.Error(), "the step, the path, then the os error")
	assert.NotContains(t, err.Error(), ":0")
}

func TestPolicyCrossMidnight(t *testing.T) {
	doc := strings.Replace(valid, `windows = ["daily 00:00-24:00"]`,
		`windows = ["fri 20:00-01:00", "mon-tue 16:30-18:00"]`+"\n[[hours.closure]]\nfrom = \"2025-10-01\"\nto = \"2025-10-07\"\nnote = \"National Day\"", 1)
	c, err := config.Parse("k.toml", []byte(doc))
	require.NoError(t, err)
	p, err := c.Policy()
	require.NoError(t, err)
	assert.Equal(t, []kiosk.Window{
		{Day: time.Friday, Start: 20 * 60, End: 60},
		{Day: time.Monday, Start: 16*60 + 30, End: 18 * 60},
		{Day: time.Tuesday, Start: 16*60 + 30, End: 18 * 60},
	}, p.Hours.Windows)
	loc := p.Hours.Loc
	require.Equal(t, "Asia/Shanghai", loc.String())
	require.Len(t, p.Hours.Closures, 1)
	assert.Equal(t, time.Date(2025, 10, 1, 0, 0, 0, 0, loc), p.Hours.Closures[0].From)
	assert.Equal(t, time.Date(2025, 10, 8, 0, 0, 0, 0, loc), p.Hours.Closures[0].To, "inclusive end date becomes the next midnight")
	assert.Equal(t, "National Day", p.Hours.Closures[0].Note)

	sat := time.Date(2025, 3, 8, 0, 30, 0, 0, loc) // Saturday 00:30, in Friday's window
	assert.True(t, p.Hours.Open(sat), "open after midnight in a window that crosses it")
	assert.False(t, p.Hours.Open(sat.Add(time.Hour)), "closed at Saturday 01:30")
}

func TestPolicyErrors(t *testing.T) {
	c := config.Demo()
	c.Station.Timezone = "Nowhere/Town"
	_, err := c.Policy()
	assert.ErrorContains(t, err, "load time zone")

	c = config.Demo()
	c.Hours.Windows = []string{"mon 9-10"}
	_, err = c.Policy()
	assert.ErrorIs(t, err, kiosk.ErrWindow)
}

func TestDialUser(t *testing.T) {
	for _, tc := range []struct {
		pattern, number, want string
		err                   bool
	}{
		{"{national}", "+8613812345678", "13812345678", false},
		{"0{national}", "+861012345678", "01012345678", false},
		{"{national}", "+447700900123", "00447700900123", false},
		{"{e164}", "+8613812345678", "+8613812345678", false},
		{"+{e164digits}", "+86 138-1234-5678", "+8613812345678", false},
		{"*31#{e164digits}", "+8613812345678", "*31#8613812345678", false},
		{"{national}", "12355", "12355", false},
		{"{number}", "+8613812345678", "", true},
		{"{e164}{national}", "+8613812345678", "", true},
		{"9", "+8613812345678", "", true},
		{"{national", "+8613812345678", "", true},
		{"sip:{e164}", "+8613812345678", "", true},
		{"{e164}", "+0123", "", true},
		{"{e164}", "abc", "", true},
	} {
		t.Run(tc.pattern+" "+tc.number, func(t *testing.T) {
			got, err := config.Trunk{DialPattern: tc.pattern}.DialUser(tc.number)
			if tc.err {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}

func TestTypes(t *testing.T) {
	t.Run("duration", func(t *testing.T) {
		var d config.Duration
		require.NoError(t, d.UnmarshalText([]byte("1m30s")))
		assert.Equal(t, 90*time.Second, d.Duration)
		assert.Error(t, d.UnmarshalText([]byte("90")), "a unitless number is refused")
		assert.Error(t, d.UnmarshalText([]byte("-1s")))
		b, err := d.MarshalText()
		require.NoError(t, err)
		assert.Equal(t, "1m30s", string(b))
	})
	t.Run("port range", func(t *testing.T) {
		var r config.PortRange
		require.NoError(t, r.UnmarshalText([]byte("10000-10999")))
		assert.Equal(t, config.PortRange{Min: 10000, Max: 10999}, r)
		for _, bad := range []string{"10000", "100-200", "10000-70000", "2000-1000", "a-b", "5000-5000"} {
			assert.Error(t, r.UnmarshalText([]byte(bad)), "%q", bad)
		}
	})
	t.Run("date", func(t *testing.T) {
		var d config.Date
		require.NoError(t, d.UnmarshalText([]byte("2024-02-29")))
		assert.Equal(t, "2024-02-29", d.String())
		assert.Equal(t, config.Date{Year: 2024, Month: time.February, Day: 29}, d)
		assert.Error(t, d.UnmarshalText([]byte("2025-02-29")), "no such day")
		assert.Error(t, d.UnmarshalText([]byte("01/10/2025")))
	})
}

func TestBoothScreen(t *testing.T) {
	for _, tc := range []struct {
		screen any
		has    bool
		id     string
	}{
		{nil, false, ""},
		{false, false, ""},
		{true, true, "b1"},
		{"kiosk-2", true, "kiosk-2"},
		{"", false, ""},
		{int64(3), false, ""},
	} {
		b := config.Booth{ID: "b1", Screen: tc.screen}
		assert.Equal(t, tc.has, b.HasScreen(), "%#v", tc.screen)
		assert.Equal(t, tc.id, b.ScreenID(), "%#v", tc.screen)
	}
}

func TestParseListen(t *testing.T) {
	tr, addr, err := config.ParseListen("tcp:[::1]:5060")
	require.NoError(t, err)
	assert.Equal(t, "tcp", tr)
	assert.Equal(t, "[::1]:5060", addr)
	for _, bad := range []string{"127.0.0.1:5060", "tls:127.0.0.1:5061", "udp:127.0.0.1", "udp:127.0.0.1:70000"} {
		_, _, err := config.ParseListen(bad)
		assert.Error(t, err, "%q", bad)
	}
}

func FuzzParse(f *testing.F) {
	f.Add([]byte(valid))
	if data, err := os.ReadFile("../firmware-config/kiosk.example.toml"); err == nil {
		f.Add(data)
	}
	files, _ := filepath.Glob("../testdata/config/*.toml")
	for _, file := range files {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte("a = [1, [2, {b = 3}]]\n[[x.y]]\n[x.y.z]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse("fuzz.toml", data)
		if err != nil {
			var ps *config.Problems
			if !errors.As(err, &ps) {
				t.Fatalf("error is %T, want *config.Problems: %v", err, err)
			}
			if len(*ps) == 0 {
				t.Fatal("empty *Problems returned as an error")
			}
			return
		}
		// A configuration that parsed must convert to a policy.
		if _, err := c.Policy(); err != nil {
			t.Fatalf("valid config, Policy failed: %v", err)
		}
	})
}

func TestHelpNumbersCheckedAsPhones(t *testing.T) {
	for _, tc := range []struct {
		name, help string
		problem    string // "" when valid
	}{
		{"short and mobile", "duty_teacher = \"138 0000 0000\"\nnumbers = [\"12355\", \"110\", \"120\"]", ""},
		{"landline and e164", "duty_teacher = \"010-62345678\"\nnumbers = [\"+44 20 7946 0958\"]", ""},
		{"duty teacher 10 digits", "duty_teacher = \"1380000000\"", "help.duty_teacher: number \"1380000000\": 10 digits: a mobile number has 11 digits"},
		{"number 10 digits", "numbers = [\"12355\", \"1380000000\"]", "help.numbers[1]: number \"1380000000\": 10 digits: a mobile number has 11 digits"},
		{"six digits", "numbers = [\"123456\"]", "help.numbers[0]: number \"123456\": 6 digits"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, err := config.Parse("k.toml", []byte(valid+"\n[help]\n"+tc.help+"\n"))
			if tc.problem == "" {
				require.NoError(t, err)
				p, err := c.Policy()
				require.NoError(t, err)
				assert.NotContains(t, strings.Join(p.HelpNumbers, ","), " ", "separators dropped")
				return
			}
			ps := problemsOf(t, err)
			require.Len(t, ps, 1, "%s", err)
			assert.Contains(t, ps[0].String(), tc.problem)
			assert.NotContains(t, ps[0].String(), "phone:", "the config's words, without the phone parser's prefix")
		})
	}
}

// A bad window is reported in the config's words: the key, then the
// kiosk parser's message without its Go package prefix.
func TestBadWindowMessage(t *testing.T) {
	doc := strings.Replace(valid, `windows = ["daily 00:00-24:00"]`, `windows = ["someday 09:00-10:00"]`, 1)
	_, err := config.Parse("k.toml", []byte(doc))
	ps := problemsOf(t, err)
	require.Len(t, ps, 1, "%s", err)
	assert.Equal(t, `k.toml:3: hours.windows[0]: bad opening window "someday 09:00-10:00": unknown day "someday"`, ps[0].String())
}

func TestWindowsOverlapRefused(t *testing.T) {
	for _, tc := range []struct{ windows, problem string }{
		{`["mon 16:30-18:00,17:00-19:00"]`, `k.toml:3: hours.windows[0]: bad opening window "mon 16:30-18:00,17:00-19:00": mon 16:30-18:00 overlaps mon 17:00-19:00`},
		{`["mon-fri 16:30-18:00", "sat 09:00-11:00", "wed 17:00-19:00"]`, `k.toml:3: hours.windows[2]: wed 16:30-18:00 overlaps wed 17:00-19:00`},
		{`["fri 20:00-02:00", "sat 01:00-03:00"]`, `hours.windows[1]: fri 20:00-02:00 overlaps sat 01:00-03:00`},
	} {
		t.Run(tc.windows, func(t *testing.T) {
			doc := strings.Replace(valid, `windows = ["daily 00:00-24:00"]`, `windows = `+tc.windows, 1)
			_, err := config.Parse("k.toml", []byte(doc))
			ps := problemsOf(t, err)
			require.Len(t, ps, 1, "one problem, on the overlapping line: %s", err)
			assert.Contains(t, ps[0].String(), tc.problem)
			assert.NotContains(t, ps[0].Message, "kiosk:", "no Go package prefix in what the config prints")
		})
	}
	doc := strings.Replace(valid, `windows = ["daily 00:00-24:00"]`, `windows = ["mon-fri 16:30-18:00", "mon-fri 18:00-19:00", "fri 20:00-01:00", "sat 01:00-02:00"]`, 1)
	_, err := config.Parse("k.toml", []byte(doc))
	assert.NoError(t, err, "touching windows do not overlap")
}
