package console

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/rostercsv"
	"github.com/qinqing/station/kiosk/sqlite"
)

// RosterImporter is what the bulk roster import (批量导入名册) needs
// beside Store; kiosk/sqlite's *DB implements it. A Store that does not
// implement it gets 501 on the import's routes.
type RosterImporter interface {
	// ApplyRoster applies entries in one transaction, all or nothing,
	// journaling every change as a 'roster' entry; with dryRun it writes
	// nothing and says what would change. Problems only the database can
	// see (a card bound to another child, an ambiguous name and class) are
	// one EINVALID *kiosk.Error with a "line N: column: problem" line
	// each.
	ApplyRoster(ctx context.Context, entries []kiosk.RosterEntry, dryRun bool) (sqlite.RosterChanges, error)
	// PreviewRoster is ApplyRoster's dry run in one pass, with what each
	// entry would change and every problem found.
	PreviewRoster(ctx context.Context, entries []kiosk.RosterEntry) (sqlite.RosterPreview, error)
}

// Bounds of the import.
const (
	// maxUpload bounds the body of the upload form, in bytes: a roster of
	// a few hundred children is tens of kilobytes, in CSV or XLSX.
	maxUpload = 5 << 20
	// importTTL is how long a preview can be imported.
	importTTL = 15 * time.Minute
	// maxPending bounds the previews kept in memory, all sessions
	// together; the oldest goes first.
	maxPending = 16
	// maxRows bounds the rows of a roster file: a rural school's
	// Children's Home has tens to a few hundred children, a whole large
	// school a few thousand. A file with more is not a roster (an export
	// of another system, a file appended to itself), and its preview
	// would hold the database and the page for minutes.
	maxRows = 5000
)

// rosterUploadPath is the route that takes the roster file.
const rosterUploadPath = "/console/roster/import/preview"

// postLimit is the bound of a POST body to path, in bytes: maxUpload for
// the roster upload, maxForm for every other form.
func postLimit(path string) int64 {
	if path == rosterUploadPath {
		return maxUpload
	}
	return maxForm
}

func init() { pageNames = append(pageNames, "roster_import") }

// rosterImport serves the import: an upload form, a preview of every row
// with its problems and what would change (nothing written), and the
// import of exactly the previewed file, kept in memory under a random id
// bound to the session for importTTL and used once.
type rosterImport struct {
	c       *Console
	mu      sync.Mutex
	pending map[string]*pendingImport
}

// pendingImport is a previewed file that can be imported.
type pendingImport struct {
	session string // the session that previewed it
	name    string // file name, for the audit
	format  string
	entries []kiosk.RosterEntry
	preview sqlite.RosterChanges // what the preview said would change
	expires time.Time
}

// rosterImportRoutes lists the import's routes; New appends them. The
// form is shown to managers and principals (a principal reads how the
// import works, with no form); previews and imports are for managers.
func (c *Console) rosterImportRoutes() []route {
	im := &rosterImport{c: c, pending: map[string]*pendingImport{}}
	return []route{
		{"GET", "/console/roster/import", readAll, false, im.form},
		{"POST", rosterUploadPath, readAll, true, c.managerOnly(im.previewPost)},
		{"POST", "/console/roster/import/commit", readAll, true, c.managerOnly(im.commit)},
	}
}

// importData is what templates/roster_import.html shows: Stage is
// "form", "preview" or "done".
type importData struct {
	Stage   string
	Manager bool
	Message string // a problem with the upload as a whole
	Done    string // what was imported
	Max     string // the upload limit in words

	File, Format, Sheet string
	ID                  string // the pending import; "" when it cannot be imported
	Expires             string // "15:04"
	Rows                []importRow
	General             []rostercsv.Problem
	BadRows, Problems   int
	Changes             sqlite.RosterChanges
	// LeftBehind: the file has a 留守类型 column (without one, the kinds
	// recorded are kept and the preview has no such column).
	LeftBehind bool
}

// importRow is one row of the preview.
type importRow struct {
	Line                            int
	ExternalID, Name, Gender, Class string
	Status                          string
	LeftBehind                      string   // the kind's label, "" when not recorded
	Cards                           int      // how many cards
	Contacts                        []string // "父亲 王建国 138****0001 电话+视频", numbers masked
	Change                          string   // what importing the row would change, in words
	Problems                        []rostercsv.Problem
}

