package rostercsv_test

import (
	"bytes"
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/simplifiedchinese"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/rostercsv"
)

var update = flag.Bool("update", false, "regenerate the BOM and GB18030 roster fixtures from testdata/roster/good.csv")

const dir = "../../testdata/roster"

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, name))
	require.NoError(t, err)
	return b
}

// TestFixtures checks that the BOM and GB18030 fixtures are good.csv in
// those encodings; with -update it writes them.
func TestFixtures(t *testing.T) {
	src := readFixture(t, "good.csv")
	gb, err := simplifiedchinese.GB18030.NewEncoder().Bytes(src)
	require.NoError(t, err)
	want := map[string][]byte{
		"good_bom.csv":     append([]byte("\xEF\xBB\xBF"), src...),
		"good_gb18030.csv": gb,
	}
	for name, b := range want {
		if *update {
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o644))
		}
		assert.Equal(t, b, readFixture(t, name), "%s is stale: go test ./kiosk/rostercsv -run TestFixtures -update", name)
	}
	require.False(t, bytes.Equal(src, gb), "the GB18030 fixture must differ from UTF-8")
}

// goodEntries is what good.csv holds.
func goodEntries() []kiosk.RosterEntry {
	both := []kiosk.Mode{kiosk.ModePhone, kiosk.ModeVideo}
	phone := []kiosk.Mode{kiosk.ModePhone}
	return []kiosk.RosterEntry{
		{
			Line:  2,
			Child: kiosk.Child{ExternalID: "S001", Name: "王小明", Gender: "男", Class: "三年级一班", Status: kiosk.ChildActive},
			Contacts: []kiosk.Contact{
				{Slot: 1, Name: "王大力", Relation: "父亲", Phone: "+8613800138000", Modes: both},
				{Slot: 2, Name: "李秀英", Relation: "妈妈", Phone: "+8613900139000", Modes: phone},
			},
			Cards: []string{"04A1B2C3", "04B1B2C3D4E5F6"},
		},
		{
			Line:     5,
			Child:    kiosk.Child{ExternalID: "S002", Name: "张丽", Gender: "女", Class: "三年级一班", Status: kiosk.ChildActive},
			Contacts: []kiosk.Contact{{Slot: 1, Name: "张建国", Relation: "爷爷", Phone: "+861062345678", Modes: phone}},
			Cards:    []string{"0A0B0C0D"},
		},
		{
			Line:  6,
			Child: kiosk.Child{ExternalID: "S003", Name: "陈浩", Class: "四年级二班", Status: kiosk.ChildLeft},
			Contacts: []kiosk.Contact{
				{Slot: 1, Name: "陈红", Relation: "监护人", Phone: "+8615000150000", Modes: []kiosk.Mode{kiosk.ModeVideo}},
				{Slot: 2, Name: "刘芳", Relation: "外婆", Phone: "+8675586345678", Modes: phone},
			},
		},
	}
}

func TestParseEncodings(t *testing.T) {
	for _, name := range []string{"good.csv", "good_bom.csv", "good_gb18030.csv"} {
		t.Run(name, func(t *testing.T) {
			got, err := rostercsv.Parse(bytes.NewReader(readFixture(t, name)), rostercsv.Opts{})
			require.NoError(t, err)
			assert.Equal(t, goodEntries(), got)
		})
	}
}

func TestParseEnglishHeaders(t *testing.T) {
	got, err := rostercsv.Parse(bytes.NewReader(readFixture(t, "good_en.csv")), rostercsv.Opts{})
	require.NoError(t, err)
	want := []kiosk.RosterEntry{{
		Line:  2,
		Child: kiosk.Child{Name: "Li Lei", Gender: "男", Class: "Class 3", Status: kiosk.ChildActive},
		Contacts: []kiosk.Contact{
			{Slot: 1, Name: "Li Gang", Relation: "Father", Phone: "+442079460958", Modes: []kiosk.Mode{kiosk.ModePhone, kiosk.ModeVideo}},
			{Slot: 2, Name: "韩梅", Relation: "姥姥", Phone: "+8613700137000", Modes: []kiosk.Mode{kiosk.ModePhone}},
		},
		Cards: []string{"04A1B2C3"},
	}}
	assert.Equal(t, want, got)
}

