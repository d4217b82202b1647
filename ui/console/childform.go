package console

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/rostercsv"
	"github.com/qinqing/station/kiosk/sqlite"
)

// ChildSaver is what adding and editing a child on its own form needs
// beside Store; kiosk/sqlite's *DB implements it. A Store that does not
// gets 501 on the form's routes.
type ChildSaver interface {
	// SaveChild adds (id 0) or changes one child and its contacts in one
	// transaction, all or nothing, journaled as roster changes with an
	// audit entry naming actor (child_add, child_edit). Problems are one
	// EINVALID *kiosk.Error with a "line N: column: problem" line each
	// (as RosterImporter's); ENOTFOUND for an unknown child, EGONE for an
	// erased one.
	SaveChild(ctx context.Context, actor string, id kiosk.ChildID, e kiosk.RosterEntry) (kiosk.ChildID, sqlite.RosterChanges, error)
	// ChildErased reports whether the child's personal data was erased.
	ChildErased(ctx context.Context, id kiosk.ChildID) (bool, error)
}

// formLine is the line of the one row the form is checked as: a roster
// file's first data row.
const formLine = 2

func init() {
	pageNames = append(pageNames, "child_form")
	notices["child_added"] = "已新增学生。 The child was added."
	notices["child_saved"] = "学生信息已保存。 The child's details were saved."
}

// childFormRoutes are the add and edit forms of a child (学生信息): for
// managers only (the guard admits managers and principals, managerOnly
// then refuses principals).
func (c *Console) childFormRoutes() []route {
	return []route{
		{"GET", "/console/children/new", readAll, true, c.managerOnly(c.childNew)},
		{"POST", "/console/children/new", readAll, true, c.managerOnly(c.childNewPost)},
		{"GET", "/console/children/{id}/edit", readAll, true, c.managerOnly(c.childEditForm)},
		{"POST", "/console/children/{id}/edit", readAll, true, c.managerOnly(c.childEditPost)},
	}
}

// childForm is what templates/child_form.html shows: the child's fields
// and five contact rows, as stored or as typed, with their problems.
type childForm struct {
	New   bool
	Child kiosk.Child // the child edited: ID, Name (as stored), Status
	Left  bool

	ExternalID, Name, Gender, Class, Limit string
	// LeftBehind is the kind of left-behind as a kiosk.LeftBehindKind
	// code ("" not recorded), as stored or as posted.
	LeftBehind string
	Contacts   []contactForm

	// Errs are the problems of the child's fields by name (extid, name,
	// gender, class, leftbehind, limit); Problems every problem, for the
	// list on top, in the order of the fields (listProblems).
	Errs     map[string][]string
	Problems []string
	probs    []formProblem

	Classes, Relations []string
	Genders            []string
	LeftBehinds        []leftBehindOption
}

// leftBehindOption is one choice of the form's 留守类型.
type leftBehindOption struct {
	Value, Label string
}

// leftBehindOptions are the kinds of left-behind the form offers, with
// the words of the Ministry of Civil Affairs' definition (kiosk.LeftBehindKind).
func leftBehindOptions() []leftBehindOption {
	out := make([]leftBehindOption, 0, len(kiosk.LeftBehindKinds))
	for _, k := range kiosk.LeftBehindKinds {
		out = append(out, leftBehindOption{Value: string(k), Label: k.Label() + " " + leftBehindEnglish[k]})
	}
	return out
}

// leftBehindEnglish is each kind in English, after its Chinese label.
var leftBehindEnglish = map[kiosk.LeftBehindKind]string{
	kiosk.LeftBehindBoth:   "both parents away",
	kiosk.LeftBehindFather: "father away",
	kiosk.LeftBehindMother: "mother away",
	kiosk.LeftBehindOne:    "one parent away",
	kiosk.LeftBehindOther:  "other (guardian)",
}

