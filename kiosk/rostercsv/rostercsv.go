// Package rostercsv reads and writes the school's roster file: the CSV a
// home manager keeps in Excel, one child per row with cards and up to five
// approved contacts.
//
// The file is CSV as in RFC 4180 (quoted fields may span lines). Parse
// accepts UTF-8 with or without a byte order mark and GB18030 (what Excel
// on Chinese Windows writes for "CSV"); Write produces UTF-8 with a BOM so
// that Excel opens it correctly. ParseXLSX reads the same columns from an
// XLSX workbook, and Read reads either, with every row and its problems
// for a preview. Headers may be Chinese or English:
//
//	编号 id                  optional, the school's own id for the child
//	姓名 name                required
//	性别 gender              男/女/M/F/male/female or blank
//	班级 class               required
//	状态 status              在校/active (default) or 离校/left
//	卡号 card                card numbers separated by ';' or '/', in Opts.CardFormat
//	联系人N contactN_name     for N = 1..5: contact N's name,
//	关系N   contactN_relation relationship (see Relations),
//	电话N   contactN_phone    phone (see kiosk.ParsePhone),
//	方式N   contactN_modes    电话, 视频, 电话+视频 (phone, video, phone+video);
//	                         blank means phone only
//	留守类型 left_behind      optional, the kind of left-behind child: 父母均外出,
//	                         父亲外出, 母亲外出, 单亲外出, 其他 or blank (see
//	                         kiosk.ParseLeftBehind for every word taken)
//
// A file without a 留守类型 column does not say the kind: its entries have
// RosterEntry.HasLeftBehind false, and an import keeps the kinds recorded.
// No column carries call limits (RosterEntry.HasLimits is never set).
//
// The roster holds children's names and their families' phone numbers in
// clear: it is personal information of minors (PIPL), to be kept and sent
// like any other sensitive document, and exporting it is audited by the
// caller.
package rostercsv

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"unicode"

	"golang.org/x/text/width"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/schoolcsv"
)

// MaxContacts is the number of contact column groups, and the highest
// contact slot (the handset speed-dial digit).
const MaxContacts = 5

// MaxSize is the largest roster file Parse reads, in bytes.
const MaxSize = 16 << 20

// Opts are options for Parse and Write. The zero value is ready to use.
type Opts struct {
	// CardFormat is how the card column writes card numbers; "" means
	// kiosk.CardHex. See kiosk.ParseCardNumber.
	CardFormat kiosk.CardFormat
}

// Problem is one thing wrong in a roster file: Line is the physical line
// (the header is line 1) where the offending field starts, Column the
// header as written in the file or "" for the whole row or file.
type Problem = schoolcsv.Problem

// ParseError lists every problem found in a roster file, sorted by line.
// It unwraps to a *kiosk.Error with code EINVALID, so that transports map
// it like any invalid input; use errors.As to get the list.
type ParseError = schoolcsv.ParseError

// field names a kind of column.
type field int

const (
	fieldNone field = iota // a column with an empty header: must stay empty
	fieldID
	fieldName
	fieldGender
	fieldClass
	fieldStatus
	fieldCard
	fieldContactName
	fieldContactRelation
	fieldContactPhone
	fieldContactModes
	fieldLeftBehind
)

// column is one column of the file.
type column struct {
	field  field
	slot   int    // 1..MaxContacts for contact fields
	header string // as written in the file, trimmed
}

// headerNames maps a normalised header to its column, for both languages.
var headerNames = func() map[string]column {
	m := map[string]column{
		"编号": {field: fieldID}, "id": {field: fieldID},
		"姓名": {field: fieldName}, "name": {field: fieldName},
		"性别": {field: fieldGender}, "gender": {field: fieldGender},
		"班级": {field: fieldClass}, "class": {field: fieldClass},
		"状态": {field: fieldStatus}, "status": {field: fieldStatus},
		"卡号": {field: fieldCard}, "card": {field: fieldCard}, "cards": {field: fieldCard},
		"留守类型": {field: fieldLeftBehind}, "留守情况": {field: fieldLeftBehind},
		"left_behind": {field: fieldLeftBehind}, "left-behind": {field: fieldLeftBehind},
	}
	for n := 1; n <= MaxContacts; n++ {
		for _, h := range []struct {
			zh, en string
			f      field
		}{
			{"联系人", "name", fieldContactName},
			{"关系", "relation", fieldContactRelation},
			{"电话", "phone", fieldContactPhone},
			{"方式", "modes", fieldContactModes},
		} {
			c := column{field: h.f, slot: n}
			m[h.zh+strconv.Itoa(n)] = c
			m["contact"+strconv.Itoa(n)+"_"+h.en] = c
		}
	}
	return m
}()

