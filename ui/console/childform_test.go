package console

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// The station's database adds and edits children from the form.
var _ ChildSaver = (*sqlite.DB)(nil)

// newChildForm is a valid form adding 陈小雨 with two contacts.
func newChildForm(csrf string) url.Values {
	return url.Values{
		"csrf": {csrf}, "name": {"陈小雨"}, "class": {"二年级3班"}, "gender": {"女"}, "extid": {"S-101"}, "limit": {"8"},
		"c1_name": {"陈大山"}, "c1_relation": {"父亲"}, "c1_phone": {"139-0000-0021"}, "c1_modes": {"phone", "video"}, "c1_limit": {"10m"},
		"c2_name": {"周梅"}, "c2_relation": {"母亲"}, "c2_phone": {"+86 139 0000 0022"}, "c2_modes": {"video"},
		"c3_modes": {"phone"}, // an empty row keeps its default mode ticked
	}
}

// rosterOps returns the roster journal's ops for child id, in order.
func rosterOps(t *testing.T, e *env, id kiosk.ChildID) []string {
	t.Helper()
	log, err := e.db.RosterLog(context.Background(), time.Time{}, time.Time{})
	require.NoError(t, err)
	var ops []string
	for _, rc := range log {
		if rc.ChildID == id {
			ops = append(ops, rc.Op)
		}
	}
	return ops
}

// journalLen is how many entries the journal holds.
func journalLen(t *testing.T, e *env) int {
	t.Helper()
	es, err := e.db.Entries(context.Background(), 0, 1<<20)
	require.NoError(t, err)
	return len(es)
}

func TestChildAddWithTwoContacts(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	ctx := context.Background()

	res, body := do(t, c, "GET", e.srv.URL+"/console/children", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `href="/console/children/new"`, "the list offers 新增学生 to a manager")
	res, body = do(t, c, "GET", e.srv.URL+"/console/children/new", nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `action="/console/children/new"`)
	assert.Contains(t, body, `<option value="三年级1班">`, "the classes are offered")

	res, _ = do(t, c, "POST", e.srv.URL+"/console/children/new", newChildForm(csrf))
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	loc := res.Header.Get("Location")
	require.True(t, strings.HasPrefix(loc, "/console/children/"), loc)
	assert.True(t, strings.HasSuffix(loc, "?done=child_added"), loc)

	kids, err := e.db.ChildByName(ctx, "陈小雨")
	require.NoError(t, err)
	require.Len(t, kids, 1)
	ch := kids[0]
	assert.Equal(t, "/console/children/"+itoa(int64(ch.ID))+"?done=child_added", loc)
	assert.Equal(t, kiosk.Child{ID: ch.ID, ExternalID: "S-101", Name: "陈小雨", Gender: "女", Class: "二年级3班",
		Status: kiosk.ChildActive, CallLimit: 8 * time.Minute}, ch)
	cs, err := e.db.Contacts(ctx, ch.ID)
	require.NoError(t, err)
	require.Len(t, cs, 2)
	assert.Equal(t, []any{1, "陈大山", "父亲", "+8613900000021", []kiosk.Mode{kiosk.ModePhone, kiosk.ModeVideo}, 10 * time.Minute},
		[]any{cs[0].Slot, cs[0].Name, cs[0].Relation, cs[0].Phone, cs[0].Modes, cs[0].CallLimit})
	assert.Equal(t, []any{2, "周梅", "母亲", "+8613900000022", []kiosk.Mode{kiosk.ModeVideo}, time.Duration(0)},
		[]any{cs[1].Slot, cs[1].Name, cs[1].Relation, cs[1].Phone, cs[1].Modes, cs[1].CallLimit})
	assert.Equal(t, []string{"child_added", "contact_added", "contact_added"}, rosterOps(t, e, ch.ID), "journaled as roster changes")

	a := e.audits(t)[0]
	assert.Equal(t, []string{"manager", "child_add"}, []string{a.Actor, a.Action})
	assert.Contains(t, a.Detail, "child="+itoa(int64(ch.ID))+" ")
	assert.NotContains(t, a.Detail, "0021", "no numbers in the audit")
	assert.NotContains(t, a.Detail, "陈", "no names in the audit")

	// The page redirected to says so; the list shows the child.
	res, body = do(t, c, "GET", e.srv.URL+loc, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "已新增学生")
	assert.Contains(t, body, "139****0021", "numbers masked")
	assert.NotContains(t, body, "13900000021")
	res, body = do(t, c, "GET", e.srv.URL+"/console/children?class="+url.QueryEscape("二年级3班"), nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `<a href="/console/children/`+itoa(int64(ch.ID))+`">陈小雨</a>`)

	// The same child again: the name and class clash (no id on the new
	// row), told next to the name; nothing written.
	n := journalLen(t, e)
	f := newChildForm(csrf)
	f.Del("extid")
	res, body = do(t, c, "POST", e.srv.URL+"/console/children/new", f)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, body, "本班已有同名学生")
	f.Set("extid", "S-017") // 张丽's
	f.Set("name", "陈小雨二")
	res, body = do(t, c, "POST", e.srv.URL+"/console/children/new", f)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, body, "另一名学生已使用此编号")
	assert.Equal(t, n, journalLen(t, e), "nothing journaled for refused forms")
	assert.NotContains(t, body, "13900000021", "a refused form shows the number typed in it only")
}