// contactForm is one contact row, slot 1..rostercsv.MaxContacts.
type contactForm struct {
	Slot                         int
	Name, Relation, Phone, Limit string // Phone: as typed, "" keeps Stored
	ByPhone, ByVideo             bool   // modes
	// Stored is the stored number, masked; "" when the slot was empty.
	Stored string
	Remove bool
	limit  time.Duration // Limit, read
	// Errs are the row's problems by field: name, relation, phone,
	// modes, limit.
	Errs map[string][]string
}

// saver returns the store as a ChildSaver, or answers 501.
func (c *Console) saver(w http.ResponseWriter, r *http.Request, s *kiosk.Session) (ChildSaver, bool) {
	cs, ok := c.store.(ChildSaver)
	if !ok {
		c.errorPage(w, r, s, http.StatusNotImplemented, "不支持修改 Not available")
	}
	return cs, ok
}

// erasedWords refuses to edit an erased child.
const erasedWords = "该学生的个人信息已按规定删除（匿名化），不能再编辑。 The child's personal data was erased; it cannot be edited."

// formTarget returns the child of the request's path, its contacts and
// the saver; it answers 404, 410 (erased) or 501 and returns false.
func (c *Console) formTarget(w http.ResponseWriter, r *http.Request, s *kiosk.Session) (ChildSaver, kiosk.Child, []kiosk.Contact, bool) {
	sv, ok := c.saver(w, r, s)
	if !ok {
		return nil, kiosk.Child{}, nil, false
	}
	id, ok := c.childID(r)
	if !ok {
		c.errorPage(w, r, s, http.StatusNotFound, "找不到 Not found")
		return nil, kiosk.Child{}, nil, false
	}
	ctx := r.Context()
	ch, err := c.store.Child(ctx, id)
	if err != nil {
		c.storeError(w, r, s, "child", err)
		return nil, kiosk.Child{}, nil, false
	}
	if erased, err := sv.ChildErased(ctx, id); err != nil {
		c.internal(w, r, "child erased", err)
		return nil, kiosk.Child{}, nil, false
	} else if erased {
		c.errorPage(w, r, s, http.StatusGone, erasedWords)
		return nil, kiosk.Child{}, nil, false
	}
	cs, err := c.store.Contacts(ctx, id)
	if err != nil {
		c.storeError(w, r, s, "contacts", err)
		return nil, kiosk.Child{}, nil, false
	}
	return sv, ch, cs, true
}

// emptyForm returns a form with five empty contact rows (phone mode
// ticked, as a roster row's blank mode means phone).
func emptyForm() childForm {
	f := childForm{Errs: map[string][]string{}}
	for n := 1; n <= rostercsv.MaxContacts; n++ {
		f.Contacts = append(f.Contacts, contactForm{Slot: n, ByPhone: true, Errs: map[string][]string{}})
	}
	return f
}

// storedForm returns the form of a stored child: numbers are never put in
// the page, only their masks beside empty fields.
func storedForm(ch kiosk.Child, cs []kiosk.Contact) childForm {
	f := emptyForm()
	f.Child, f.Left = ch, ch.Status == kiosk.ChildLeft
	f.ExternalID, f.Name, f.Gender, f.Class = ch.ExternalID, ch.Name, ch.Gender, ch.Class
	f.LeftBehind = string(ch.LeftBehind)
	if ch.CallLimit > 0 {
		f.Limit = shortDuration(ch.CallLimit)
	}
	for _, ct := range cs {
		if ct.Slot < 1 || ct.Slot > rostercsv.MaxContacts {
			continue
		}
		row := &f.Contacts[ct.Slot-1]
		row.Name, row.Relation, row.Stored = ct.Name, ct.Relation, kiosk.MaskPhone(ct.Phone)
		row.ByPhone, row.ByVideo = ct.Allows(kiosk.ModePhone), ct.Allows(kiosk.ModeVideo)
		if ct.CallLimit > 0 {
			row.Limit = shortDuration(ct.CallLimit)
		}
	}
	return f
}