func (im *rosterImport) importer(w http.ResponseWriter, r *http.Request, s *kiosk.Session) (RosterImporter, bool) {
	st, ok := im.c.store.(RosterImporter)
	if !ok {
		im.c.errorPage(w, r, s, http.StatusNotImplemented, "不支持批量导入 Not available")
	}
	return st, ok
}

func (im *rosterImport) page(w http.ResponseWriter, r *http.Request, s *kiosk.Session, status int, d importData) {
	d.Manager = s.User.Role == kiosk.RoleManager
	d.Max = fmt.Sprintf("%d MB", maxUpload>>20)
	im.c.render(w, r, s, status, "roster_import", "批量导入名册 Import roster", false, d)
}

// form shows the upload form.
func (im *rosterImport) form(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	if _, ok := im.importer(w, r, s); !ok {
		return
	}
	im.page(w, r, s, http.StatusOK, importData{Stage: "form"})
}

// uploadName returns the uploaded file's name for pages and the audit:
// its base name, without control characters, at most 80 characters.
func uploadName(name string) string {
	name = path.Base(strings.ReplaceAll(name, `\`, "/"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	if rs := []rune(name); len(rs) > 80 {
		name = string(rs[:80])
	}
	if name == "." || name == "/" {
		name = ""
	}
	return name
}

// previewPost reads the uploaded roster (multipart form: csrf, file),
// checks every row and says what importing it would change, writing
// nothing; audited as preview_roster_import (file name, rows, problems).
// 400 with the form again when no file came, it is not a roster file at
// all (not CSV or XLSX, a bad encoding) or it has more than maxRows rows;
// 413 when it is over maxUpload (bodyTooLarge); 200 with the preview otherwise,
// with an import button only when no row has a problem.
func (im *rosterImport) previewPost(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	st, ok := im.importer(w, r, s)
	if !ok {
		return
	}
	again := func(msg string) {
		im.page(w, r, s, http.StatusBadRequest, importData{Stage: "form", Message: msg})
	}
	file, hdr, err := r.FormFile("file")
	if err != nil {
		again("请选择名册文件（CSV 或 XLSX）。 Choose a roster file (CSV or XLSX).")
		return
	}
	defer file.Close()
	name := uploadName(hdr.Filename)
	f, err := rostercsv.Read(file, rostercsv.Opts{CardFormat: im.c.cardFormat})
	if kiosk.ErrorCode(err) == kiosk.EINVALID {
		again("无法读取此文件： " + kiosk.ErrorMessage(err))
		return
	} else if err != nil {
		im.c.internal(w, r, "read roster upload", err)
		return
	}
	if n := len(f.Rows); n > maxRows {
		im.c.log.Info("roster upload refused: too many rows", "rows", n, "max", maxRows)
		again(fmt.Sprintf("此文件有 %d 行学生，超过上限 %d 行：一所学校不会有这么多学生，请检查是否选错了文件，或把名册分成几个文件。 The file has %d rows, more than the %d a school has: check that it is the roster, or split it.",
			n, maxRows, n, maxRows))
		return
	}
	d, entries, err := im.check(r.Context(), st, f)
	if err != nil {
		im.c.internal(w, r, "preview roster import", err)
		return
	}
	d.Stage, d.File, d.Format, d.Sheet = "preview", name, f.Format, f.Sheet
	if !im.c.audit(w, r, s, "preview_roster_import", fmt.Sprintf("file=%q format=%s rows=%d problems=%d",
		name, f.Format, len(f.Rows), d.Problems)) {
		return
	}
	if d.Problems == 0 {
		now := im.c.now()
		d.ID = im.keep(&pendingImport{session: s.ID, name: name, format: f.Format, entries: entries,
			preview: d.Changes, expires: now.Add(importTTL)}, now)
		d.Expires = now.Add(importTTL).In(im.c.loc).Format("15:04")
	}
	im.page(w, r, s, http.StatusOK, d)
}

// check fills the preview of f: the parser's problems, then, for the rows
// without any, what each would change and the database's own problems,
// from one dry run of them all (RosterImporter.PreviewRoster). The
// entries are returned when nothing is wrong.
func (im *rosterImport) check(ctx context.Context, st RosterImporter, f *rostercsv.File) (importData, []kiosk.RosterEntry, error) {
	d := importData{General: f.General}
	byLine := map[int]int{} // line -> index in d.Rows
	var clean []kiosk.RosterEntry
	var cleanRow []int // index in d.Rows of clean[k]
	for _, row := range f.Rows {
		ir := importRow{Line: row.Line, ExternalID: row.Entry.Child.ExternalID, Name: row.Entry.Child.Name,
			Gender: row.Entry.Child.Gender, Class: row.Entry.Child.Class, Cards: len(row.Entry.Cards),
			Problems: slices.Clone(row.Problems)}
		ir.LeftBehind = row.Entry.Child.LeftBehind.Label()
		d.LeftBehind = d.LeftBehind || row.Entry.HasLeftBehind
		ir.Status = "在校"
		if row.Entry.Child.Status == kiosk.ChildLeft {
			ir.Status = "离校 left"
		}
		for _, ct := range row.Entry.Contacts {
			ir.Contacts = append(ir.Contacts, strings.TrimSpace(fmt.Sprintf("%s %s %s %s", ct.Relation, ct.Name, kiosk.MaskPhone(ct.Phone), modeWords(ct.Modes))))
		}
		if len(ir.Problems) == 0 {
			clean = append(clean, row.Entry)
			cleanRow = append(cleanRow, len(d.Rows))
		}
		byLine[row.Line] = len(d.Rows)
		d.Rows = append(d.Rows, ir)
	}
	p, err := st.PreviewRoster(ctx, clean)
	if err != nil {
		return importData{}, nil, fmt.Errorf("dry run of the file: %w", err)
	}
	for _, msg := range p.Problems {
		for _, pr := range storeProblems(msg, 0) {
			if i, ok := byLine[pr.Line]; ok {
				d.Rows[i].Problems = append(d.Rows[i].Problems, pr)
			} else {
				d.General = append(d.General, pr)
			}
		}
	}
	for k, i := range cleanRow {
		if len(d.Rows[i].Problems) == 0 && k < len(p.Entries) {
			d.Rows[i].Change = changeWords(p.Entries[k])
		}
	}
	d.BadRows, d.Problems = 0, len(d.General)
	for _, ir := range d.Rows {
		if len(ir.Problems) > 0 {
			d.BadRows++
			d.Problems += len(ir.Problems)
		}
	}
	if len(f.Rows) == 0 && d.Problems == 0 {
		d.General = append(d.General, rostercsv.Problem{Line: 1, Message: "没有学生行 no rows: the file has a header but no child"})
		d.Problems++
	}
	if d.Problems > 0 {
		return d, nil, nil
	}
	entries, err := f.Entries()
	if err != nil {
		return importData{}, nil, fmt.Errorf("entries of a file without problems: %w", err)
	}
	d.Changes = p.Total
	return d, entries, nil
}

// storeProblems turns ApplyRoster's EINVALID message, one "line N:
// column: problem" per line, into problems; a line without a number gets
// line.
func storeProblems(msg string, line int) []rostercsv.Problem {
	var out []rostercsv.Problem
	for _, l := range strings.Split(msg, "\n") {
		if l = strings.TrimSpace(l); l == "" {
			continue
		}
		p := rostercsv.Problem{Line: line, Message: l}
		if rest, ok := strings.CutPrefix(l, "line "); ok {
			if num, tail, ok := strings.Cut(rest, ": "); ok {
				if n, err := strconv.Atoi(num); err == nil {
					p.Line = n
					p.Message = tail
					if col, m, ok := strings.Cut(tail, ": "); ok && !strings.Contains(col, " ") {
						p.Column, p.Message = col, m
					}
				}
			}
		}
		out = append(out, p)
	}
	return out
}

// changeWords says what importing one row would change.
func changeWords(ch sqlite.RosterChanges) string {
	var parts []string
	switch {
	case ch.Children.Added > 0:
		parts = append(parts, "新学生 new")
	case ch.Children.Updated > 0:
		parts = append(parts, "更新学生信息 updated")
	}
	if n := ch.Contacts.Added; n > 0 {
		parts = append(parts, fmt.Sprintf("新增联系人 %d", n))
	}
	if n := ch.Contacts.Updated; n > 0 {
		parts = append(parts, fmt.Sprintf("修改联系人 %d", n))
	}
	if n := ch.Contacts.Removed; n > 0 {
		parts = append(parts, fmt.Sprintf("删除联系人 %d", n))
	}
	if n := ch.Cards.Added; n > 0 {
		parts = append(parts, fmt.Sprintf("新增卡 %d", n))
	}
	if len(parts) == 0 {
		return "无变化 unchanged"
	}
	return strings.Join(parts, "，")
}

// modeWords writes a contact's modes as the roster file does.
func modeWords(ms []kiosk.Mode) string {
	var phone, video bool
	for _, m := range ms {
		phone = phone || m == kiosk.ModePhone
		video = video || m == kiosk.ModeVideo
	}
	switch {
	case phone && video:
		return "电话+视频"
	case video:
		return "视频"
	}
	return "电话"
}

// keep stores p under a new random id and returns the id; it drops
// expired previews, the session's earlier one, and the oldest beyond
// maxPending.
func (im *rosterImport) keep(p *pendingImport, now time.Time) string {
	b := make([]byte, 18)
	rand.Read(b) // never fails (crypto/rand, Go >= 1.24)
	id := base64.RawURLEncoding.EncodeToString(b)
	im.mu.Lock()
	defer im.mu.Unlock()
	for k, q := range im.pending {
		if !now.Before(q.expires) || q.session == p.session {
			delete(im.pending, k)
		}
	}
	for len(im.pending) >= maxPending {
		oldest := ""
		for k, q := range im.pending {
			if oldest == "" || q.expires.Before(im.pending[oldest].expires) {
				oldest = k
			}
		}
		delete(im.pending, oldest)
	}
	im.pending[id] = p
	return id
}

// take removes and returns the session's pending import id; nil when
// there is none (unknown, expired, another session's, or used).
func (im *rosterImport) take(id, session string, now time.Time) *pendingImport {
	im.mu.Lock()
	defer im.mu.Unlock()
	p := im.pending[id]
	if p == nil || p.session != session {
		return nil
	}
	delete(im.pending, id)
	if !now.Before(p.expires) {
		return nil
	}
	return p
}

// commit imports the previewed file (form: csrf, id) all or nothing;
// audited as import_roster (file name, rows, changes). 410 with the form
// when the preview is unknown, expired, used or another session's; 409
// when the database no longer takes the file (nothing written).
func (im *rosterImport) commit(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	st, ok := im.importer(w, r, s)
	if !ok {
		return
	}
	p := im.take(r.PostFormValue("id"), s.ID, im.c.now())
	if p == nil {
		im.page(w, r, s, http.StatusGone, importData{Stage: "form",
			Message: "预览已过期或已导入，请重新上传文件。 The preview expired or was already imported: upload the file again."})
		return
	}
	ch, err := st.ApplyRoster(r.Context(), p.entries, false)
	if kiosk.ErrorCode(err) == kiosk.EINVALID {
		im.c.log.Info("roster import refused: the roster changed since the preview", "rows", len(p.entries))
		im.page(w, r, s, http.StatusConflict, importData{Stage: "form",
			Message: "名册在预览后已被修改，未导入任何数据，请重新上传预览。 The roster changed since the preview; nothing was imported: upload the file again. " + kiosk.ErrorMessage(err)})
		return
	} else if err != nil {
		im.c.internal(w, r, "import roster", err)
		return
	}
	if !im.c.audit(w, r, s, "import_roster", fmt.Sprintf("file=%q format=%s rows=%d children_added=%d children_updated=%d contacts_changed=%d cards_added=%d",
		p.name, p.format, len(p.entries), ch.Children.Added, ch.Children.Updated,
		ch.Contacts.Added+ch.Contacts.Updated+ch.Contacts.Removed, ch.Cards.Added)) {
		return
	}
	im.c.log.Info("roster imported", "rows", len(p.entries), "children_added", ch.Children.Added, "children_updated", ch.Children.Updated)
	im.page(w, r, s, http.StatusOK, importData{Stage: "done", File: p.name, Format: p.format, Changes: ch,
		Done: fmt.Sprintf("已导入 %d 行。 %d rows imported.", len(p.entries), len(p.entries))})
}
