package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qinqing/station/kiosk"
)

// ConsentMethod is how a guardian gave consent to the processing of a
// child's personal information (PIPL art. 31: a guardian's consent for a
// child under 14).
type ConsentMethod string

// Consent methods; ConsentOther needs a Note saying what it was.
const (
	ConsentWritten ConsentMethod = "written" // 书面签字
	ConsentPhone   ConsentMethod = "phone"   // 电话确认
	ConsentMeeting ConsentMethod = "meeting" // 家长会
	ConsentOther   ConsentMethod = "other"   // 其他 (see Note)
)

// ConsentMethods lists the methods in the order forms offer them.
var ConsentMethods = []ConsentMethod{ConsentWritten, ConsentPhone, ConsentMeeting, ConsentOther}

// Words is the method in Chinese as forms and registers print it
// ("书面签字"); the raw value for an unknown method.
func (m ConsentMethod) Words() string {
	switch m {
	case ConsentWritten:
		return "书面签字"
	case ConsentPhone:
		return "电话确认"
	case ConsentMeeting:
		return "家长会"
	case ConsentOther:
		return "其他"
	}
	return string(m)
}

// Consent limits, in characters.
const (
	MaxConsentNote     = 200
	MaxConsentRelation = 20
)

// dateLayout is the layout of consent dates: a calendar date, no zone.
const dateLayout = "2006-01-02"

// Consent is one record of the consent register. Records are never
// changed: a correction or a withdrawal is a new record, and a child's
// current state is its latest record.
type Consent struct {
	// ID orders the records (the latest has the highest).
	ID      int64
	ChildID kiosk.ChildID
	// Date is when the guardian consented, "YYYY-MM-DD" (a local date).
	Date   string
	Method ConsentMethod
	// Note is free text (required for ConsentOther); at most
	// MaxConsentNote characters. Never journaled.
	Note string
	// Relation is the guardian's relation to the child ("母亲"); at most
	// MaxConsentRelation characters. Never journaled.
	Relation string
	// RecordedBy is the console user who recorded it; RecordedAt when
	// (UTC, the database's clock).
	RecordedBy string
	RecordedAt time.Time
	// Withdrawn is the date consent was withdrawn, "YYYY-MM-DD"; "" while
	// it stands.
	Withdrawn string
}

// Given reports whether the consent stands (recorded and not withdrawn).
func (c Consent) Given() bool { return c.ID != 0 && c.Withdrawn == "" }

// ChildConsent is an active child with its current consent; Consent is
// the zero value (ID 0) when none was ever recorded.
type ChildConsent struct {
	Child   kiosk.Child
	Consent Consent
}

// consentBody is the stored JSON of the 'roster' journal entries of the
// consent register: which child, which record, how and when; never the
// guardian's relation or the note.
type consentBody struct {
	Op        string `json:"op"` // consent_recorded, consent_withdrawn
	ChildID   int64  `json:"child_id"`
	ConsentID int64  `json:"consent_id"`
	Method    string `json:"method"`
	Date      string `json:"date"`
	Withdrawn string `json:"withdrawn,omitempty"`
	By        string `json:"by"`
}

func validDate(s string) bool {
	t, err := time.Parse(dateLayout, s)
	return err == nil && t.Format(dateLayout) == s
}

