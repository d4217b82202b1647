package console

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	qrcode "github.com/skip2/go-qrcode"

	"github.com/qinqing/station/kiosk"
)

// RosterEditor is what the child page's changes need from the station's
// database, beside Store: cards, the child's status and the parents'
// links. kiosk/sqlite's *DB implements it. A Store that does not gets 501
// on those actions, and the child page shows no buttons for them.
//
// Every change it makes is journaled by the store itself (roster and
// link entries); the console adds an 'audit' entry naming the manager.
// Nothing is ever deleted: a lost card is disabled, a child who left is
// marked left, a link is revoked.
type RosterEditor interface {
	// CardByUID returns the card with the normalised uid; ENOTFOUND when
	// no child has it.
	CardByUID(ctx context.Context, uid string) (kiosk.Card, error)
	// AddCard binds the normalised uid to the child (or enables it again
	// when it is the child's disabled card); ECONFLICT when it belongs
	// to another child.
	AddCard(ctx context.Context, uid string, id kiosk.ChildID) error
	// DisableCard disables a card; ENOTFOUND for an unknown one.
	DisableCard(ctx context.Context, uid string) error
	// SetChildStatus marks a child active or left.
	SetChildStatus(ctx context.Context, id kiosk.ChildID, status kiosk.ChildStatus) error
	// CreateLink makes a parent link and returns its token, which is not
	// stored (only its hash); EGONE when the child has left.
	CreateLink(ctx context.Context, contact kiosk.ContactID, expires time.Time) (string, kiosk.ParentLink, error)
	// Links lists a contact's links, newest first.
	Links(ctx context.Context, contact kiosk.ContactID) ([]kiosk.ParentLink, error)
	// RevokeLink revokes a link by id; ENOTFOUND if there is none.
	RevokeLink(ctx context.Context, id int64) error
}

// maxLinkDays bounds a new link's expiry, in days (about ten years).
const maxLinkDays = 3660

func init() { pageNames = append(pageNames, "child_done", "child_status") }

// childEditRoutes are the manager's changes on a child's page; console.go
// appends them to routeTable's. The guard admits managers and principals
// (readAll) and checks CSRF on POST; managerOnly then refuses principals.
func (c *Console) childEditRoutes() []route {
	return []route{
		{"POST", "/console/children/{id}/cards", readAll, true, c.managerOnly(c.cardAdd)},
		{"POST", "/console/children/{id}/cards/disable", readAll, true, c.managerOnly(c.cardDisable)},
		{"POST", "/console/children/{id}/links", readAll, true, c.managerOnly(c.linkCreate)},
		{"GET", "/console/children/{id}/links/new", readAll, true, c.managerOnly(c.linkShow)},
		{"POST", "/console/children/{id}/links/revoke", readAll, true, c.managerOnly(c.linkRevoke)},
		{"GET", "/console/children/{id}/status", readAll, true, c.managerOnly(c.statusConfirm)},
		{"POST", "/console/children/{id}/status", readAll, true, c.managerOnly(c.statusPost)},
	}
}

type handlerFunc = func(w http.ResponseWriter, r *http.Request, s *kiosk.Session)

// managerOnly answers 403 to anyone but a manager.
func (c *Console) managerOnly(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
		if s.User.Role != kiosk.RoleManager {
			c.errorPage(w, r, s, http.StatusForbidden, "只有管理员可以修改学生信息。 Managers only.")
			return
		}
		h(w, r, s)
	}
}

// --- the child page's part

// linkRow is one parent link as listed on the child page.
type linkRow struct {
	ID               int64
	Created, Expires string // "2006-01-02 15:04"; Expires "" for never
	Status           string // 有效 active, 已过期 expired, 已撤销 revoked
	Active           bool
}

// contactLinks is a contact's links.
type contactLinks struct {
	ID             kiosk.ContactID
	Slot           int
	Name, Relation string
	Links          []linkRow
}

// childEdit is the child page's editing part: nil when the store cannot
// edit.
type childEdit struct {
	Manager    bool
	CardFormat string
	Contacts   []contactLinks
	// Booths are offered for enrolling a card by tapping it there
	// (booths.go); nil without a station.
	Booths []kiosk.Booth
}