func TestParseBadRows(t *testing.T) {
	entries, err := rostercsv.Parse(bytes.NewReader(readFixture(t, "bad.csv")), rostercsv.Opts{})
	assert.Nil(t, entries, "all or nothing: no entries when a row is bad")
	var pe *rostercsv.ParseError
	require.True(t, errors.As(err, &pe), "want a *ParseError, got %v", err)
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "a ParseError is invalid input")
	type p = rostercsv.Problem
	want := []p{
		{Line: 3, Column: "姓名", Message: "缺少姓名。 missing name"},
		{Line: 4, Column: "性别", Message: "性别无法识别，应为 男、女、M、F 或留空。 unknown gender: want 男, 女, M, F or blank"},
		{Line: 4, Column: "卡号", Message: "第 1 张卡：已登记给第 2 行的学生。 card 1: already given to the child on line 2"},
		{Line: 5, Column: "班级", Message: "缺少班级。 missing class"},
		{Line: 5, Column: "卡号", Message: "第 1 张卡的卡号无效。 card 1: card number: 10 decimal digits look like an 8H10D number, but the card number format is hex: set it to 8h10d"},
		{Line: 5, Column: "关系1"},
		{Line: 5, Column: "电话1", Message: "电话号码无效。 phone: 5 digits: a short service number, not a phone"},
		{Line: 6, Column: "电话1", Message: "联系人1 缺少电话：联系人须有姓名、关系和电话。 missing phone of contact 1: a contact needs a name, a relationship and a phone"},
		{Line: 7, Column: "姓名", Message: "姓名含有换行或其他控制字符。 name contains a line break or another control character"},
		{Line: 8, Column: "联系人1", Message: "没有联系人：每名学生至少需要一位联系人。 no contact: a child needs at least one approved contact"},
		{Line: 9, Column: "姓名", Message: "学生重复：与第 2 行的姓名和班级相同（如是两名学生，请给两行都填编号）。 duplicate child: the same name and class as line 2 (give both rows an id if they are two children)"},
		{Line: 10, Column: "卡号", Message: "第 1 张卡：卡号被表格软件变成了科学计数法，请把该列设为“文本”格式。 card 1: in scientific notation (a spreadsheet turned it into a number): format the column as text"},
		{Line: 10, Column: "电话1"},
		{Line: 11, Column: "姓名", Message: `姓名以“=”开头，表格软件会把它当作公式。 name starts with "=": a spreadsheet would run it as a formula`},
	}
	require.Len(t, pe.Problems, len(want), "problems:\n%v", err)
	for i, w := range want {
		g := pe.Problems[i]
		assert.Equal(t, w.Line, g.Line, "problem %d: %v", i, g)
		assert.Equal(t, w.Column, g.Column, "problem %d: %v", i, g)
		if w.Message != "" {
			assert.Equal(t, w.Message, g.Message, "problem %d", i)
		}
	}
	assert.Contains(t, pe.Problems[5].Message, "unknown relationship")
	assert.Contains(t, pe.Problems[12].Message, "scientific notation")
	lines := strings.Split(err.Error(), "\n")
	require.Len(t, lines, len(want))
	assert.Equal(t, "line 3: 姓名: 缺少姓名。 missing name", lines[0])
	assert.Equal(t, "line 11: 姓名: 姓名以“=”开头，表格软件会把它当作公式。 name starts with \"=\": a spreadsheet would run it as a formula", lines[len(lines)-1])
}