// checkConsent validates c as RecordConsent documents, with now the
// database's clock.
func checkConsent(c Consent, now time.Time) error {
	// A date may be at most a day ahead of UTC: local dates east of UTC.
	latest := now.UTC().AddDate(0, 0, 1).Format(dateLayout)
	switch {
	case c.ChildID <= 0:
		return kiosk.Errorf(kiosk.EINVALID, "consent needs a child")
	case !validDate(c.Date):
		return kiosk.Errorf(kiosk.EINVALID, "同意日期须为 YYYY-MM-DD consent date must be YYYY-MM-DD")
	case c.Date > latest:
		return kiosk.Errorf(kiosk.EINVALID, "同意日期不能晚于今天 consent date is in the future")
	case c.Method != ConsentWritten && c.Method != ConsentPhone && c.Method != ConsentMeeting && c.Method != ConsentOther:
		return kiosk.Errorf(kiosk.EINVALID, "未知的同意方式 unknown consent method %q", string(c.Method))
	case c.Method == ConsentOther && strings.TrimSpace(c.Note) == "":
		return kiosk.Errorf(kiosk.EINVALID, "方式为“其他”时须填写说明 method other needs a note")
	case utf8.RuneCountInString(c.Note) > MaxConsentNote:
		return kiosk.Errorf(kiosk.EINVALID, "说明过长 note longer than %d characters", MaxConsentNote)
	case strings.TrimSpace(c.Relation) == "":
		return kiosk.Errorf(kiosk.EINVALID, "须填写监护人关系 guardian relation required")
	case utf8.RuneCountInString(c.Relation) > MaxConsentRelation:
		return kiosk.Errorf(kiosk.EINVALID, "关系过长 relation longer than %d characters", MaxConsentRelation)
	case c.Withdrawn != "" && !validDate(c.Withdrawn):
		return kiosk.Errorf(kiosk.EINVALID, "撤回日期须为 YYYY-MM-DD withdrawal date must be YYYY-MM-DD")
	case c.Withdrawn != "" && c.Withdrawn < c.Date:
		return kiosk.Errorf(kiosk.EINVALID, "撤回日期早于同意日期 withdrawn before consent was given")
	case c.Withdrawn > latest:
		return kiosk.Errorf(kiosk.EINVALID, "撤回日期不能晚于今天 withdrawal date is in the future")
	}
	return nil
}

// RecordConsent appends a consent record for c.ChildID, recorded by actor,
// and journals it as a 'roster' entry (op consent_recorded, or
// consent_withdrawn when c.Withdrawn is set: child id, record id, method,
// dates and actor; never the note or relation) in the same transaction.
// ID, RecordedBy and RecordedAt of c are ignored; the stored record is
// returned. Note and Relation are trimmed.
//
// Errors (*kiosk.Error): EINVALID for an empty actor, a Date or Withdrawn
// not "YYYY-MM-DD", a date more than a day after the database's clock, a
// Withdrawn before Date, an unknown Method, ConsentOther without a Note, an
// empty Relation or fields over MaxConsentNote/MaxConsentRelation
// characters; ENOTFOUND for an unknown child; EGONE for a child who left;
// ECONFLICT when c repeats the child's current record (same Date, Method,
// Relation and Withdrawn; the Note is not compared), which the database
// itself refuses (migration 0016), so that a form sent twice, or the same
// consent recorded at once by two processes, is stored once.
func (db *DB) RecordConsent(ctx context.Context, actor string, c Consent) (Consent, error) {
	c.Note, c.Relation = strings.TrimSpace(c.Note), strings.TrimSpace(c.Relation)
	if actor == "" {
		return Consent{}, kiosk.Errorf(kiosk.EINVALID, "consent needs the recording user")
	}
	if err := checkConsent(c, db.now()); err != nil {
		return Consent{}, err
	}
	return db.recordConsent(ctx, actor, c, "")
}

// WithdrawConsent records that the child's current consent was withdrawn
// on date ("YYYY-MM-DD"): a new record copying the current one with
// Withdrawn set, as RecordConsent (journaled as consent_withdrawn). The
// current record is read in the write transaction, so two withdrawals at
// once store one.
// Errors (*kiosk.Error): EINVALID for an empty actor; ENOTFOUND for an
// unknown child; EGONE for a child who left; ECONFLICT when the child has
// no standing consent (none recorded, or already withdrawn); else EINVALID
// as RecordConsent (a date before the consent's, or in the future).
func (db *DB) WithdrawConsent(ctx context.Context, actor string, id kiosk.ChildID, date string) (Consent, error) {
	if actor == "" {
		return Consent{}, kiosk.Errorf(kiosk.EINVALID, "consent needs the recording user")
	}
	return db.recordConsent(ctx, actor, Consent{ChildID: id}, date)
}

// consentRepeatMsg is the message of migration 0016's trigger
// consents_no_repeat; keep both the same.
const consentRepeatMsg = "consents: repeats the current record"