// normHeader folds a header for lookup: trimmed, full-width letters and
// digits made ASCII, lower case.
func normHeader(s string) string {
	return strings.ToLower(width.Fold.String(strings.TrimSpace(s)))
}

// relations are the relationship words accepted in 关系N, compared
// case-insensitively. Relation is kept as written: a manager who writes
// 爸爸 means the child's screen to say 爸爸.
var relations = []string{
	"父亲", "母亲", "爸爸", "妈妈", "爷爷", "奶奶", "外公", "外婆", "姥姥", "姥爷",
	"祖父", "祖母", "外祖父", "外祖母", "哥哥", "姐姐", "弟弟", "妹妹",
	"叔叔", "婶婶", "伯伯", "伯父", "伯母", "阿姨", "姨妈", "姨父",
	"舅舅", "舅妈", "姑姑", "姑父", "继父", "继母", "监护人",
	"father", "mother", "dad", "mum", "mom", "grandfather", "grandmother",
	"grandpa", "grandma", "brother", "sister", "uncle", "aunt", "stepfather",
	"stepmother", "guardian",
}

// Relations returns the relationship words a roster file may use.
func Relations() []string { return slices.Clone(relations) }

// KnownRelation reports whether s (trimmed, any case) is in Relations.
func KnownRelation(s string) bool {
	s = strings.ToLower(strings.TrimSpace(s))
	return slices.Contains(relations, s)
}

// formulaStart reports whether a spreadsheet would run s as a formula.
func formulaStart(s string) bool {
	return s != "" && strings.ContainsRune("=+-@", rune(s[0]))
}

// textProblem says what makes s unfit for a name, class or id, or "".
// Line breaks and other control characters are refused: they are typing
// slips in a cell (Alt+Enter), and would not show on a screen or a print.
func textProblem(what, s string) string {
	zh := zhWords[what]
	if zh == "" {
		zh = what
	}
	if formulaStart(s) {
		return fmt.Sprintf("%s以“%s”开头，表格软件会把它当作公式。 %s starts with %q: a spreadsheet would run it as a formula", zh, s[:1], what, s[:1])
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return fmt.Sprintf("%s含有换行或其他控制字符。 %s contains a line break or another control character", zh, what)
	}
	return ""
}

// Parse reads a roster file and returns one entry per child, in file order,
// with Line set to the line where the child's row starts. Contacts carry
// their Slot (the N of their columns) and are ordered by it; phones are
// E.164; cards are normalised UIDs; Status defaults to kiosk.ChildActive.
// IDs are zero: entries are not yet in a roster.
//
// Blank lines and rows whose fields are all blank are skipped. Parse is
// all-or-nothing: if anything is wrong it returns no entries and a
// *ParseError listing every problem (unknown or duplicate headers; a
// missing name or class; an unknown gender, status or relationship; a
// contact with some but not all of name, relationship and phone; a child
// with no contact; a bad phone or card number; a card on two rows or twice
// on one; the same child twice, by id or else by name and class). A file
// that cannot be read or decoded returns another error.
func Parse(r io.Reader, opts Opts) ([]kiosk.RosterEntry, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxSize+1))
	if err != nil {
		return nil, fmt.Errorf("read roster file: %w", err)
	}
	if len(b) > MaxSize {
		return nil, kiosk.Errorf(kiosk.EINVALID, "名册文件太大（超过 %d 字节）。 roster file: larger than %d bytes", MaxSize, MaxSize)
	}
	text, err := schoolcsv.Decode(b)
	if err != nil {
		return nil, kiosk.Errorf(kiosk.EINVALID, "roster file: %s", kiosk.ErrorMessage(err))
	}
	return readCSV(text, opts).Entries()
}

type nameSeen struct {
	line  int
	hasID bool
}

// parser holds the state of one Parse.
type parser struct {
	opts Opts
	// pos returns the line of field i of the record being read (the sheet
	// row for XLSX).
	pos      func(i int) int
	cols     []column
	problems []Problem
	file     File                // rows and general problems, see File
	cards    map[string]int      // UID -> line
	ids      map[string]int      // external id -> line
	names    map[string]nameSeen // name + "\x00" + class -> first row
	first    map[field]int       // field (non-contact) -> column index
	groups   [MaxContacts + 1]map[field]int
}

