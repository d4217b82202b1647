package schoolcsv_test

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/schoolcsv"
)

func TestDecode(t *testing.T) {
	const text = "姓名,班级\n小明,三年级\n"
	gb, err := simplifiedchinese.GB18030.NewEncoder().String(text)
	require.NoError(t, err)
	require.NotEqual(t, text, gb, "the GB18030 input must differ from UTF-8")
	for _, tc := range []struct {
		name, in string
	}{
		{"UTF-8", text},
		{"UTF-8 with BOM", "\xEF\xBB\xBF" + text},
		{"GB18030", gb},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := schoolcsv.Decode([]byte(tc.in))
			require.NoError(t, err)
			assert.Equal(t, text, got)
		})
	}
}

func TestDecodeRefused(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"UTF-16 LE", "\xFF\xFEI\x00", "UTF-16 text: in Excel, save as \"CSV UTF-8\" or \"CSV\""},
		{"UTF-16 BE", "\xFE\xFF\x00I", "UTF-16 text: in Excel, save as \"CSV UTF-8\" or \"CSV\""},
		{"BOM then invalid", "\xEF\xBB\xBF\xFF\xFF", "starts with a UTF-8 byte order mark but is not valid UTF-8"},
		{"neither", "\xFF\xFF,\x80\n", "neither UTF-8 nor GB18030 text"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := schoolcsv.Decode([]byte(tc.in))
			require.Error(t, err)
			assert.Empty(t, got)
			assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
			assert.Equal(t, tc.want, kiosk.ErrorMessage(err))
		})
	}
}

func TestProblemString(t *testing.T) {
	assert.Equal(t, "line 3: 班级: missing class", schoolcsv.Problem{Line: 3, Column: "班级", Message: "missing class"}.String())
	assert.Equal(t, "line 1: empty file", schoolcsv.Problem{Line: 1, Message: "empty file"}.String())
}

func TestParseError(t *testing.T) {
	pe := schoolcsv.NewParseError("roster file", []schoolcsv.Problem{
		{Line: 5, Message: "b"},
		{Line: 2, Column: "姓名", Message: "a"},
		{Line: 5, Message: "c"},
	})
	assert.Equal(t, "line 2: 姓名: a\nline 5: b\nline 5: c", pe.Error(), "sorted by line, stable, one per line")

	var err error = pe
	var got *schoolcsv.ParseError
	require.True(t, errors.As(err, &got))
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
	assert.Equal(t, "roster file: 3 problem(s), first: line 2: 姓名: a", kiosk.ErrorMessage(err))

	empty := &schoolcsv.ParseError{}
	assert.Equal(t, "file: 0 problem(s), first: none", kiosk.ErrorMessage(empty))
}

func TestRead(t *testing.T) {
	type call struct {
		what string
		rec  []string
		line int
	}
	for _, tc := range []struct {
		name     string
		in       string
		headerOK bool
		calls    []call
		problems []string
	}{
		{
			name: "header and rows, blank rows skipped", in: "\n a,b\n , \n1,\"x\ny\"\n\n2\n", headerOK: true,
			calls: []call{{"header", []string{" a", "b"}, 2}, {"row", []string{"1", "x\ny"}, 4}, {"row", []string{"2"}, 7}},
		},
		{
			name: "bad header stops", in: "a\n1\n", headerOK: false,
			calls: []call{{"header", []string{"a"}, 1}},
		},
		{
			name: "empty", in: "\n ,\n", headerOK: true,
			problems: []string{"line 1: empty file: want a header row (姓名, 班级)"},
		},
		{
			name: "syntax error", in: "a\n1\nx\"y\n3\n", headerOK: true,
			calls:    []call{{"header", []string{"a"}, 1}, {"row", []string{"1"}, 2}},
			problems: []string{"line 3: CSV syntax: bare \" in non-quoted-field (check the quotes); lines after it were not checked"},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cr := schoolcsv.NewReader(tc.in)
			var calls []call
			record := func(what string, rec []string) {
				line, _ := cr.FieldPos(0)
				calls = append(calls, call{what, rec, line})
			}
			ps := schoolcsv.Read(cr, "姓名, 班级", func(rec []string) bool {
				record("header", rec)
				return tc.headerOK
			}, func(rec []string) { record("row", rec) })
			assert.Equal(t, tc.calls, calls)
			var got []string
			for _, p := range ps {
				got = append(got, p.String())
			}
			assert.Equal(t, tc.problems, got)
		})
	}
}
