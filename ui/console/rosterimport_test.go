package console

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/xuri/excelize/v2"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/rostercsv"
	"github.com/qinqing/station/kiosk/sqlite"
)

// The sample roster files: roster_good.csv updates 张丽 (S-017, a second
// contact) and adds 刘洋 and 陈静; roster_bad.csv is the same with a
// 10-digit phone on line 3 (刘洋's father).
const (
	RosterGoodCSV = "testdata/roster_good.csv"
	RosterBadCSV  = "testdata/roster_bad.csv"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	require.NoError(t, err)
	return b
}

// RosterXLSX returns the records of the CSV roster file at path as an
// XLSX workbook, with a title row above the header (so the rows keep
// their CSV line numbers plus one), for tests that upload a workbook.
func RosterXLSX(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	require.NoError(t, err)
	f := excelize.NewFile()
	defer f.Close()
	require.NoError(t, f.SetCellValue("Sheet1", "A1", "学生名册"))
	for i, rec := range recs {
		for j, v := range rec {
			if v == "" {
				continue
			}
			cell, err := excelize.CoordinatesToCellName(j+1, i+2)
			require.NoError(t, err)
			require.NoError(t, f.SetCellValue("Sheet1", cell, v))
		}
	}
	var buf bytes.Buffer
	_, err = f.WriteTo(&buf)
	require.NoError(t, err)
	return buf.Bytes()
}