// addf adds a problem, its message in Chinese (zhFormats) then English.
func (p *parser) addf(line int, col, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if zh := zhMessage(format, args); zh != "" {
		msg = zh + " " + msg
	}
	p.problems = append(p.problems, Problem{Line: line, Column: col, Message: msg})
}

// wantHeader is the header row named in the problem of an empty file.
const wantHeader = "姓名, 班级, 联系人1, 关系1, 电话1, ..."

// readCSV reads the records of a decoded CSV roster file.
func readCSV(text string, opts Opts) *File {
	p := newParser(opts, "csv")
	cr := schoolcsv.NewReader(text)
	p.pos = func(i int) int {
		line, _ := cr.FieldPos(i)
		return line
	}
	p.general(schoolcsv.Read(cr, wantHeader, p.fileHeader, p.addRow)...)
	return p.finish()
}

// header reads the header row; it reports false if rows cannot be read.
func (p *parser) header(rec []string) bool {
	line := p.pos(0)
	before := len(p.problems)
	p.first = map[field]int{}
	seen := map[column]string{}
	for i, h := range rec {
		line := p.pos(i)
		h = strings.TrimSpace(strings.TrimPrefix(h, "\uFEFF"))
		if h == "" {
			p.cols = append(p.cols, column{field: fieldNone, header: fmt.Sprintf("column %d", i+1)})
			continue
		}
		c, ok := headerNames[normHeader(h)]
		if !ok {
			p.addf(line, h, "unknown column: want 编号/id, 姓名/name, 性别/gender, 班级/class, 状态/status, 卡号/card, 留守类型/left_behind, or for N = 1 to %d 联系人N/contactN_name, 关系N/contactN_relation, 电话N/contactN_phone, 方式N/contactN_modes", MaxContacts)
			p.cols = append(p.cols, column{field: fieldNone, header: h})
			continue
		}
		if prev, dup := seen[c]; dup {
			p.addf(line, h, "duplicate column: same as %s", prev)
		}
		seen[c] = h
		c.header = h
		p.cols = append(p.cols, c)
		if c.slot == 0 {
			if _, ok := p.first[c.field]; !ok {
				p.first[c.field] = i
			}
			continue
		}
		if p.groups[c.slot] == nil {
			p.groups[c.slot] = map[field]int{}
		}
		if _, ok := p.groups[c.slot][c.field]; !ok {
			p.groups[c.slot][c.field] = i
		}
	}
	for _, f := range []struct {
		f    field
		name string
	}{{fieldName, "姓名/name"}, {fieldClass, "班级/class"}} {
		if _, ok := p.first[f.f]; !ok {
			p.addf(line, "", "missing column %s", f.name)
		}
	}
	contacts := 0
	for n := 1; n <= MaxContacts; n++ {
		g := p.groups[n]
		if g == nil {
			continue
		}
		contacts++
		for _, f := range []struct {
			f      field
			zh, en string
		}{{fieldContactName, "联系人", "name"}, {fieldContactRelation, "关系", "relation"}, {fieldContactPhone, "电话", "phone"}} {
			if _, ok := g[f.f]; !ok {
				p.addf(line, "", "missing column %s%d/contact%d_%s: contact %d's columns come together", f.zh, n, n, f.en, n)
			}
		}
	}
	if contacts == 0 {
		p.addf(line, "", "no contact columns: want at least 联系人1, 关系1 and 电话1")
	}
	return len(p.problems) == before
}

// cell returns the trimmed value of column i of rec and its line.
func (p *parser) cell(rec []string, i int) (string, int) {
	if i < 0 || i >= len(rec) {
		return "", p.pos(0)
	}
	line := p.pos(i)
	return strings.TrimSpace(rec[i]), line
}

// get returns the value, line and header of the first column of field f.
func (p *parser) get(rec []string, f field) (v string, line int, header string) {
	i, ok := p.first[f]
	if !ok {
		v, line = p.cell(rec, -1)
		return v, line, ""
	}
	v, line = p.cell(rec, i)
	return v, line, p.cols[i].header
}