func TestChildFormListsEveryProblem(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	f := newChildForm(csrf)
	f.Set("class", "")
	f.Set("c2_phone", "12345")
	f.Set("c1_relation", "邻居")
	f.Set("c1_modes", "")
	f.Set("c1_limit", "3h")
	f.Set("extid", "=1+1")
	n := journalLen(t, e)
	res, body := do(t, c, "POST", e.srv.URL+"/console/children/new", f)
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	for _, want := range []string{
		"班级 Class：缺少班级",        // missing class
		"联系人2 电话 Phone：电话号码无效", // bad phone
		"联系人1 关系 Relation：关系无法识别",
		"联系人1 方式 Modes：请至少选择一种方式",
		"联系人1 单次通话时长 Call limit：3h 超过上限 1h",
		"编号 ID：编号以“=”开头",
	} {
		assert.Contains(t, body, want)
	}
	list := body[strings.Index(body, `id="problems"`):strings.Index(body, `action="/console/children/new"`)]
	assert.Less(t, strings.Index(list, "班级 Class"), strings.Index(list, "编号 ID"), "listed in the order of the fields")
	assert.Less(t, strings.Index(list, "编号 ID"), strings.Index(list, "联系人1 关系"))
	assert.Less(t, strings.Index(list, "联系人1 单次通话时长"), strings.Index(list, "联系人2 电话"))
	// Each problem also next to its field: the class input is followed by
	// its message.
	assert.Regexp(t, `name="class"[^>]*>\s*<span class="bad">缺少班级`, body)
	assert.Regexp(t, `name="c2_phone"[^>]*>(<br><small>[^<]*</small>)?<br><span class="bad">电话号码无效`, body)
	assert.Contains(t, body, `value="陈大山"`, "what was typed is kept")
	assert.Equal(t, n, journalLen(t, e), "nothing written")
	_, err := e.db.ChildByName(context.Background(), "陈小雨")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err), "no child added")

	// A form with nothing in it.
	res, body = do(t, c, "POST", e.srv.URL+"/console/children/new", url.Values{"csrf": {csrf}})
	require.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, body, "缺少姓名")
	assert.Contains(t, body, "至少需要一位联系人")
	assert.Equal(t, n, journalLen(t, e), "nothing written")
}

// editForm is 王小明's form as the edit page fills it, numbers blank.
func editForm(csrf string) url.Values {
	return url.Values{"csrf": {csrf}, "name": {"王小明"}, "class": {"三年级1班"}, "gender": {"男"},
		"c1_name": {"王建国"}, "c1_relation": {"父亲"}, "c1_modes": {"phone"},
		"c2_name": {"李芳"}, "c2_relation": {"母亲"}, "c2_modes": {"phone", "video"}}
}