// postFile posts a multipart form with fields and, when name is not "",
// content as the file field "file".
func postFile(t *testing.T, c *http.Client, u string, fields url.Values, name string, content []byte) (*http.Response, string) {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, vs := range fields {
		for _, v := range vs {
			require.NoError(t, mw.WriteField(k, v))
		}
	}
	if name != "" {
		fw, err := mw.CreateFormFile("file", name)
		require.NoError(t, err)
		_, err = fw.Write(content)
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	req, err := http.NewRequest("POST", u, &body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	res, err := c.Do(req)
	require.NoError(t, err)
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	require.NoError(t, err)
	return res, string(b)
}

var importIDRe = regexp.MustCompile(`name="id" value="([^"]+)"`)

// roster returns the whole roster, to compare before and after.
func (e *env) roster(t *testing.T) []kiosk.RosterEntry {
	t.Helper()
	es, err := e.db.RosterEntries(context.Background())
	require.NoError(t, err)
	return es
}

// rosterJournal counts the roster changes journaled around t0.
func (e *env) rosterJournal(t *testing.T) int {
	t.Helper()
	rs, err := e.db.RosterLog(context.Background(), t0.Add(-24*time.Hour), t0.Add(24*time.Hour))
	require.NoError(t, err)
	return len(rs)
}

func (e *env) preview(t *testing.T, c *http.Client, csrf, name string, content []byte) (*http.Response, string) {
	t.Helper()
	return postFile(t, c, e.srv.URL+"/console/roster/import/preview", url.Values{"csrf": {csrf}}, name, content)
}

func TestRosterImportBadRowThenFixed(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")

	res, body := do(t, c, "GET", e.srv.URL+"/console/children", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `href="/console/roster/import"`, "the children list links to the import")
	res, body = do(t, c, "GET", e.srv.URL+"/console/roster/import", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `enctype="multipart/form-data"`)
	assert.Contains(t, body, `type="file"`)

	before, journal, audits := e.roster(t), e.rosterJournal(t), len(e.audits(t))
	res, body = e.preview(t, c, csrf, "三年级名册.csv", readTestdata(t, RosterBadCSV))
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "未写入任何数据")
	assert.NotContains(t, body, "确认导入", "no import button while a row has a problem")
	assert.NotRegexp(t, importIDRe, body)
	// Every row is shown; line 3 with its problem in the phone column.
	for _, s := range []string{`id="line-2"`, `id="line-3"`, `id="line-4"`, "张丽", "刘洋", "陈静"} {
		assert.Contains(t, body, s)
	}
	row3 := body[strings.Index(body, `id="line-3"`):]
	row3 = row3[:strings.Index(row3, "</tr>")]
	assert.Contains(t, body, `<tr class="bad-row" id="line-3">`, "the bad row is marked")
	assert.Contains(t, body, `<tr id="line-2">`, "the good rows are not")
	assert.Contains(t, row3, "电话1：")
	assert.Contains(t, body, "1 行有问题")
	for _, n := range []string{"13800000003", "13800000011", "13800000013"} {
		assert.NotContains(t, body, n, "numbers are masked in the preview")
	}
	assert.Contains(t, body, "138****0011")

	assert.Equal(t, before, e.roster(t), "a preview writes nothing")
	assert.Equal(t, journal, e.rosterJournal(t), "nothing journaled")
	after := e.audits(t)
	require.Len(t, after, audits+1, "the preview is audited")
	assert.Equal(t, "manager", after[0].Actor)
	assert.Equal(t, "preview_roster_import", after[0].Action)
	assert.Contains(t, after[0].Detail, `file="三年级名册.csv"`)
	assert.Contains(t, after[0].Detail, "rows=3 problems=1")

	// The fixed file: a preview of the changes, then the import.
	res, body = e.preview(t, c, csrf, "三年级名册.csv", readTestdata(t, RosterGoodCSV))
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "确认导入 / Import")
	assert.Contains(t, body, "新学生 new")
	assert.Contains(t, body, "新增联系人 1", "张丽 gets a second contact")
	assert.Contains(t, body, "学生新增 2、更新 0、不变 1")
	assert.Equal(t, before, e.roster(t), "a preview writes nothing")
	m := importIDRe.FindStringSubmatch(body)
	require.NotNil(t, m, "the preview can be imported")

	res, body = do(t, c, "POST", e.srv.URL+"/console/roster/import/commit", url.Values{"csrf": {csrf}, "id": {m[1]}})
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Contains(t, body, "已导入 3 行")
	got := e.roster(t)
	require.Len(t, got, len(before)+2)
	names := map[string]kiosk.RosterEntry{}
	for _, en := range got {
		names[en.Child.Name] = en
	}
	assert.Equal(t, "四年级1班", names["刘洋"].Child.Class)
	assert.Equal(t, []string{"0A1B2C3D"}, names["刘洋"].Cards)
	assert.Len(t, names["张丽"].Contacts, 2)
	assert.Equal(t, "+8613800000011", names["张丽"].Contacts[1].Phone)
	// 2 children, 4 contacts (刘洋 1, 陈静 2, 张丽 1), 1 card.
	assert.Equal(t, journal+7, e.rosterJournal(t), "every change journaled")
	last := e.audits(t)[0]
	assert.Equal(t, "import_roster", last.Action)
	assert.Equal(t, "manager", last.Actor)
	assert.Contains(t, last.Detail, `file="三年级名册.csv" format=csv rows=3 children_added=2`)

	// The preview is used up.
	res, body = do(t, c, "POST", e.srv.URL+"/console/roster/import/commit", url.Values{"csrf": {csrf}, "id": {m[1]}})
	assert.Equal(t, http.StatusGone, res.StatusCode)
	assert.Contains(t, body, "预览已过期或已导入")
	assert.Len(t, e.roster(t), len(before)+2)
}