// readForm reads the posted fields into f, keeping f's Stored masks.
func readForm(r *http.Request, f *childForm) {
	v := func(k string) string { return strings.TrimSpace(r.PostFormValue(k)) }
	f.ExternalID, f.Name, f.Gender, f.Class, f.Limit = v("extid"), v("name"), v("gender"), v("class"), v("limit")
	f.LeftBehind = v("leftbehind")
	for i := range f.Contacts {
		row := &f.Contacts[i]
		p := "c" + strconv.Itoa(row.Slot) + "_"
		row.Name, row.Relation, row.Phone, row.Limit = v(p+"name"), v(p+"relation"), v(p+"phone"), v(p+"limit")
		modes := r.PostForm[p+"modes"]
		row.ByPhone, row.ByVideo = slices.Contains(modes, "phone"), slices.Contains(modes, "video")
		row.Remove = row.Stored != "" && v(p+"remove") == "1"
	}
}

// formPage renders the form with status.
func (c *Console) formPage(w http.ResponseWriter, r *http.Request, s *kiosk.Session, status int, f childForm) {
	ctx := r.Context()
	classes, err := c.store.Classes(ctx)
	if err != nil {
		c.internal(w, r, "classes", err)
		return
	}
	f.Classes, f.Relations, f.Genders = classes, formRelations(), []string{"男", "女"}
	f.LeftBehinds = leftBehindOptions()
	f.listProblems()
	title := "新增学生 Add a child"
	if !f.New {
		title = "编辑 " + f.Child.Name
	}
	c.render(w, r, s, status, "child_form", title, false, f)
}

// formRelations are the relationship words offered: the roster's, in
// Chinese.
func formRelations() []string {
	var out []string
	for _, rel := range rostercsv.Relations() {
		if rel != "" && rel[0] >= 0x80 {
			out = append(out, rel)
		}
	}
	return out
}

// childNew shows the empty form.
func (c *Console) childNew(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	if _, ok := c.saver(w, r, s); !ok {
		return
	}
	if !c.audit(w, r, s, "view_child", "page=new") {
		return
	}
	f := emptyForm()
	f.New = true
	c.formPage(w, r, s, http.StatusOK, f)
}

// childEditForm shows the child's form (audited as a view of the child).
func (c *Console) childEditForm(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	_, ch, cs, ok := c.formTarget(w, r, s)
	if !ok {
		return
	}
	if !c.audit(w, r, s, "view_child", fmt.Sprintf("child=%d page=edit", ch.ID)) {
		return
	}
	c.formPage(w, r, s, http.StatusOK, storedForm(ch, cs))
}

// childNewPost adds a child: 303 to its page, or 400 with the form and
// every problem, nothing written.
func (c *Console) childNewPost(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	sv, ok := c.saver(w, r, s)
	if !ok {
		return
	}
	f := emptyForm()
	f.New = true
	readForm(r, &f)
	c.save(w, r, s, sv, f, nil)
}

// childEditPost changes a child: its fields and contacts; a contact's
// number is kept unless typed again. 303 to its page, or 400 with the form
// and every problem, nothing written; 410 for an erased child.
func (c *Console) childEditPost(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	sv, ch, cs, ok := c.formTarget(w, r, s)
	if !ok {
		return
	}
	f := storedForm(ch, cs)
	readForm(r, &f)
	c.save(w, r, s, sv, f, cs)
}

