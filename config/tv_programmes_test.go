package config_test

import (
	"fmt"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/config"
)

func TestTVProgrammes(t *testing.T) {
	doc := strings.Replace(withTVs, `room = "活动室"`, "room = \"活动室\"\nprogrammes = [\"CCTV-少儿\", \"新闻联播\"]", 1)
	c, err := config.Parse("tv.toml", []byte(doc))
	require.NoError(t, err)
	assert.Equal(t, []string{"CCTV-少儿", "新闻联播"}, c.TVs[1].Programmes)
	assert.Empty(t, c.TVs[0].Programmes, "none by default")

	many := make([]string, config.MaxTVProgrammes+1)
	for i := range many {
		many[i] = fmt.Sprintf("%q", fmt.Sprintf("CCTV-%d", i+1))
	}
	for _, tc := range []struct{ name, list, text string }{
		{"empty", `["CCTV-少儿", " "]`, "an empty programme"},
		{"twice", `["新闻联播", "新闻联播 "]`, `"新闻联播 " is listed twice`},
		{"too long", `["` + strings.Repeat("长", 101) + `"]`, "longer than 100 characters"},
		{"too many", "[" + strings.Join(many, ", ") + "]", "at most 12 fit"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(withTVs, `room = "活动室"`, "room = \"活动室\"\nprogrammes = "+tc.list, 1)
			_, err := config.Parse("tv.toml", []byte(doc))
			require.Error(t, err)
			line := 1 + strings.Count(doc[:strings.Index(doc, "programmes =")], "\n")
			found := false
			for _, p := range problemsOf(t, err) {
				if p.Line == line && strings.Contains(p.Message, tc.text) {
					found = true
				}
			}
			assert.True(t, found, "want tv.toml:%d: ...%s..., got:\n%s", line, tc.text, err)
		})
	}

	data, err := os.ReadFile("../firmware-config/kiosk.example.toml")
	require.NoError(t, err)
	assert.Contains(t, string(data[strings.Index(string(data), "\n[[tv]]\n"):]), "\nprogrammes = [",
		"the example documents programmes")
}