func TestRosterImportXLSX(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	before := e.roster(t)

	res, body := e.preview(t, c, csrf, "roster.xlsx", RosterXLSX(t, RosterBadCSV))
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "（xlsx，工作表 sheet Sheet1）")
	assert.NotContains(t, body, "确认导入")
	row := body[strings.Index(body, `id="line-4"`):]
	row = row[:strings.Index(row, "</tr>")]
	assert.Contains(t, row, "刘洋", "sheet row 4: the title row is row 1")
	assert.Contains(t, row, "电话1：")
	assert.Equal(t, before, e.roster(t))

	res, body = e.preview(t, c, csrf, "roster.xlsx", RosterXLSX(t, RosterGoodCSV))
	require.Equal(t, http.StatusOK, res.StatusCode)
	m := importIDRe.FindStringSubmatch(body)
	require.NotNil(t, m, "the preview can be imported")
	res, body = do(t, c, "POST", e.srv.URL+"/console/roster/import/commit", url.Values{"csrf": {csrf}, "id": {m[1]}})
	require.Equal(t, http.StatusOK, res.StatusCode, body)
	assert.Len(t, e.roster(t), len(before)+2)
	assert.Contains(t, e.audits(t)[0].Detail, "format=xlsx rows=3")
}

func TestRosterImportRoles(t *testing.T) {
	e := newEnv(t)
	good := readTestdata(t, RosterGoodCSV)
	mc, mcsrf := e.login(t, "manager")
	_, body := e.preview(t, mc, mcsrf, "r.csv", good)
	m := importIDRe.FindStringSubmatch(body)
	require.NotNil(t, m)
	before := e.roster(t)

	for _, tc := range []struct {
		role                string
		form, preview, post int
	}{
		{"principal", http.StatusOK, http.StatusForbidden, http.StatusForbidden},
		{"inspector", http.StatusForbidden, http.StatusForbidden, http.StatusForbidden},
		{"technician", http.StatusForbidden, http.StatusForbidden, http.StatusForbidden},
	} {
		t.Run(tc.role, func(t *testing.T) {
			c, csrf := e.login(t, tc.role)
			res, body := do(t, c, "GET", e.srv.URL+"/console/roster/import", nil)
			assert.Equal(t, tc.form, res.StatusCode)
			assert.NotContains(t, body, `type="file"`, "no upload form")
			res, body = e.preview(t, c, csrf, "r.csv", good)
			assert.Equal(t, tc.preview, res.StatusCode)
			assert.NotContains(t, body, "刘洋")
			res, _ = do(t, c, "POST", e.srv.URL+"/console/roster/import/commit", url.Values{"csrf": {csrf}, "id": {m[1]}})
			assert.Equal(t, tc.post, res.StatusCode)
			if tc.role == "principal" {
				_, body = do(t, c, "GET", e.srv.URL+"/console/children", nil)
				assert.NotContains(t, body, "/console/roster/import", "the link is for managers")
			}
		})
	}
	assert.Equal(t, before, e.roster(t), "nothing written by other roles")

	t.Run("another manager session", func(t *testing.T) {
		c2, csrf2 := e.login(t, "manager")
		res, _ := do(t, c2, "POST", e.srv.URL+"/console/roster/import/commit", url.Values{"csrf": {csrf2}, "id": {m[1]}})
		assert.Equal(t, http.StatusGone, res.StatusCode, "a preview is bound to its session")
		assert.Equal(t, before, e.roster(t))
	})
	t.Run("the manager who previewed", func(t *testing.T) {
		res, _ := do(t, mc, "POST", e.srv.URL+"/console/roster/import/commit", url.Values{"csrf": {mcsrf}, "id": {m[1]}})
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.Len(t, e.roster(t), len(before)+2)
	})
}

func TestRosterImportCSRF(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	good := readTestdata(t, RosterGoodCSV)
	before, audits := e.roster(t), len(e.audits(t))

	for _, tc := range []struct {
		name   string
		fields url.Values
	}{
		{"missing token", url.Values{}},
		{"wrong token", url.Values{"csrf": {csrf + "x"}}},
	} {
		t.Run("preview "+tc.name, func(t *testing.T) {
			res, body := postFile(t, c, e.srv.URL+"/console/roster/import/preview", tc.fields, "r.csv", good)
			assert.Equal(t, http.StatusForbidden, res.StatusCode)
			assert.NotContains(t, body, "刘洋")
		})
	}
	assert.Len(t, e.audits(t), audits, "a refused preview shows nothing and audits nothing")

	_, body := e.preview(t, c, csrf, "r.csv", good)
	m := importIDRe.FindStringSubmatch(body)
	require.NotNil(t, m)
	res, _ := do(t, c, "POST", e.srv.URL+"/console/roster/import/commit", url.Values{"id": {m[1]}})
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "import without a token")
	res, _ = do(t, c, "POST", e.srv.URL+"/console/roster/import/commit", url.Values{"id": {m[1]}, "csrf": {csrf + "x"}})
	assert.Equal(t, http.StatusForbidden, res.StatusCode, "import with a wrong token")
	assert.Equal(t, before, e.roster(t), "nothing written")
}

