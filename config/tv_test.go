package config_test

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/config"
	"github.com/qinqing/station/kiosk/tv"
)

// withTVs is the hardware configuration (relay "tv") plus two TVs.
const withTVs = hardware + `
[[tv]]
name = "tv1"
relay = "tv"
cec = false
curfew = "20:30"
booth = "b1"

[[tv]]
name = "tv2"
room = "活动室"
`

func TestTVConfig(t *testing.T) {
	c, err := config.Parse("tv.toml", []byte(withTVs))
	require.NoError(t, err)
	require.Len(t, c.TVs, 2)
	assert.Equal(t, "tv", c.TVs[0].Relay)
	assert.Equal(t, config.CECOff, c.TVs[0].CECMode())
	assert.Equal(t, tv.Curfew(20*60+30), c.TVs[0].CurfewTime())
	assert.Equal(t, "b1", c.TVs[0].Place(), "no room: the booth")
	assert.Equal(t, config.CECAuto, c.TVs[1].CECMode(), "cec defaults to auto")
	assert.Equal(t, tv.Curfew(21*60), c.TVs[1].CurfewTime(), "curfew defaults to 21:00")
	assert.Equal(t, "活动室", c.TVs[1].Place())
	assert.Equal(t, tv.Curfew(0), config.TV{Curfew: "none"}.CurfewTime())
	assert.Equal(t, config.CECOn, config.TV{CEC: true}.CECMode())
}

func TestTVConfigProblems(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to string // replace in withTVs
		at       string // the problem is on the first (last, if last) line containing it
		last     bool
		text     string
	}{
		{"unknown relay", `relay = "tv"`, `relay = "tv9"`, `relay = "tv9"`, false, `no [[devices.relay]] named "tv9"`},
		{"relay used twice", `room = "活动室"`, "room = \"活动室\"\nrelay = \"tv\"", `relay = "tv"`, true, `relay "tv" already switches tv "tv1"`},
		{"bad cec", `cec = false`, `cec = "yes"`, `cec = "yes"`, false, `want true, false or "auto"`},
		{"bad curfew", `curfew = "20:30"`, `curfew = "8pm"`, `curfew = "8pm"`, false, `bad curfew "8pm"`},
		{"unknown booth", `booth = "b1"`, `booth = "b9"`, `booth = "b9"`, false, `no [[booth]] with id "b9"`},
		{"duplicate name", `name = "tv2"`, `name = "tv1"`, "name = \"tv1\"\nroom", false, `"tv1" is used by another [[tv]]`},
		{"unknown key", `room = "活动室"`, "room = \"活动室\"\nchannel = 5", "channel", false, "unknown key tv[1].channel"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(withTVs, tc.from, tc.to, 1)
			require.NotEqual(t, withTVs, doc, "replacement must apply")
			_, err := config.Parse("tv.toml", []byte(doc))
			require.Error(t, err)
			i := strings.Index(doc, tc.at)
			if tc.last {
				i = strings.LastIndex(doc, tc.at)
			}
			require.GreaterOrEqual(t, i, 0)
			line := 1 + strings.Count(doc[:i], "\n")
			found := false
			for _, p := range problemsOf(t, err) {
				if p.Line == line && strings.Contains(p.Message, tc.text) {
					found = true
				}
			}
			assert.True(t, found, "want tv.toml:%d: ...%s..., got:\n%s", line, tc.text, err)
		})
	}
}

func TestExampleDocumentsTV(t *testing.T) {
	data, err := os.ReadFile("../firmware-config/kiosk.example.toml")
	require.NoError(t, err)
	i := strings.Index(string(data), "\n[[tv]]\n")
	require.GreaterOrEqual(t, i, 0, "the example has a [[tv]] table")
	section := string(data[i:])
	for _, key := range []string{"name =", "relay =", "cec =", "curfew =", "booth =", "room ="} {
		assert.Contains(t, section, "\n"+key, "example should document tv key %s", key)
	}
}