func TestChildEditKeepsNumbers(t *testing.T) {
	e := newEnv(t)
	c, csrf := e.login(t, "manager")
	ctx := context.Background()
	id := e.ids["王小明"]
	path := e.srv.URL + "/console/children/" + itoa(int64(id)) + "/edit"
	before, err := e.db.Contacts(ctx, id)
	require.NoError(t, err)

	res, body := do(t, c, "GET", e.srv.URL+"/console/children/"+itoa(int64(id)), nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `href="/console/children/`+itoa(int64(id))+`/edit"`, "the child's page offers 编辑")

	res, body = do(t, c, "GET", path, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, `value="三年级1班"`)
	assert.Contains(t, body, "138****0001", "stored numbers shown masked")
	for _, n := range fullNumbers {
		assert.NotContains(t, body, n[3:], "no stored number in the form")
	}
	a := e.audits(t)[0]
	assert.Equal(t, []string{"view_child", "child=" + itoa(int64(id)) + " page=edit"}, []string{a.Action, a.Detail})

	f := editForm(csrf)
	f.Set("class", "四年级1班")
	f.Set("c1_relation", "爸爸")
	res, _ = do(t, c, "POST", path, f)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	assert.Equal(t, "/console/children/"+itoa(int64(id))+"?done=child_saved", res.Header.Get("Location"))

	ch, err := e.db.Child(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "四年级1班", ch.Class, "the same child, in its new class")
	after, err := e.db.Contacts(ctx, id)
	require.NoError(t, err)
	require.Len(t, after, 2)
	assert.Equal(t, "爸爸", after[0].Relation)
	assert.Equal(t, before[0].Phone, after[0].Phone, "the number kept")
	assert.Equal(t, before[0].ID, after[0].ID, "the same contact (its links stay)")
	assert.Equal(t, before[1], after[1], "the other contact unchanged")
	kids, err := e.db.ChildByName(ctx, "王小明")
	require.NoError(t, err)
	assert.Len(t, kids, 1, "no second 王小明")
	ops := rosterOps(t, e, id)
	assert.Equal(t, []string{"child_updated", "contact_updated"}, ops[len(ops)-2:])
	a = e.audits(t)[0]
	assert.Equal(t, []string{"manager", "child_edit"}, []string{a.Actor, a.Action})
	assert.Contains(t, a.Detail, "children_updated=1 contacts_added=0 contacts_updated=1 contacts_removed=0")

	// Retyping a number changes it; ticking 删除 removes a contact.
	f = editForm(csrf)
	f.Set("class", "四年级1班")
	f.Set("c1_relation", "爸爸")
	f.Set("c1_phone", "13900000031")
	f.Set("c2_remove", "1")
	res, _ = do(t, c, "POST", path, f)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	after, err = e.db.Contacts(ctx, id)
	require.NoError(t, err)
	require.Len(t, after, 1)
	assert.Equal(t, "+8613900000031", after[0].Phone)
	ops = rosterOps(t, e, id)
	assert.Equal(t, []string{"contact_updated", "contact_removed"}, ops[len(ops)-2:], "history kept in the journal")

	// The last contact cannot go.
	f = url.Values{"csrf": {csrf}, "name": {"王小明"}, "class": {"四年级1班"},
		"c1_name": {"王建国"}, "c1_relation": {"爸爸"}, "c1_modes": {"phone"}, "c1_remove": {"1"}}
	res, body = do(t, c, "POST", path, f)
	assert.Equal(t, http.StatusBadRequest, res.StatusCode)
	assert.Contains(t, body, "至少需要一位联系人")
}