// childEditData returns the child page's editing part for the contacts
// shown; nil when the Store is no RosterEditor.
func (c *Console) childEditData(ctx context.Context, s *kiosk.Session, contacts []contactView) (*childEdit, error) {
	ed, ok := c.store.(RosterEditor)
	if !ok {
		return nil, nil
	}
	e := &childEdit{Manager: s.User.Role == kiosk.RoleManager, CardFormat: c.cardFormatName(), Booths: c.boothOptions()}
	now := c.now()
	for _, ct := range contacts {
		ls, err := ed.Links(ctx, ct.ID)
		if err != nil {
			return nil, fmt.Errorf("links of contact %d: %w", ct.ID, err)
		}
		cl := contactLinks{ID: ct.ID, Slot: ct.Slot, Name: ct.Name, Relation: ct.Relation}
		for _, l := range ls {
			row := linkRow{ID: l.ID, Created: l.Created.In(c.loc).Format("2006-01-02 15:04")}
			if !l.Expires.IsZero() {
				row.Expires = l.Expires.In(c.loc).Format("2006-01-02 15:04")
			}
			switch {
			case l.Revoked:
				row.Status = "已撤销 revoked"
			case !l.Expires.IsZero() && !now.Before(l.Expires):
				row.Status = "已过期 expired"
			default:
				row.Status, row.Active = "有效 active", true
			}
			cl.Links = append(cl.Links, row)
		}
		e.Contacts = append(e.Contacts, cl)
	}
	return e, nil
}

// cardFormatName is the configured card number format in words.
func (c *Console) cardFormatName() string {
	switch c.cardFormat {
	case kiosk.Card8H10D:
		return "8H10D（10 位十进制 10 decimal digits）"
	case kiosk.CardReversed:
		return "反序十六进制 reversed hex"
	}
	return "十六进制 hex（如 04A1B2C3 或 04:A1:B2:C3）"
}

// --- results

// doneData is what the result page of a change shows.
type doneData struct {
	Child kiosk.Child
	Error string // what went wrong, for the manager
	Done  string // what was done
	Link  *newLink
}

// newLink is a parent link just made: its URL and QR code, shown once.
type newLink struct {
	ID       int64
	URL      string
	QR       template.HTML // inline SVG, built from the QR bitmap only
	Expires  string        // "" for never
	Contact  string        // relation and name
	Modules  int           // QR size in modules, border included
	ShownNow bool
}

func (c *Console) done(w http.ResponseWriter, r *http.Request, s *kiosk.Session, status int, ch kiosk.Child, d doneData) {
	d.Child = ch
	title := "已完成 Done"
	if d.Error != "" {
		title = "未完成 Not done"
	}
	c.render(w, r, s, status, "child_done", title, false, d)
}

// editTarget returns the editor and the child of the request's path, or
// answers (404, 501) and returns false.
func (c *Console) editTarget(w http.ResponseWriter, r *http.Request, s *kiosk.Session) (RosterEditor, kiosk.Child, bool) {
	ed, ok := c.store.(RosterEditor)
	if !ok {
		c.errorPage(w, r, s, http.StatusNotImplemented, "不支持修改 Not available")
		return nil, kiosk.Child{}, false
	}
	id, ok := c.childID(r)
	if !ok {
		c.errorPage(w, r, s, http.StatusNotFound, "找不到 Not found")
		return nil, kiosk.Child{}, false
	}
	ch, err := c.store.Child(r.Context(), id)
	if err != nil {
		c.storeError(w, r, s, "child", err)
		return nil, kiosk.Child{}, false
	}
	return ed, ch, true
}

// maskCard shows the last 4 hex digits of a card UID, for audit details.
func maskCard(uid string) string {
	if len(uid) <= 4 {
		return "…"
	}
	return "…" + uid[len(uid)-4:]
}

// --- cards