func TestRosterImportRefusals(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	before := e.roster(t)

	t.Run("no file", func(t *testing.T) {
		res, body := e.preview(t, c, csrf, "", nil)
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		assert.Contains(t, body, "请选择名册文件")
		assert.Contains(t, body, `type="file"`, "the form again")
	})
	t.Run("not a roster file", func(t *testing.T) {
		res, body := e.preview(t, c, csrf, "old.xls", []byte("\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest"))
		assert.Equal(t, http.StatusBadRequest, res.StatusCode)
		assert.Contains(t, body, "Excel 97-2003")
	})
	t.Run("header only", func(t *testing.T) {
		res, body := e.preview(t, c, csrf, "h.csv", []byte("姓名,班级,联系人1,关系1,电话1\n"))
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, body, "no rows")
		assert.NotContains(t, body, "确认导入")
	})
	t.Run("bad header", func(t *testing.T) {
		res, body := e.preview(t, c, csrf, "h.csv", []byte("姓名,年龄,联系人1,关系1,电话1\n张三,9,王,父亲,13800000020\n"))
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, body, "第 1 行 line 1：年龄：无法识别的列名")
		assert.Contains(t, body, "unknown column")
		assert.NotContains(t, body, "确认导入")
	})
	t.Run("card of another child", func(t *testing.T) {
		// The parser cannot know that 04A1B2C3 is 王小明's; the dry run can.
		f := "姓名,班级,卡号,联系人1,关系1,电话1\n赵六,一班,04A1B2C3,赵五,父亲,13800000021\n"
		res, body := e.preview(t, c, csrf, "c.csv", []byte(f))
		assert.Equal(t, http.StatusOK, res.StatusCode)
		assert.Contains(t, body, "卡号：card 04A1B2C3 belongs to another child")
		assert.NotContains(t, body, "确认导入")
	})
	t.Run("too large", func(t *testing.T) {
		big := append([]byte("姓名,班级,联系人1,关系1,电话1\n"), bytes.Repeat([]byte(" "), maxUpload)...)
		res, body := e.preview(t, c, csrf, "big.csv", big)
		assert.Equal(t, http.StatusRequestEntityTooLarge, res.StatusCode, "refused for its size, not as a missing token")
		assert.Contains(t, body, "文件太大，最大 5 MB")
		assert.Contains(t, body, "too large: at most 5 MB")
		assert.NotContains(t, body, "Invalid or missing form token")
	})
	t.Run("expired", func(t *testing.T) {
		_, body := e.preview(t, c, csrf, "r.csv", readTestdata(t, RosterGoodCSV))
		m := importIDRe.FindStringSubmatch(body)
		require.NotNil(t, m)
		e.clk.Set(t0.Add(importTTL))
		defer e.clk.Set(t0)
		res, _ := do(t, c, "POST", e.srv.URL+"/console/roster/import/commit", url.Values{"csrf": {csrf}, "id": {m[1]}})
		assert.Equal(t, http.StatusGone, res.StatusCode)
	})
	t.Run("changed since the preview", func(t *testing.T) {
		_, body := e.preview(t, c, csrf, "r.csv", readTestdata(t, RosterGoodCSV))
		m := importIDRe.FindStringSubmatch(body)
		require.NotNil(t, m)
		// Meanwhile 刘洋's card is given to 王小明.
		require.NoError(t, e.db.AddCard(context.Background(), "0A1B2C3D", e.ids["王小明"]))
		res, body := do(t, c, "POST", e.srv.URL+"/console/roster/import/commit", url.Values{"csrf": {csrf}, "id": {m[1]}})
		assert.Equal(t, http.StatusConflict, res.StatusCode)
		assert.Contains(t, body, "未导入任何数据")
	})
	got := e.roster(t)
	assert.Len(t, got, len(before), "nothing imported")
}