// recordConsent stores c (already checked) for RecordConsent; with
// withdraw set ("YYYY-MM-DD"), c is the child's current record, read in
// the transaction, withdrawn on that date (checked here).
func (db *DB) recordConsent(ctx context.Context, actor string, c Consent, withdraw string) (Consent, error) {
	now := db.now()
	// BEGIN IMMEDIATE (the DSN's _txlock): the reads below see the latest
	// records of every process, and nothing is written between them and
	// the insert.
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return Consent{}, fmt.Errorf("record consent: begin: %w", err)
	}
	defer tx.Rollback()
	ch, err := child(ctx, tx, c.ChildID)
	if err != nil {
		return Consent{}, err
	}
	if ch.Status == kiosk.ChildLeft {
		return Consent{}, kiosk.Errorf(kiosk.EGONE, "child %d has left", ch.ID)
	}
	if withdraw != "" {
		cur, err := scanConsent(tx.QueryRowContext(ctx, `SELECT `+consentColumns+` FROM consents
			WHERE child_id = ? ORDER BY id DESC LIMIT 1`, int64(c.ChildID)))
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return Consent{}, fmt.Errorf("record consent: current %d: %w", c.ChildID, err)
		}
		if !cur.Given() {
			return Consent{}, kiosk.Errorf(kiosk.ECONFLICT, "没有可撤回的同意 no standing consent for child %d", c.ChildID)
		}
		c, c.Withdrawn = cur, withdraw
		if err := checkConsent(c, now); err != nil {
			return Consent{}, err
		}
	}
	c.RecordedBy, c.RecordedAt = actor, now.UTC()
	res, err := tx.ExecContext(ctx, `INSERT INTO consents (child_id, given_on, method, note, relation, recorded_by, recorded_at, withdrawn)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?)`, int64(c.ChildID), c.Date, string(c.Method), c.Note, c.Relation, actor, fmtTime(now), c.Withdrawn)
	if err != nil && strings.Contains(err.Error(), consentRepeatMsg) {
		return Consent{}, kiosk.Errorf(kiosk.ECONFLICT,
			"重复登记：与该学生当前的同意记录相同（日期 %s、方式、监护人） duplicate: child %d already has this consent record", c.Date, c.ChildID)
	} else if err != nil {
		return Consent{}, fmt.Errorf("record consent: insert: %w", err)
	}
	if c.ID, err = res.LastInsertId(); err != nil {
		return Consent{}, fmt.Errorf("record consent: insert: %w", err)
	}
	op := "consent_recorded"
	if c.Withdrawn != "" {
		op = "consent_withdrawn"
	}
	body, err := json.Marshal(consentBody{Op: op, ChildID: int64(c.ChildID), ConsentID: c.ID, Method: string(c.Method),
		Date: c.Date, Withdrawn: c.Withdrawn, By: actor})
	if err != nil {
		return Consent{}, fmt.Errorf("record consent: journal: %w", err)
	}
	if _, err := db.appendTx(ctx, tx, KindRoster, "", body); err != nil {
		return Consent{}, fmt.Errorf("record consent: %w", err)
	}
	if err := tx.Commit(); err != nil {
		return Consent{}, fmt.Errorf("record consent: commit: %w", err)
	}
	db.log.Info("consent recorded", "child", int64(c.ChildID), "consent", c.ID, "op", op)
	return c, nil
}

const consentColumns = `id, child_id, given_on, method, note, relation, recorded_by, recorded_at, withdrawn`

func scanConsent(row interface{ Scan(...any) error }) (Consent, error) {
	var (
		c          Consent
		method, at string
	)
	if err := row.Scan(&c.ID, &c.ChildID, &c.Date, &method, &c.Note, &c.Relation, &c.RecordedBy, &at, &c.Withdrawn); err != nil {
		return Consent{}, err
	}
	c.Method = ConsentMethod(method)
	t, err := parseTime(at)
	if err != nil {
		return Consent{}, fmt.Errorf("consent %d: %w", c.ID, err)
	}
	c.RecordedAt = t
	return c, nil
}