func TestParseProblems(t *testing.T) {
	const head = "姓名,班级,卡号,联系人1,关系1,电话1,方式1\n"
	for _, tc := range []struct {
		name, in string
		opts     rostercsv.Opts
		want     []string // Problem.String(), in order
	}{
		{name: "unknown header", in: "姓名,班级,年龄,联系人1,关系1,电话1\n", want: []string{"line 1: 年龄: unknown column"}},
		{name: "duplicate header", in: "姓名,name,班级,联系人1,关系1,电话1\n", want: []string{"line 1: name: duplicate column: same as 姓名"}},
		{name: "contact 6", in: "姓名,班级,联系人6,关系1,电话1\n", want: []string{"line 1: 联系人6: unknown column", "line 1: missing column 联系人1/contact1_name"}},
		{name: "missing class column", in: "姓名,联系人1,关系1,电话1\n", want: []string{"line 1: missing column 班级/class"}},
		{name: "partial contact columns", in: "姓名,班级,联系人1,关系1\n", want: []string{"line 1: missing column 电话1/contact1_phone"}},
		{name: "no contact columns", in: "姓名,班级\n", want: []string{"line 1: no contact columns"}},
		{name: "empty file", in: "\n\n", want: []string{"line 1: empty file"}},
		{name: "bare quote", in: head + "a\"b,一班,,王,父亲,13800138000,\n", want: []string{"line 2: CSV syntax"}},
		{name: "unknown mode", in: head + "张三,一班,,王,父亲,13800138000,短信\n", want: []string{"line 2: 方式1: unknown mode"}},
		{name: "modes without contact", in: "姓名,班级,联系人1,关系1,电话1,联系人2,关系2,电话2,方式2\n张三,一班,王,父亲,13800138000,,,,视频\n", want: []string{"line 2: 方式2: modes for contact 2"}},
		{name: "relation without name", in: head + "张三,一班,,,父亲,13800138000,\n", want: []string{"line 2: 联系人1: missing name of contact 1"}},
		{name: "same card twice in a row", in: head + "张三,一班,04A1B2C3/04:a1:b2:c3,王,父亲,13800138000,\n", want: []string{"line 2: 卡号: card 2: the same card twice in this row"}},
		{name: "8h10d", opts: rostercsv.Opts{CardFormat: kiosk.Card8H10D}, in: head + "张三,一班,0077705923,王,父亲,13800138000,\n"},
		{name: "8h10d dropped zeros", opts: rostercsv.Opts{CardFormat: kiosk.Card8H10D}, in: head + "张三,一班,77705923,王,父亲,13800138000,\n", want: []string{"line 2: 卡号: card 1: card number: 8 decimal digits are ambiguous"}},
		{name: "extra field", in: head + "张三,一班,,王,父亲,13800138000,,x\n", want: []string{"line 2: field 8: more fields than the header has (7)"}},
		{name: "extra empty fields ok", in: head + "张三,一班,,王,父亲,13800138000,,,\n"},
		{name: "short row ok", in: head + "张三,一班,,王,父亲,13800138000\n"},
		{name: "blank header column must stay empty", in: "姓名,班级,,联系人1,关系1,电话1\n张三,一班,x,王,父亲,13800138000\n", want: []string{"line 2: column 3: a value in a column without a header"}},
		{name: "comma-only rows skipped", in: head + ",,,,,,\n张三,一班,,王,父亲,13800138000,\n,,,\n"},
		{name: "same name other id", in: "编号,姓名,班级,联系人1,关系1,电话1\n1,张伟,一班,王,父亲,13800138000\n2,张伟,一班,王,父亲,13800138000\n"},
		{name: "same name one id", in: "编号,姓名,班级,联系人1,关系1,电话1\n1,张伟,一班,王,父亲,13800138000\n,张伟,一班,王,父亲,13800138000\n", want: []string{"line 3: 姓名: duplicate child: the same name and class as line 2"}},
		{name: "same id", in: "编号,姓名,班级,联系人1,关系1,电话1\n1,张伟,一班,王,父亲,13800138000\n1,李雷,一班,王,父亲,13800138000\n", want: []string{"line 3: 编号: duplicate id: the same as line 2"}},
		{name: "multi-line field moves lines", in: head + "张三,一班,\"04A1B2C3\n04A1B2C4\n\",王,父亲,13800138000,\n李四,一班,,王,表哥,13800138000,\n", want: []string{"line 5: 关系1: unknown relationship"}},
		{name: "line break in a name", in: head + "\"张\n三\",一班,,王,父亲,13800138000,\n", want: []string{"line 2: 姓名: name contains a line break"}},
		{name: "tab in a contact name", in: head + "张三,一班,,\"王\t五\",父亲,13800138000,\n", want: []string{"line 2: 联系人1: name contains a line break"}},
		{name: "sorted by line across checks", in: head + "张三,一班,04A1B2C3,王,父亲,13800138000,\n,一班,04A1B2C3,王,父亲,1,\n", want: []string{"line 3: 姓名: missing name", "line 3: 卡号: card 1: already given", "line 3: 电话1: phone: 1 digits"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := rostercsv.Parse(strings.NewReader(tc.in), tc.opts)
			if len(tc.want) == 0 {
				require.NoError(t, err)
				assert.NotEmpty(t, got)
				return
			}
			var pe *rostercsv.ParseError
			require.True(t, errors.As(err, &pe), "want a *ParseError, got %v", err)
			assert.Nil(t, got)
			require.Len(t, pe.Problems, len(tc.want), "problems:\n%v", err)
			for i, w := range tc.want {
				assert.True(t, strings.HasPrefix(english(pe.Problems[i].String()), w), "problem %d: want prefix %q, got %q", i, w, pe.Problems[i].String())
			}
		})
	}
}

func TestParseEncodingErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{name: "utf-16", in: []byte("\xFF\xFE\x59\x5B"), want: "UTF-16"},
		{name: "bom then invalid", in: []byte("\xEF\xBB\xBF\xFF\xFF"), want: "not valid UTF-8"},
		{name: "neither", in: []byte("\xFF\xFF,\x80\n"), want: "neither UTF-8 nor GB18030"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rostercsv.Parse(bytes.NewReader(tc.in), rostercsv.Opts{})
			require.Error(t, err)
			assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
			assert.Contains(t, kiosk.ErrorMessage(err), tc.want)
		})
	}
}

// withoutLines returns entries with Line cleared, for comparisons where the
// layout of the file differs, and HasLeftBehind set (Write always writes
// the 留守类型 column).
func withoutLines(entries []kiosk.RosterEntry) []kiosk.RosterEntry {
	out := make([]kiosk.RosterEntry, len(entries))
	for i, e := range entries {
		e.Line, e.HasLeftBehind = 0, true
		out[i] = e
	}
	return out
}

func TestWriteRoundTrip(t *testing.T) {
	for _, f := range append(kiosk.CardFormats, "") {
		t.Run(string(f), func(t *testing.T) {
			opts := rostercsv.Opts{CardFormat: f}
			var buf bytes.Buffer
			require.NoError(t, rostercsv.Write(&buf, goodEntries(), opts))
			require.True(t, bytes.HasPrefix(buf.Bytes(), []byte("\xEF\xBB\xBF编号,姓名,性别,班级,状态,卡号,联系人1,关系1,电话1,方式1,")), "UTF-8 BOM and Chinese headers")
			assert.Contains(t, buf.String(), ",13800138000,", "phones in national form")
			assert.Contains(t, buf.String(), ",01062345678,", "landlines with their trunk 0")
			assert.NotContains(t, buf.String(), "+86", "no E.164 for Chinese numbers")
			got, err := rostercsv.Parse(&buf, opts)
			require.NoError(t, err)
			assert.Equal(t, withoutLines(goodEntries()), withoutLines(got))
		})
	}
}