// save checks f as the roster import checks a row (checkForm), then
// writes it through the ChildSaver; stored are the child's contacts (nil
// for a new child), whose numbers fill the rows left blank.
func (c *Console) save(w http.ResponseWriter, r *http.Request, s *kiosk.Session, sv ChildSaver, f childForm, stored []kiosk.Contact) {
	e, err := c.checkForm(&f, stored)
	if err != nil {
		c.internal(w, r, "check child form", err)
		return
	}
	if len(f.probs) > 0 {
		c.formPage(w, r, s, http.StatusBadRequest, f)
		return
	}
	id, _, err := sv.SaveChild(r.Context(), s.User.Username, f.Child.ID, e)
	switch kiosk.ErrorCode(err) {
	case "":
	case kiosk.EINVALID:
		for _, p := range storeProblems(kiosk.ErrorMessage(err), formLine) {
			f.add(p)
		}
		c.formPage(w, r, s, http.StatusBadRequest, f)
		return
	case kiosk.EGONE:
		c.errorPage(w, r, s, http.StatusGone, erasedWords)
		return
	default:
		c.storeError(w, r, s, "save child", err)
		return
	}
	code := "child_saved"
	if f.New {
		code = "child_added"
	}
	seeOther(w, r, childPath(id), code)
}

// checkForm checks f with the roster file's rules, by reading it as a
// one-row roster file (rostercsv.Read: names, class, gender, kind of
// left-behind, relationship words, phone numbers, modes, at least one
// contact), plus the per-call
// limits the file has no column for; every problem goes to its field and
// the list (f.Problems). A blank number of a stored contact is its stored
// number; a stored contact ticked for removal is left out. It returns the
// entry to save when there is no problem: for an edit, with no status (it
// keeps the stored one). Errors are internal.
func (c *Console) checkForm(f *childForm, stored []kiosk.Contact) (kiosk.RosterEntry, error) {
	bySlot := map[int]kiosk.Contact{}
	for _, ct := range stored {
		bySlot[ct.Slot] = ct
	}
	header := []string{"编号", "姓名", "性别", "班级", "留守类型"}
	row := []string{f.ExternalID, f.Name, f.Gender, f.Class, f.LeftBehind}
	for _, ct := range f.Contacts {
		n := strconv.Itoa(ct.Slot)
		header = append(header, "联系人"+n, "关系"+n, "电话"+n, "方式"+n)
		if ct.Remove {
			row = append(row, "", "", "", "")
			continue
		}
		phone := ct.Phone
		if old, ok := bySlot[ct.Slot]; ok && phone == "" {
			phone = kiosk.NationalNumber(old.Phone)
		}
		modes := ""
		if ct.Name != "" || ct.Relation != "" || phone != "" {
			switch {
			case ct.ByPhone && ct.ByVideo:
				modes = "电话+视频"
			case ct.ByVideo:
				modes = "视频"
			case ct.ByPhone:
				modes = "电话"
			default:
				f.add(rostercsv.Problem{Column: "方式" + n, Message: "请至少选择一种方式（电话或视频）。 choose phone, video or both"})
			}
		}
		row = append(row, ct.Name, ct.Relation, phone, modes)
	}
	childLimit := f.limit("limit", f.Limit)
	for i := range f.Contacts {
		if ct := &f.Contacts[i]; !ct.Remove {
			ct.limit = f.limit("limit"+strconv.Itoa(ct.Slot), ct.Limit)
		}
	}
	for i := range row {
		row[i] = printable(row[i])
	}
	var buf bytes.Buffer
	cw := csv.NewWriter(&buf)
	if err := cw.WriteAll([][]string{header, row}); err != nil {
		return kiosk.RosterEntry{}, fmt.Errorf("form as csv: %w", err)
	}
	file, err := rostercsv.Read(&buf, rostercsv.Opts{CardFormat: c.cardFormat})
	if err != nil {
		return kiosk.RosterEntry{}, fmt.Errorf("form as roster row: %w", err)
	}
	for _, p := range file.Problems {
		f.add(p)
	}
	if len(file.Rows) != 1 {
		// Every field blank: the file has no row at all.
		f.add(rostercsv.Problem{Column: "姓名", Message: "缺少姓名。 missing name"})
		f.add(rostercsv.Problem{Column: "班级", Message: "缺少班级。 missing class"})
		f.add(rostercsv.Problem{Column: "联系人1", Message: "没有联系人：每名学生至少需要一位联系人。 no contact: a child needs at least one approved contact"})
		return kiosk.RosterEntry{}, nil
	}
	e := file.Rows[0].Entry
	e.Child.CallLimit = childLimit
	for i, ct := range e.Contacts {
		e.Contacts[i].CallLimit = f.Contacts[ct.Slot-1].limit
	}
	if !f.New {
		e.Child.Status = ""
	}
	e.Line = formLine
	return e, nil
}

