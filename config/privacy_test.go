package config_test

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/config"
)

func TestPrivacyRetention(t *testing.T) {
	c, err := config.Parse("hw.toml", []byte(hardware))
	require.NoError(t, err)
	assert.Equal(t, config.Retention{Years: 3}, c.Privacy.Retention, "default 3 years")

	for _, tc := range []struct {
		text  string
		want  config.Retention
		never bool
	}{
		{`"180d"`, config.Retention{Days: 180}, false},
		{`"5y"`, config.Retention{Years: 5}, false},
		{`" 30d "`, config.Retention{Days: 30}, false},
		{`"0"`, config.Retention{}, true},
		{`0`, config.Retention{}, true},
	} {
		c, err := config.Parse("p.toml", []byte(hardware+"\n[privacy]\nretention = "+tc.text+"\n"))
		require.NoError(t, err, tc.text)
		assert.Equal(t, tc.want, c.Privacy.Retention, tc.text)
		assert.Equal(t, tc.never, c.Privacy.Retention.Never(), tc.text)
	}

	now := time.Date(2029, 3, 1, 12, 0, 0, 0, time.UTC)
	assert.Equal(t, time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC), config.Retention{Years: 3}.Cutoff(now))
	assert.Equal(t, time.Date(2029, 1, 30, 12, 0, 0, 0, time.UTC), config.Retention{Days: 30}.Cutoff(now))
	assert.True(t, config.Retention{}.Cutoff(now).IsZero(), "never: nothing is due")
	assert.Equal(t, "3y", config.Retention{Years: 3}.String())
}

func TestPrivacyRetentionProblems(t *testing.T) {
	lines := strings.Count(hardware, "\n")
	for _, tc := range []struct {
		name, value, text string
	}{
		{"minutes", `"5m"`, "the unit is y (years) or d (days)"},
		{"no unit", `"30"`, "the unit is y (years) or d (days)"},
		{"negative", `"-1y"`, "bad retention"},
		{"too short", `"7d"`, `privacy.retention: 7d: want "0" (never) or 30 days to 30 years`},
		{"too long", `"31y"`, "privacy.retention: 31y"},
		{"integer", `30`, "the unit is y (years) or d (days)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := config.Parse("p.toml", []byte(hardware+"\n[privacy]\nretention = "+tc.value+"\n"))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.text)
			assert.Contains(t, err.Error(), "p.toml:"+strconv.Itoa(lines+3)+":", "on the key's line")
		})
	}
}