func TestWriteFormats(t *testing.T) {
	e := goodEntries()[:1]
	var buf bytes.Buffer
	require.NoError(t, rostercsv.Write(&buf, e, rostercsv.Opts{CardFormat: kiosk.Card8H10D}))
	assert.Contains(t, buf.String(), ",0077705923;04B1B2C3D4E5F6,", "8h10d for 4-byte UIDs, hex for longer ones")
	assert.Contains(t, buf.String(), ",电话+视频,", "modes in Chinese")
	assert.Contains(t, buf.String(), "\r\n", "CRLF line ends for Excel")
}

func TestWriteRefuses(t *testing.T) {
	base := goodEntries()[1]
	for _, tc := range []struct {
		name string
		edit func(e *kiosk.RosterEntry)
	}{
		{name: "slot 0", edit: func(e *kiosk.RosterEntry) { e.Contacts[0].Slot = 0 }},
		{name: "slot 6", edit: func(e *kiosk.RosterEntry) { e.Contacts[0].Slot = 6 }},
		{name: "slot twice", edit: func(e *kiosk.RosterEntry) { e.Contacts = append(e.Contacts, e.Contacts[0]) }},
		{name: "bad uid", edit: func(e *kiosk.RosterEntry) { e.Cards = []string{"XYZ"} }},
		{name: "formula name", edit: func(e *kiosk.RosterEntry) { e.Child.Name = "=1+1" }},
		{name: "formula relation", edit: func(e *kiosk.RosterEntry) { e.Contacts[0].Relation = "@x" }},
		{name: "control character", edit: func(e *kiosk.RosterEntry) { e.Child.Class = "一\r班" }},
		{name: "unknown mode", edit: func(e *kiosk.RosterEntry) { e.Contacts[0].Modes = []kiosk.Mode{"sms"} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := base
			e.Contacts = append([]kiosk.Contact(nil), base.Contacts...)
			tc.edit(&e)
			var buf bytes.Buffer
			err := rostercsv.Write(&buf, []kiosk.RosterEntry{e}, rostercsv.Opts{})
			require.Error(t, err)
			assert.Zero(t, buf.Len(), "nothing written on error")
		})
	}
}

func TestRelations(t *testing.T) {
	assert.True(t, rostercsv.KnownRelation(" 奶奶 "))
	assert.True(t, rostercsv.KnownRelation("Grandma"))
	assert.False(t, rostercsv.KnownRelation("表哥"))
	r := rostercsv.Relations()
	r[0] = "changed"
	assert.Equal(t, "父亲", rostercsv.Relations()[0], "Relations returns a copy")
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"good.csv", "good_bom.csv", "good_gb18030.csv", "good_en.csv", "bad.csv"} {
		f.Add(readFixture(f, name), "")
	}
	f.Add([]byte("姓名,班级,卡号,联系人1,关系1,电话1\n张三,一班,0077705923,王,父亲,13800138000\n"), "8h10d")
	f.Add([]byte("name,class,card,contact1_name,contact1_relation,contact1_phone\r\n\"a\"\"b\",c,C3B2A104,d,mum,+12345678\r\n"), "reversed")
	f.Add([]byte("姓名,班级,联系人1,关系1,电话1\n\"a\rb\",c,d,mum,01062345678\n"), "hex")
	f.Fuzz(func(t *testing.T, b []byte, format string) {
		opts := rostercsv.Opts{CardFormat: kiosk.CardFormat(format)}
		entries, err := rostercsv.Parse(bytes.NewReader(b), opts)
		if err != nil {
			require.Nil(t, entries)
			require.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "errors on bytes in memory are invalid input: %v", err)
			return
		}
		var buf bytes.Buffer
		require.NoError(t, rostercsv.Write(&buf, entries, opts), "what Parse returns, Write writes")
		again, err := rostercsv.Parse(&buf, opts)
		require.NoError(t, err, "what Write writes, Parse reads:\n%s", buf.String())
		require.Equal(t, withoutLines(entries), withoutLines(again))
	})
}