// cardAdd binds a typed or pasted card number to the child. The number is
// read in the station's card format (Opts.CardFormat, kiosk.ParseCardNumber).
func (c *Console) cardAdd(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	ed, ch, ok := c.editTarget(w, r, s)
	if !ok {
		return
	}
	ctx := r.Context()
	uid, err := kiosk.ParseCardNumber(r.PostFormValue("number"), c.cardFormat)
	if err != nil {
		c.done(w, r, s, http.StatusBadRequest, ch, doneData{Error: "卡号无效 Bad card number: " + kiosk.ErrorMessage(err) +
			"（卡号格式 format: " + c.cardFormatName() + "）"})
		return
	}
	card, err := ed.CardByUID(ctx, uid)
	switch {
	case err == nil && card.ChildID != ch.ID:
		// Which class, never the other child's name.
		class := "?"
		if other, err := c.store.Child(ctx, card.ChildID); err == nil {
			class = other.Class
		}
		c.done(w, r, s, http.StatusConflict, ch, doneData{Error: fmt.Sprintf(
			"此卡已属于 %s 的另一名学生，请先在该学生页面停用。 The card belongs to another child in class %s; disable it there first.", class, class)})
		return
	case err != nil && kiosk.ErrorCode(err) != kiosk.ENOTFOUND:
		c.internal(w, r, "card by uid", err)
		return
	}
	if staff, err := c.isStaffCard(ctx, uid); err != nil {
		c.internal(w, r, "staff card", err)
		return
	} else if staff {
		c.done(w, r, s, http.StatusConflict, ch, doneData{Error: staffCardWords})
		return
	}
	if err := ed.AddCard(ctx, uid, ch.ID); err != nil {
		if kiosk.ErrorCode(err) == kiosk.ECONFLICT {
			c.done(w, r, s, http.StatusConflict, ch, doneData{Error: cardTakenWords})
			return
		}
		c.storeError(w, r, s, "add card", err)
		return
	}
	if !c.audit(w, r, s, "card_add", fmt.Sprintf("child=%d card=%s", ch.ID, maskCard(uid))) {
		return
	}
	seeOther(w, r, childPath(ch.ID), "card_added")
}

// Card refusals that are not about another child.
const (
	staffCardWords = "这是一张教职工卡，不能登记为学生卡；请换一张卡。 This is a staff card; it cannot be a child's card."
	cardTakenWords = "此卡已被占用（另一名学生或教职工）。 The card is taken by another child or a staff member."
)

// staffCards is the part of kiosk/sqlite's *DB that knows the staff's
// cards (kiosk.StaffRoster's lookup); a Store without it is not asked.
type staffCards interface {
	StaffByUID(ctx context.Context, uid string) (kiosk.Staff, error)
}

// isStaffCard reports whether uid is a staff card (enabled or not), so a
// manager adding it to a child is told what it is; false when the store
// keeps no staff cards.
func (c *Console) isStaffCard(ctx context.Context, uid string) (bool, error) {
	st, ok := c.store.(staffCards)
	if !ok {
		return false, nil
	}
	_, err := st.StaffByUID(ctx, uid)
	switch kiosk.ErrorCode(err) {
	case "":
		return true, nil
	case kiosk.ENOTFOUND:
		return false, nil
	}
	return false, err
}

// childPath is the child's page.
func childPath(id kiosk.ChildID) string {
	return "/console/children/" + strconv.FormatInt(int64(id), 10)
}

// cardDisable disables one of the child's cards (lost); it stays on
// record.
func (c *Console) cardDisable(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	ed, ch, ok := c.editTarget(w, r, s)
	if !ok {
		return
	}
	ctx := r.Context()
	uid, err := kiosk.NormalizeUID(r.PostFormValue("card"))
	if err != nil {
		c.done(w, r, s, http.StatusBadRequest, ch, doneData{Error: "卡号无效 Bad card number: " + kiosk.ErrorMessage(err)})
		return
	}
	card, err := ed.CardByUID(ctx, uid)
	if (err == nil && card.ChildID != ch.ID) || kiosk.ErrorCode(err) == kiosk.ENOTFOUND {
		c.done(w, r, s, http.StatusNotFound, ch, doneData{Error: "该学生没有这张卡。 The child has no such card."})
		return
	} else if err != nil {
		c.internal(w, r, "card by uid", err)
		return
	}
	if err := ed.DisableCard(ctx, uid); err != nil {
		c.storeError(w, r, s, "disable card", err)
		return
	}
	if !c.audit(w, r, s, "card_disable", fmt.Sprintf("child=%d card=%s", ch.ID, maskCard(uid))) {
		return
	}
	seeOther(w, r, childPath(ch.ID), "card_disabled")
}