// row reads one child's row; it reports false if the row has problems.
func (p *parser) row(rec []string) (kiosk.RosterEntry, bool) {
	before := len(p.problems)
	start := p.pos(0)
	e := kiosk.RosterEntry{Line: start, Child: kiosk.Child{Status: kiosk.ChildActive}}

	for i := range rec {
		if i >= len(p.cols) || p.cols[i].field == fieldNone {
			if v, line := p.cell(rec, i); v != "" {
				if i < len(p.cols) {
					p.addf(line, p.cols[i].header, "a value in a column without a header")
				} else {
					p.addf(line, "", "field %d: more fields than the header has (%d)", i+1, len(p.cols))
				}
			}
		}
	}

	text := func(f field, what string, required bool) string {
		v, line, h := p.get(rec, f)
		if v == "" && required {
			p.addf(line, h, "missing %s", what)
		} else if msg := textProblem(what, v); msg != "" {
			p.addf(line, h, "%s", msg)
		}
		return v
	}
	e.Child.ExternalID = text(fieldID, "id", false)
	e.Child.Name = text(fieldName, "name", true)
	e.Child.Class = text(fieldClass, "class", true)

	if v, line, h := p.get(rec, fieldGender); v != "" {
		switch strings.ToLower(v) {
		case "男", "m", "male":
			e.Child.Gender = "男"
		case "女", "f", "female":
			e.Child.Gender = "女"
		default:
			p.addf(line, h, "unknown gender: want 男, 女, M, F or blank")
		}
	}
	if v, line, h := p.get(rec, fieldStatus); v != "" {
		switch strings.ToLower(v) {
		case "在校", "active":
		case "离校", "left":
			e.Child.Status = kiosk.ChildLeft
		default:
			p.addf(line, h, "unknown status: want 在校/active, 离校/left or blank")
		}
	}

	if _, ok := p.first[fieldLeftBehind]; ok {
		e.HasLeftBehind = true
		v, line, h := p.get(rec, fieldLeftBehind)
		k, err := kiosk.ParseLeftBehind(v)
		if err != nil {
			p.addf(line, h, "unknown kind of left-behind: want 父母均外出, 父亲外出, 母亲外出, 单亲外出, 其他 (both_away, father_away, mother_away, one_away, other) or blank")
		}
		e.Child.LeftBehind = k
	}

	if v, line, h := p.get(rec, fieldCard); v != "" {
		mine := map[string]int{}
		for k, s := range splitCards(v) {
			if looksScientific(s) {
				p.addf(line, h, "card %d: in scientific notation (a spreadsheet turned it into a number): format the column as text", k+1)
				continue
			}
			uid, err := kiosk.ParseCardNumber(s, p.opts.CardFormat)
			if err != nil {
				p.addf(line, h, "card %d: %s", k+1, kiosk.ErrorMessage(err))
				continue
			}
			if _, dup := mine[uid]; dup {
				p.addf(line, h, "card %d: the same card twice in this row", k+1)
				continue
			}
			mine[uid] = k
			if prev, dup := p.cards[uid]; dup {
				p.addf(line, h, "card %d: already given to the child on line %d", k+1, prev)
				continue
			}
			p.cards[uid] = start
			e.Cards = append(e.Cards, uid)
		}
	}

	present := false
	for n := 1; n <= MaxContacts; n++ {
		c, filled, ok := p.contact(rec, n)
		present = present || filled
		if ok {
			e.Contacts = append(e.Contacts, c)
		}
	}
	if !present {
		line, h := start, ""
		for n := 1; n <= MaxContacts && h == ""; n++ {
			if i, ok := p.groups[n][fieldContactName]; ok {
				_, line = p.cell(rec, i)
				h = p.cols[i].header
			}
		}
		p.addf(line, h, "no contact: a child needs at least one approved contact")
	}

	p.duplicateChild(rec, e, start)
	return e, len(p.problems) == before
}

// duplicateChild records the child's identity and reports a second row for
// the same child: the same id, or the same name and class when either row
// has no id.
func (p *parser) duplicateChild(rec []string, e kiosk.RosterEntry, start int) {
	if id := e.Child.ExternalID; id != "" {
		if prev, dup := p.ids[id]; dup {
			_, line, h := p.get(rec, fieldID)
			p.addf(line, h, "duplicate id: the same as line %d", prev)
		} else {
			p.ids[id] = start
		}
	}
	if e.Child.Name == "" || e.Child.Class == "" {
		return
	}
	key := e.Child.Name + "\x00" + e.Child.Class
	prev, dup := p.names[key]
	hasID := e.Child.ExternalID != ""
	if dup && !(prev.hasID && hasID) {
		_, line, h := p.get(rec, fieldName)
		p.addf(line, h, "duplicate child: the same name and class as line %d (give both rows an id if they are two children)", prev.line)
	}
	if !dup {
		p.names[key] = nameSeen{line: start, hasID: hasID}
	}
}