// ConsentHistory returns every consent record of the child, oldest first
// (empty, not nil, when none).
func (db *DB) ConsentHistory(ctx context.Context, id kiosk.ChildID) ([]Consent, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT `+consentColumns+` FROM consents WHERE child_id = ? ORDER BY id`, int64(id))
	if err != nil {
		return nil, fmt.Errorf("consent history %d: %w", id, err)
	}
	defer rows.Close()
	out := []Consent{}
	for rows.Next() {
		c, err := scanConsent(rows)
		if err != nil {
			return nil, fmt.Errorf("consent history %d: %w", id, err)
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consent history %d: %w", id, err)
	}
	return out, nil
}

// CurrentConsent returns the child's latest consent record; the zero
// Consent (ID 0, Given false) when none was recorded. It does not check
// that the child exists.
func (db *DB) CurrentConsent(ctx context.Context, id kiosk.ChildID) (Consent, error) {
	c, err := scanConsent(db.db.QueryRowContext(ctx, `SELECT `+consentColumns+` FROM consents
		WHERE child_id = ? ORDER BY id DESC LIMIT 1`, int64(id)))
	if errors.Is(err, sql.ErrNoRows) {
		return Consent{}, nil
	} else if err != nil {
		return Consent{}, fmt.Errorf("current consent %d: %w", id, err)
	}
	return c, nil
}

// ConsentRegister returns every active child with its current consent,
// ordered by class, name and id.
func (db *DB) ConsentRegister(ctx context.Context) ([]ChildConsent, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT ch.id, ch.external_id, ch.name, ch.gender, ch.class, ch.status, ch.call_limit_ms,
		COALESCE(k.id, 0), COALESCE(k.child_id, 0), COALESCE(k.given_on, ''), COALESCE(k.method, ''), COALESCE(k.note, ''),
		COALESCE(k.relation, ''), COALESCE(k.recorded_by, ''), COALESCE(k.recorded_at, ''), COALESCE(k.withdrawn, '')
		FROM children ch
		LEFT JOIN consents k ON k.id = (SELECT MAX(id) FROM consents WHERE child_id = ch.id)
		WHERE ch.status = 'active'
		ORDER BY ch.class, ch.name, ch.id`)
	if err != nil {
		return nil, fmt.Errorf("consent register: %w", err)
	}
	defer rows.Close()
	out := []ChildConsent{}
	for rows.Next() {
		var (
			cc              ChildConsent
			status, method  string
			limitMS         int64
			at              string
			k               = &cc.Consent
			ch              = &cc.Child
			consentChildRef int64
		)
		if err := rows.Scan(&ch.ID, &ch.ExternalID, &ch.Name, &ch.Gender, &ch.Class, &status, &limitMS,
			&k.ID, &consentChildRef, &k.Date, &method, &k.Note, &k.Relation, &k.RecordedBy, &at, &k.Withdrawn); err != nil {
			return nil, fmt.Errorf("consent register: scan: %w", err)
		}
		ch.Status = kiosk.ChildStatus(status)
		ch.CallLimit = time.Duration(limitMS) * time.Millisecond
		k.ChildID = kiosk.ChildID(consentChildRef)
		k.Method = ConsentMethod(method)
		t, err := parseTime(at)
		if err != nil {
			return nil, fmt.Errorf("consent register: child %d: %w", ch.ID, err)
		}
		k.RecordedAt = t
		out = append(out, cc)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("consent register: %w", err)
	}
	return out, nil
}

// MissingConsents counts the active children without a standing consent
// (none recorded, or the latest record withdrawn).
func (db *DB) MissingConsents(ctx context.Context) (int, error) {
	var n int
	err := db.db.QueryRowContext(ctx, `SELECT COUNT(*) FROM children ch
		LEFT JOIN consents k ON k.id = (SELECT MAX(id) FROM consents WHERE child_id = ch.id)
		WHERE ch.status = 'active' AND (k.id IS NULL OR k.withdrawn <> '')`).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("missing consents: %w", err)
	}
	return n, nil
}