// --- parent links

// childContact returns the child's contact with the id in the form field
// "contact", or answers 404 and returns false.
func (c *Console) childContact(w http.ResponseWriter, r *http.Request, s *kiosk.Session, ch kiosk.Child) (kiosk.Contact, bool) {
	cid, err := strconv.ParseInt(r.PostFormValue("contact"), 10, 64)
	if err != nil || cid <= 0 {
		c.done(w, r, s, http.StatusBadRequest, ch, doneData{Error: "缺少联系人 Missing contact"})
		return kiosk.Contact{}, false
	}
	cs, err := c.store.Contacts(r.Context(), ch.ID)
	if err != nil {
		c.storeError(w, r, s, "contacts", err)
		return kiosk.Contact{}, false
	}
	for _, ct := range cs {
		if int64(ct.ID) == cid {
			return ct, true
		}
	}
	c.done(w, r, s, http.StatusNotFound, ch, doneData{Error: "找不到该联系人 No such contact"})
	return kiosk.Contact{}, false
}

// publicBase is the parents' links' base URL without a trailing slash:
// Opts.PublicURL, else the request's scheme and Host.
func (c *Console) publicBase(r *http.Request) string {
	if c.publicURL != "" {
		return strings.TrimRight(c.publicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

// linkCreate makes a parent link for one of the child's contacts; the
// form's "days" is the expiry in days, 1 to maxLinkDays ("": never; 0 or
// less is refused with 400), and answers 303 See Other to linkShow's
// page, which shows the URL and its QR code once (so F5 there makes no
// second link). The token is not stored in the database, logged or
// audited; it waits in memory for that one view (onceLinks).
func (c *Console) linkCreate(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	ed, ch, ok := c.editTarget(w, r, s)
	if !ok {
		return
	}
	ct, ok := c.childContact(w, r, s, ch)
	if !ok {
		return
	}
	var expires time.Time
	if v := strings.TrimSpace(r.PostFormValue("days")); v != "" {
		days, err := strconv.Atoi(v)
		if err != nil || days < 1 || days > maxLinkDays {
			c.done(w, r, s, http.StatusBadRequest, ch, doneData{Error: fmt.Sprintf(
				"有效天数无效：请填 1 到 %d 的整数，留空为长期有效。 Days: want a whole number from 1 to %d, or empty for no expiry.", maxLinkDays, maxLinkDays)})
			return
		}
		expires = c.now().Add(time.Duration(days) * 24 * time.Hour)
	}
	token, link, err := ed.CreateLink(r.Context(), ct.ID, expires)
	switch kiosk.ErrorCode(err) {
	case "":
	case kiosk.EGONE:
		c.done(w, r, s, http.StatusConflict, ch, doneData{Error: "该学生已离校，不能创建家长链接。 The child has left; no new links."})
		return
	default:
		c.storeError(w, r, s, "create link", err)
		return
	}
	exp := "never"
	nl := &newLink{ID: link.ID, URL: c.publicBase(r) + "/p/" + token, Contact: ct.Relation + " " + ct.Name, ShownNow: true}
	if !link.Expires.IsZero() {
		nl.Expires = link.Expires.In(c.loc).Format("2006-01-02 15:04")
		exp = link.Expires.UTC().Format(time.RFC3339)
	}
	if nl.QR, nl.Modules, err = qrSVG(nl.URL); err != nil {
		c.internal(w, r, "link qr", err)
		return
	}
	if !c.audit(w, r, s, "link_create", fmt.Sprintf("child=%d contact=%d slot=%d link=%d expires=%s", ch.ID, ct.ID, ct.Slot, link.ID, exp)) {
		return
	}
	key, err := c.newLinks.put(s.ID, ch.ID, nl, c.now())
	if err != nil {
		c.internal(w, r, "link view key", err)
		return
	}
	http.Redirect(w, r, childPath(ch.ID)+"/links/new?k="+key, http.StatusSeeOther)
}

// linkShow serves /console/children/{id}/links/new?k=key: the link
// linkCreate just made, with its QR code, once, to the session that made
// it within linkShowFor. Another view, another session or a late one gets
// 410 Gone saying it was shown already (the manager makes a new link and
// revokes the old one if it was lost). The page names the child: each
// view is audited (view_child, page=link, never the token).
func (c *Console) linkShow(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	_, ch, ok := c.editTarget(w, r, s)
	if !ok {
		return
	}
	nl := c.newLinks.take(r.URL.Query().Get("k"), s.ID, ch.ID, c.now())
	detail := fmt.Sprintf("child=%d page=link shown=no", ch.ID)
	if nl != nil {
		detail = fmt.Sprintf("child=%d page=link link=%d shown=yes", ch.ID, nl.ID)
	}
	if !c.audit(w, r, s, "view_child", detail) {
		return
	}
	if nl == nil {
		c.done(w, r, s, http.StatusGone, ch, doneData{Error: "此链接已显示过，不再显示。如未保存，请新建链接并撤销旧链接。 This link was shown already and is not shown again; if it was not kept, make a new one and revoke the old one."})
		return
	}
	c.done(w, r, s, http.StatusOK, ch, doneData{Done: "家长链接已创建。 The parent link was made.", Link: nl})
}

// linkShowFor is how long a new link waits for its one view.
const linkShowFor = 5 * time.Minute

// onceLinks holds new parent links between linkCreate and their one view
// (linkShow), in memory, by a random key; the zero value is ready. A daemon
// restart forgets them: the link stays valid, only its URL is not shown.
type onceLinks struct {
	mu sync.Mutex
	by map[string]onceLink
}

type onceLink struct {
	session string
	child   kiosk.ChildID
	link    *newLink
	until   time.Time
}

// put keeps nl for one view by session within linkShowFor of now, and
// returns its key (128 random bits, hex); entries past their time go.
func (o *onceLinks) put(session string, child kiosk.ChildID, nl *newLink, now time.Time) (string, error) {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("random key: %w", err)
	}
	key := hex.EncodeToString(b[:])
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.by == nil {
		o.by = map[string]onceLink{}
	}
	for k, v := range o.by {
		if !now.Before(v.until) {
			delete(o.by, k)
		}
	}
	o.by[key] = onceLink{session: session, child: child, link: nl, until: now.Add(linkShowFor)}
	return key, nil
}

// take returns the link kept under key and forgets it, when session and
// child are the ones it was kept for and its time has not passed; else
// nil, and the link stays for its own session until its time passes.
func (o *onceLinks) take(key, session string, child kiosk.ChildID, now time.Time) *newLink {
	o.mu.Lock()
	defer o.mu.Unlock()
	v, ok := o.by[key]
	if !ok || v.session != session || v.child != child {
		return nil
	}
	delete(o.by, key)
	if !now.Before(v.until) {
		return nil
	}
	return v.link
}

// linkRevoke revokes one of the child's contacts' links (form "link").
func (c *Console) linkRevoke(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	ed, ch, ok := c.editTarget(w, r, s)
	if !ok {
		return
	}
	ctx := r.Context()
	lid, err := strconv.ParseInt(r.PostFormValue("link"), 10, 64)
	if err != nil || lid <= 0 {
		c.done(w, r, s, http.StatusBadRequest, ch, doneData{Error: "缺少链接 Missing link"})
		return
	}
	cs, err := c.store.Contacts(ctx, ch.ID)
	if err != nil {
		c.storeError(w, r, s, "contacts", err)
		return
	}
	var owner *kiosk.Contact
	for i := range cs {
		ls, err := ed.Links(ctx, cs[i].ID)
		if err != nil {
			c.internal(w, r, "links", err)
			return
		}
		for _, l := range ls {
			if l.ID == lid {
				owner = &cs[i]
			}
		}
	}
	if owner == nil {
		c.done(w, r, s, http.StatusNotFound, ch, doneData{Error: "找不到该链接 No such link"})
		return
	}
	if err := ed.RevokeLink(ctx, lid); err != nil {
		c.storeError(w, r, s, "revoke link", err)
		return
	}
	if !c.audit(w, r, s, "link_revoke", fmt.Sprintf("child=%d contact=%d slot=%d link=%d", ch.ID, owner.ID, owner.Slot, lid)) {
		return
	}
	seeOther(w, r, childPath(ch.ID), "link_revoked")
}

// qrSVG renders content as a QR code (ISO/IEC 18004, medium error
// correction, quiet zone included) in inline SVG: one black path over a
// white square, 6 px per module. It returns the SVG and the size in
// modules. Inline SVG needs no img-src in the console's CSP.
func qrSVG(content string) (template.HTML, int, error) {
	q, err := qrcode.New(content, qrcode.Medium)
	if err != nil {
		return "", 0, fmt.Errorf("qr code: %w", err)
	}
	bm := q.Bitmap()
	n := len(bm)
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" class="qr" viewBox="0 0 %d %d" width="%d" height="%d" shape-rendering="crispEdges" role="img" aria-label="QR">`,
		n, n, n*6, n*6)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/><path fill="#000" d="`, n, n)
	for y, row := range bm {
		for x, on := range row {
			if on {
				fmt.Fprintf(&b, "M%d %dh1v1h-1z", x, y)
			}
		}
	}
	b.WriteString(`"/></svg>`)
	// Only numbers and fixed text went in: safe as HTML.
	return template.HTML(b.String()), n, nil
}

// --- status

type statusData struct {
	Child kiosk.Child
	To    kiosk.ChildStatus
	Left  bool // To is left
}

// statusConfirm asks the manager to confirm marking the child as left (or
// back to active, for a child who left): ?to=left|active, default the
// other status.
func (c *Console) statusConfirm(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	_, ch, ok := c.editTarget(w, r, s)
	if !ok {
		return
	}
	to := kiosk.ChildStatus(r.URL.Query().Get("to"))
	switch to {
	case kiosk.ChildActive, kiosk.ChildLeft:
	case "":
		to = kiosk.ChildLeft
		if ch.Status == kiosk.ChildLeft {
			to = kiosk.ChildActive
		}
	default:
		c.errorPage(w, r, s, http.StatusBadRequest, "状态无效 Bad status: want left or active")
		return
	}
	if !c.audit(w, r, s, "view_child", fmt.Sprintf("child=%d page=status", ch.ID)) {
		return
	}
	c.render(w, r, s, http.StatusOK, "child_status", ch.Name, false, statusData{Child: ch, To: to, Left: to == kiosk.ChildLeft})
}

// statusPost marks the child as left or active (form "status"),
// journaled by the store; history is kept either way.
func (c *Console) statusPost(w http.ResponseWriter, r *http.Request, s *kiosk.Session) {
	ed, ch, ok := c.editTarget(w, r, s)
	if !ok {
		return
	}
	to := kiosk.ChildStatus(r.PostFormValue("status"))
	if to != kiosk.ChildActive && to != kiosk.ChildLeft {
		c.done(w, r, s, http.StatusBadRequest, ch, doneData{Error: "状态无效 Bad status: want left or active"})
		return
	}
	if err := ed.SetChildStatus(r.Context(), ch.ID, to); err != nil {
		c.storeError(w, r, s, "set child status", err)
		return
	}
	if !c.audit(w, r, s, "child_status", fmt.Sprintf("child=%d from=%s to=%s", ch.ID, ch.Status, to)) {
		return
	}
	code := "child_active"
	if to == kiosk.ChildLeft {
		code = "child_left"
	}
	seeOther(w, r, childPath(ch.ID), code)
}