// contact reads contact group n of a row. filled reports whether the
// group has a name, relationship or phone; ok whether it is a valid
// contact.
func (p *parser) contact(rec []string, n int) (c kiosk.Contact, filled, ok bool) {
	g := p.groups[n]
	if g == nil {
		return kiosk.Contact{}, false, false
	}
	type val struct {
		v, h string
		line int
	}
	get := func(f field) val {
		i, ok := g[f]
		if !ok {
			return val{}
		}
		v, line := p.cell(rec, i)
		return val{v: v, h: p.cols[i].header, line: line}
	}
	name, rel, phone, modes := get(fieldContactName), get(fieldContactRelation), get(fieldContactPhone), get(fieldContactModes)
	if name.v == "" && rel.v == "" && phone.v == "" {
		if modes.v != "" {
			p.addf(modes.line, modes.h, "modes for contact %d, who has no name, relationship or phone", n)
		}
		return kiosk.Contact{}, false, false
	}
	before := len(p.problems)
	for _, x := range []struct {
		val
		what string
	}{{name, "name"}, {rel, "relationship"}, {phone, "phone"}} {
		if x.v == "" {
			p.addf(x.line, x.h, "missing %s of contact %d: a contact needs a name, a relationship and a phone", x.what, n)
		}
	}
	c = kiosk.Contact{Slot: n, Name: name.v, Relation: rel.v}
	if msg := textProblem("name", name.v); msg != "" {
		p.addf(name.line, name.h, "%s", msg)
	}
	if rel.v != "" && !KnownRelation(rel.v) {
		p.addf(rel.line, rel.h, "unknown relationship: want one of %s", strings.Join(relations, " "))
	}
	if phone.v != "" {
		e164, err := kiosk.ParsePhone(phone.v)
		if err != nil {
			p.addf(phone.line, phone.h, "电话号码无效。 %s", kiosk.ErrorMessage(err))
		}
		c.Phone = e164
	}
	m, err := parseModes(modes.v)
	if err != nil {
		p.addf(modes.line, modes.h, "%v", err)
	}
	c.Modes = m
	return c, true, len(p.problems) == before
}

// splitCards splits the card column on ';' and '/' (and their full-width
// forms), dropping blanks.
func splitCards(s string) []string {
	parts := strings.FieldsFunc(s, func(r rune) bool {
		return r == ';' || r == '/' || r == '；' || r == '／' || r == '、' || r == '\n'
	})
	out := parts[:0]
	for _, x := range parts {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out
}

// looksScientific reports whether s is a number a spreadsheet turned into
// scientific notation, such as "7.77059E+07".
func looksScientific(s string) bool {
	s = strings.ToUpper(s)
	i := strings.Index(s, "E+")
	if i <= 0 || !strings.Contains(s[:i], ".") {
		return false
	}
	_, err := strconv.ParseFloat(s, 64)
	return err == nil
}

// parseModes reads 方式N: blank means phone only.
func parseModes(s string) ([]kiosk.Mode, error) {
	if s == "" {
		return []kiosk.Mode{kiosk.ModePhone}, nil
	}
	var phone, video bool
	for _, w := range strings.FieldsFunc(s, func(r rune) bool {
		return strings.ContainsRune("+＋/／;；,，、 ", r)
	}) {
		switch strings.ToLower(w) {
		case "电话", "亲情电话", "phone":
			phone = true
		case "视频", "video":
			video = true
		default:
			return nil, fmt.Errorf("方式无法识别，应为 电话、视频 或 电话+视频。 unknown mode: want 电话, 视频 or 电话+视频 (phone, video, phone+video)")
		}
	}
	var m []kiosk.Mode
	if phone {
		m = append(m, kiosk.ModePhone)
	}
	if video {
		m = append(m, kiosk.ModeVideo)
	}
	return m, nil
}

// modesText writes modes for 方式N.
func modesText(m []kiosk.Mode) (string, error) {
	var phone, video bool
	for _, x := range m {
		switch x {
		case kiosk.ModePhone:
			phone = true
		case kiosk.ModeVideo:
			video = true
		default:
			return "", fmt.Errorf("unknown mode %q", x)
		}
	}
	switch {
	case phone && video:
		return "电话+视频", nil
	case video:
		return "视频", nil
	default:
		// No mode at all is written as phone, the default.
		return "电话", nil
	}
}

// Write writes entries as a roster file that Parse reads back: UTF-8 with
// a BOM, CRLF line ends, Chinese headers 编号, 姓名, 性别, 班级, 状态, 卡号,
// 联系人N, 关系N, 电话N, 方式N for N = 1..5, and 留守类型 (the kind's
// Label, blank when not recorded) last. Cards are written in
// opts.CardFormat (in hex when the format cannot show them, such as 8h10d
// for a 7-byte UID) and joined with ';'. Phones are written in national
// form (13812345678, 01012345678; other countries in E.164), so the file
// holds phone numbers in clear: see the package doc.
//
// Parse(Write(x)) returns x (with Line set) for entries Parse could have
// returned, with HasLeftBehind set; CallLimit and IDs are not part of the
// file. Write returns an error, before writing anything, for an entry it
// cannot represent: a contact slot outside 1..5 or used twice, an invalid
// card UID, an unknown mode or kind of left-behind, or a name, class, id or relationship that Parse would
// refuse (a spreadsheet formula, a control character).
func Write(w io.Writer, entries []kiosk.RosterEntry, opts Opts) error {
	header := []string{"编号", "姓名", "性别", "班级", "状态", "卡号"}
	for n := 1; n <= MaxContacts; n++ {
		header = append(header, fmt.Sprintf("联系人%d", n), fmt.Sprintf("关系%d", n), fmt.Sprintf("电话%d", n), fmt.Sprintf("方式%d", n))
	}
	header = append(header, "留守类型")
	rows := [][]string{header}
	for k, e := range entries {
		row, err := record(e, opts, len(header))
		if err != nil {
			return fmt.Errorf("write roster entry %d: %w", k+1, err)
		}
		rows = append(rows, row)
	}
	var buf bytes.Buffer
	buf.WriteString("\uFEFF")
	cw := csv.NewWriter(&buf)
	cw.UseCRLF = true
	if err := cw.WriteAll(rows); err != nil {
		return fmt.Errorf("write roster csv: %w", err)
	}
	if _, err := w.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("write roster file: %w", err)
	}
	return nil
}