// printable replaces control characters but tab, CR and LF with LF, so
// that the roster reader names them as a line break in the field (a
// control byte would make it take the one-row file for a binary one).
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\t' && r != '\r' && r != '\n' {
			return '\n'
		}
		return r
	}, s)
}

// formField maps a roster column to the form: the contact's slot (0 for
// the child) and the field's name.
func formField(col string) (slot int, field string) {
	switch col {
	case "编号":
		return 0, "extid"
	case "姓名":
		return 0, "name"
	case "性别":
		return 0, "gender"
	case "班级":
		return 0, "class"
	case "留守类型":
		return 0, "leftbehind"
	case "limit":
		return 0, "limit"
	}
	for prefix, field := range map[string]string{"联系人": "name", "关系": "relation", "电话": "phone", "方式": "modes", "limit": "limit"} {
		if rest, ok := strings.CutPrefix(col, prefix); ok {
			if n, err := strconv.Atoi(rest); err == nil && n >= 1 && n <= rostercsv.MaxContacts {
				return n, field
			}
		}
	}
	return 0, ""
}

// limit reads a call limit field (col is its problem's column): "" is 0,
// the station's default; else what parseLimit takes, up to maxCallLimit.
func (f *childForm) limit(col, v string) time.Duration {
	if v == "" {
		return 0
	}
	d, err := parseLimit(v, maxCallLimit)
	if err != nil {
		f.add(rostercsv.Problem{Column: col, Message: err.Error()})
		return 0
	}
	return d
}

// fieldOrder is the order of a row's fields on the page.
var fieldOrder = map[string]int{"name": 1, "class": 2, "gender": 3, "leftbehind": 4, "extid": 5, "relation": 5, "phone": 6, "modes": 7, "limit": 8}

// fieldWords names a form field in the list of problems.
var fieldWords = map[string]string{
	"extid": "编号 ID", "name": "姓名 Name", "gender": "性别 Gender", "class": "班级 Class", "limit": "单次通话时长 Call limit",
	"leftbehind": "留守类型 Left-behind", "relation": "关系 Relation", "phone": "电话 Phone", "modes": "方式 Modes",
}

// add puts p next to its field and in the list.
func (f *childForm) add(p rostercsv.Problem) {
	slot, field := formField(p.Column)
	label := "学生 Child"
	switch {
	case field == "":
	case slot == 0:
		f.Errs[field] = append(f.Errs[field], p.Message)
		label = fieldWords[field]
	default:
		row := &f.Contacts[slot-1]
		row.Errs[field] = append(row.Errs[field], p.Message)
		label = fmt.Sprintf("联系人%d %s", slot, fieldWords[field])
		if field == "name" {
			label = fmt.Sprintf("联系人%d 姓名 Name", slot)
		}
	}
	f.probs = append(f.probs, formProblem{slot, fieldOrder[field], label + "：" + p.Message})
}

// formProblem is one problem of the list, where its field is on the page.
type formProblem struct {
	slot, field int
	text        string
}

// listProblems fills f.Problems in the order of the fields on the page.
func (f *childForm) listProblems() {
	sort.SliceStable(f.probs, func(i, j int) bool {
		a, b := f.probs[i], f.probs[j]
		if a.slot != b.slot {
			return a.slot < b.slot
		}
		return a.field < b.field
	})
	f.Problems = f.Problems[:0]
	for _, p := range f.probs {
		f.Problems = append(f.Problems, p.text)
	}
}