func TestChildFormRolesAndCSRF(t *testing.T) {
	e := newEnv(t)
	id := e.ids["王小明"]
	edit := e.srv.URL + "/console/children/" + itoa(int64(id)) + "/edit"
	n := journalLen(t, e)
	for _, role := range []string{"principal", "inspector", "technician"} {
		c, csrf := e.login(t, role)
		n = journalLen(t, e) // the login's audit entry
		for _, tc := range []struct {
			method, url string
			form        url.Values
		}{
			{"GET", e.srv.URL + "/console/children/new", nil},
			{"GET", edit, nil},
			{"POST", e.srv.URL + "/console/children/new", newChildForm(csrf)},
			{"POST", edit, editForm(csrf)},
		} {
			res, body := do(t, c, tc.method, tc.url, tc.form)
			assert.Equal(t, http.StatusForbidden, res.StatusCode, "%s %s %s", role, tc.method, tc.url)
			assert.NotContains(t, body, "138****0001")
		}
		assert.Equal(t, n, journalLen(t, e), "%s: nothing written or audited", role)
		if role == "technician" {
			continue
		}
		res, body := do(t, c, "GET", e.srv.URL+"/console/children", nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.NotContains(t, body, "/console/children/new", "%s: no 新增学生", role)
		res, body = do(t, c, "GET", e.srv.URL+"/console/children/"+itoa(int64(id)), nil)
		require.Equal(t, http.StatusOK, res.StatusCode)
		assert.NotContains(t, body, "/edit", "%s: no 编辑", role)
	}

	c, csrf := e.login(t, "manager")
	n = journalLen(t, e)
	for _, tok := range []string{"", csrf + "x"} {
		for _, u := range []string{e.srv.URL + "/console/children/new", edit} {
			f := newChildForm(tok)
			if u == edit {
				f = editForm(tok)
				f.Set("class", "六年级1班")
			}
			if tok == "" {
				f.Del("csrf")
			}
			res, _ := do(t, c, "POST", u, f)
			assert.Equal(t, http.StatusForbidden, res.StatusCode, "csrf %q %s", tok, u)
		}
	}
	assert.Equal(t, n, journalLen(t, e), "nothing written without the token")
	ch, err := e.db.Child(context.Background(), id)
	require.NoError(t, err)
	assert.Equal(t, "三年级1班", ch.Class)
}

func TestChildFormLeftAndErased(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	c, csrf := e.login(t, "manager")

	// A left child may be corrected and stays left.
	id := e.ids["王小明"]
	require.NoError(t, e.db.SetChildStatus(ctx, id, kiosk.ChildLeft))
	path := e.srv.URL + "/console/children/" + itoa(int64(id)) + "/edit"
	res, body := do(t, c, "GET", path, nil)
	require.Equal(t, http.StatusOK, res.StatusCode)
	assert.Contains(t, body, "该学生已离校")
	f := editForm(csrf)
	f.Set("name", "王晓明")
	res, _ = do(t, c, "POST", path, f)
	require.Equal(t, http.StatusSeeOther, res.StatusCode)
	ch, err := e.db.Child(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, []any{"王晓明", kiosk.ChildLeft}, []any{ch.Name, ch.Status})

	// An erased child never.
	zid := e.ids["张丽"]
	require.NoError(t, e.db.SetChildStatus(ctx, zid, kiosk.ChildLeft))
	_, err = e.db.EraseChild(ctx, "manager", sqlite.EraseManual, zid)
	require.NoError(t, err)
	erased, err := e.db.Child(ctx, zid)
	require.NoError(t, err)
	n := journalLen(t, e)
	path = e.srv.URL + "/console/children/" + itoa(int64(zid)) + "/edit"
	res, body = do(t, c, "GET", path, nil)
	assert.Equal(t, http.StatusGone, res.StatusCode)
	assert.Contains(t, body, "不能再编辑")
	res, body = do(t, c, "POST", path, url.Values{"csrf": {csrf}, "name": {"张丽"}, "class": {"五年级2班"}, "extid": {"S-017"},
		"c1_name": {"张奶奶"}, "c1_relation": {"奶奶"}, "c1_phone": {fullNumbers[2]}, "c1_modes": {"phone"}})
	assert.Equal(t, http.StatusGone, res.StatusCode)
	assert.Contains(t, body, "不能再编辑")
	assert.Equal(t, n, journalLen(t, e), "nothing written for an erased child")
	now, err := e.db.Child(ctx, zid)
	require.NoError(t, err)
	assert.Equal(t, erased, now)
	cs, err := e.db.Contacts(ctx, zid)
	require.NoError(t, err)
	assert.Empty(t, cs, "no contacts come back")

	// Unknown child.
	res, _ = do(t, c, "GET", e.srv.URL+"/console/children/99999/edit", nil)
	assert.Equal(t, http.StatusNotFound, res.StatusCode)
}