// BenchmarkParse parses a 1000-child roster (a large school).
func BenchmarkParse(b *testing.B) {
	var entries []kiosk.RosterEntry
	for i := range 1000 {
		e := goodEntries()[0]
		e.Child.ExternalID = "S" + strconv.Itoa(i)
		e.Cards = []string{kiosk.FormatCardNumber(fmt.Sprintf("%08X", i+1), kiosk.CardHex)}
		entries = append(entries, e)
	}
	var buf bytes.Buffer
	require.NoError(b, rostercsv.Write(&buf, entries, rostercsv.Opts{}))
	b.SetBytes(int64(buf.Len()))
	b.ReportAllocs()
	for b.Loop() {
		got, err := rostercsv.Parse(bytes.NewReader(buf.Bytes()), rostercsv.Opts{})
		if err != nil || len(got) != len(entries) {
			b.Fatalf("parse: %d entries, %v", len(got), err)
		}
	}
}

// zhPart matches the Chinese sentence a problem's message starts with.
var zhPart = regexp.MustCompile(`(^|: )[^:]*?。 `)

// english returns a problem line without its Chinese sentence, for
// checks of the English that follows it.
func english(s string) string { return zhPart.ReplaceAllString(s, "$1") }

func TestProblemsInChineseAndEnglish(t *testing.T) {
	const head = "姓名,班级,性别,联系人1,关系1,电话1\n"
	_, err := rostercsv.Parse(strings.NewReader(head+"张三,一班,X,王,父亲,13800138000\n"), rostercsv.Opts{})
	var pe *rostercsv.ParseError
	require.True(t, errors.As(err, &pe), "want a *ParseError, got %v", err)
	require.Len(t, pe.Problems, 1)
	assert.Equal(t, "line 2: 性别: 性别无法识别，应为 男、女、M、F 或留空。 unknown gender: want 男, 女, M, F or blank", pe.Problems[0].String())
	_, err = rostercsv.Parse(strings.NewReader(head+"张三,一班,男,王,表哥,13800138000\n"), rostercsv.Opts{})
	require.True(t, errors.As(err, &pe))
	require.Len(t, pe.Problems, 1)
	assert.True(t, strings.HasPrefix(pe.Problems[0].Message, "关系无法识别"), "Chinese first: %q", pe.Problems[0].Message)
	assert.Contains(t, pe.Problems[0].Message, "。 unknown relationship: want one of ", "then English")
}

func TestReadNotARosterFile(t *testing.T) {
	// Bytes from a fixed seed: a binary file renamed .xlsx or .csv.
	junk := make([]byte, 4096)
	for i, x := 0, uint32(2463534242); i < len(junk); i++ {
		x ^= x << 13
		x ^= x >> 17
		x ^= x << 5
		junk[i] = byte(x)
	}
	for _, tc := range []struct {
		name string
		in   []byte
		want string
	}{
		{"random bytes", junk, "roster file: not a CSV or XLSX file"},
		{"random bytes without NUL", bytes.ReplaceAll(junk, []byte{0}, []byte{1}), "roster file: not a CSV or XLSX file"},
		{"an image", append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), junk[:64]...), "roster file: not a CSV or XLSX file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := rostercsv.Read(bytes.NewReader(tc.in), rostercsv.Opts{})
			require.Error(t, err)
			assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
			msg := kiosk.ErrorMessage(err)
			assert.Contains(t, msg, "这不是 CSV 或 XLSX 文件")
			assert.Contains(t, msg, tc.want)
		})
	}
	t.Run("GB18030 text is still read", func(t *testing.T) {
		_, err := rostercsv.Read(bytes.NewReader(readFixture(t, "good_gb18030.csv")), rostercsv.Opts{})
		require.NoError(t, err)
	})
}