// record returns the CSV row of one entry.
func record(e kiosk.RosterEntry, opts Opts, width int) ([]string, error) {
	for _, s := range []string{e.Child.ExternalID, e.Child.Name, e.Child.Class} {
		if msg := textProblem("a text field", s); msg != "" {
			return nil, kiosk.Errorf(kiosk.EINVALID, "%s", msg)
		}
	}
	status := "在校"
	if e.Child.Status == kiosk.ChildLeft {
		status = "离校"
	}
	cards := make([]string, 0, len(e.Cards))
	for i, uid := range e.Cards {
		s := kiosk.FormatCardNumber(uid, opts.CardFormat)
		if s == "" {
			s = kiosk.FormatCardNumber(uid, kiosk.CardHex)
		}
		if s == "" {
			return nil, kiosk.Errorf(kiosk.EINVALID, "card %d: not a valid UID", i+1)
		}
		cards = append(cards, s)
	}
	if !e.Child.LeftBehind.Valid() {
		return nil, kiosk.Errorf(kiosk.EINVALID, "unknown kind of left-behind %q", e.Child.LeftBehind)
	}
	row := make([]string, width)
	copy(row, []string{e.Child.ExternalID, e.Child.Name, e.Child.Gender, e.Child.Class, status, strings.Join(cards, ";")})
	row[width-1] = e.Child.LeftBehind.Label()
	used := map[int]bool{}
	for _, c := range e.Contacts {
		if c.Slot < 1 || c.Slot > MaxContacts || used[c.Slot] {
			return nil, kiosk.Errorf(kiosk.EINVALID, "contact slot %d: want a distinct slot from 1 to %d", c.Slot, MaxContacts)
		}
		used[c.Slot] = true
		for _, s := range []string{c.Name, c.Relation} {
			if msg := textProblem("a text field", s); msg != "" {
				return nil, kiosk.Errorf(kiosk.EINVALID, "contact %d: %s", c.Slot, msg)
			}
		}
		modes, err := modesText(c.Modes)
		if err != nil {
			return nil, fmt.Errorf("contact %d: %w", c.Slot, err)
		}
		i := 6 + 4*(c.Slot-1)
		row[i], row[i+1], row[i+2], row[i+3] = c.Name, c.Relation, kiosk.NationalNumber(c.Phone), modes
	}
	return row, nil
}