func TestRosterImportPending(t *testing.T) {
	im := &rosterImport{pending: map[string]*pendingImport{}}
	now := t0
	a := im.keep(&pendingImport{session: "s1", expires: now.Add(importTTL)}, now)
	b := im.keep(&pendingImport{session: "s1", expires: now.Add(importTTL)}, now)
	assert.NotEqual(t, a, b)
	assert.Nil(t, im.take(a, "s1", now), "a session's new preview replaces its last")
	assert.Nil(t, im.take(b, "s2", now), "another session's")
	assert.NotNil(t, im.take(b, "s1", now))
	assert.Nil(t, im.take(b, "s1", now), "used once")
	for i := range maxPending + 3 {
		im.keep(&pendingImport{session: "s" + itoa(int64(i)), expires: now.Add(importTTL + time.Duration(i))}, now)
	}
	assert.Len(t, im.pending, maxPending, "bounded")
}

func TestUploadName(t *testing.T) {
	for in, want := range map[string]string{
		"名册.csv":                       "名册.csv",
		`C:\Users\王老师\Desktop\名册.xlsx`: "名册.xlsx",
		"../../etc/passwd":             "passwd",
		"a\nb\x00.csv":                 "ab.csv",
		"":                             "",
		strings.Repeat("长", 100):       strings.Repeat("长", 80),
	} {
		assert.Equal(t, want, uploadName(in), "uploadName(%q)", in)
	}
}

func TestStoreProblems(t *testing.T) {
	got := storeProblems("line 2: 卡号: card 04A1B2C3 belongs to another child\nline 5: 姓名: 2 children have this name in this class; add an id column\nsomething else", 7)
	require.Len(t, got, 3)
	assert.Equal(t, "line 2: 卡号: card 04A1B2C3 belongs to another child", got[0].String())
	assert.Equal(t, 5, got[1].Line)
	assert.Equal(t, "姓名", got[1].Column)
	assert.Equal(t, "line 7: something else", got[2].String())
}

// BenchmarkRosterImportPreview500 checks a 500-child roster (all new,
// two contacts and a card each) against SQLite as the preview does: one
// dry run per row, then one of the whole file.
func BenchmarkRosterImportPreview500(b *testing.B) {
	var buf bytes.Buffer
	buf.WriteString("编号,姓名,班级,卡号,联系人1,关系1,电话1,联系人2,关系2,电话2,方式2\n")
	for i := range 500 {
		fmt.Fprintf(&buf, "B%03d,学生%03d,%d年级%d班,%08X,父%03d,父亲,139%08d,母%03d,母亲,137%08d,视频\n",
			i, i, 1+i%6, 1+i%3, 0x10000000+i, i, i, i, i)
	}
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "kiosk.db"), sqlite.Opts{})
	require.NoError(b, err)
	defer db.Close()
	im := &rosterImport{}
	b.ReportAllocs()
	for b.Loop() {
		f, err := rostercsv.Read(bytes.NewReader(buf.Bytes()), rostercsv.Opts{})
		require.NoError(b, err)
		d, entries, err := im.check(ctx, db, f)
		require.NoError(b, err)
		if d.Problems != 0 || len(entries) != 500 || d.Changes.Children.Added != 500 {
			b.Fatalf("preview: %d problems, %d entries, %+v", d.Problems, len(entries), d.Changes)
		}
	}
}
