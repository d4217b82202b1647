package sqlite

// Erasure of a left child's personal data ("chained redaction").
//
// The journal is append-only and hash chained, yet a child's name, the
// guardians' names and numbers and the card UIDs are in its entries' bodies
// (call records, roster changes, loans, and free text: help notes, TV
// notes, audit details). EraseChild removes them without breaking `ledger
// verify`:
//
//  1. It finds every entry that carries the child's data: the entries of
//     the child (body child_id, op not "erase") and any entry whose free
//     text ("note", "detail") names the child or the child's guardians,
//     numbers or cards, as they appear anywhere in the child's history.
//  2. It computes each one's redacted body (redactBody): in the child's
//     own entries child_name and a child's roster name become the
//     pseudonym ("C-" and 8 random hex digits), contact names, numbers,
//     phones, card UIDs, external ids and gender become ""; a help call's
//     number (the hotline) and every other field (class, times,
//     durations, dispositions, ids) stay, so registers keep their rows
//     and statistics their counts. In free text every occurrence of a
//     name becomes the pseudonym, of a guardian's name, number or card
//     "***".
//  3. It appends one 'roster' entry, op "erase" (eraseBody): the child
//     id, the pseudonym, who and why, and for each redacted entry its seq,
//     its hash (unchanged) and "redacted", the chain hash the entry would
//     have with the redacted body: hex SHA-256(prev || canonical(seq, id,
//     kind, call_id, at, clock_synced, redacted body)).
//  4. It registers each redacted body in journal_redactions and replaces
//     the bodies: the journal's update trigger (migration 0011) refuses
//     every other UPDATE. The calls projection's rows of those entries are
//     recomputed; the child's row keeps id, class and status under the
//     pseudonym; contacts (with their parent links) and cards are deleted;
//     consents keep dates and method, not note or relation.
//
// Verify (journal.go) first reads every erasure entry; a listed entry is
// valid when its stored hash is the one listed and its content (every
// column, the new body included) gives the listed redacted hash; the chain
// goes on with the stored hash. So the chain and `ledger verify --anchor`
// hold after an erasure, and a redacted entry is as tamper-evident as any
// other: changing it means changing the erasure entry, whose own hash then
// fails. What an erasure can do that an append cannot is rewrite the body
// of an old entry; Verify counts erasures and redacted entries so an
// inspector sees them (and the erasure entries are in the roster changes
// register), and anyone holding a copy of the journal from before (a
// county hub) can recompute the redaction of its own copy and compare.
//
// The other design, journaling salted hashes of personal fields
// instead of the fields, would need a new body format for every register
// and could not help the entries already written; chained redaction keeps
// the format and applies to the whole history.
//
// Erased text must not linger in the file: every connection runs with
// PRAGMA secure_delete=ON (Open), so freed cells and pages are zeroed,
// older versions of updated rows included; the erasure ends with a WAL
// checkpoint (TRUNCATE), best effort while other readers are active. A
// database written before secure_delete was on may still hold old
// versions in free space: Vacuum rewrites the file.

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/qinqing/station/kiosk"
)

// Erasure reasons, the "reason" of an erasure entry.
const (
	EraseRetention = "retention" // the retention period after leaving passed (kioskd)
	EraseManual    = "manual"    // a manager erased the child (kioskctl roster erase)
)

// opErase is the op of a 'roster' entry that erases a child.
const opErase = "erase"

// eraseBody is the stored JSON of an erasure entry. Field names are part
// of the journal format; Verify reads Redactions.
type eraseBody struct {
	Op         string         `json:"op"` // "erase"
	ChildID    int64          `json:"child_id"`
	Pseudonym  string         `json:"pseudonym"`
	Reason     string         `json:"reason"`
	By         string         `json:"by"`
	Redactions []redactionRec `json:"redactions"`
}

// redactionRec is one redacted entry of an erasure entry.
type redactionRec struct {
	Seq int64 `json:"seq"`
	// Hash is the entry's hash as stored, which the redaction keeps.
	Hash string `json:"hash"`
	// Redacted is the chain hash of the entry with its redacted body.
	Redacted string `json:"redacted"`
}

// redaction is what Verify knows of a redacted entry: the latest erasure
// entry that lists it (by) and what that one recorded.
type redaction struct {
	by             int64
	hash, redacted string
}

// loadRedactions reads every erasure entry of the journal, in seq order,
// and returns the redacted entries by seq (the latest erasure of an entry
// wins) and how many erasure entries there are. A listing of an entry at or after its erasure entry is ignored:
// such an entry is then checked against its own content, and fails.
func loadRedactions(ctx context.Context, q querier) (map[int64]redaction, int, error) {
	rows, err := q.QueryContext(ctx, `SELECT seq, body FROM journal
		WHERE kind = 'roster' AND json_extract(body, '$.op') = ? ORDER BY seq`, opErase)
	if err != nil {
		return nil, 0, fmt.Errorf("read erasures: %w", err)
	}
	defer rows.Close()
	out := map[int64]redaction{}
	n := 0
	for rows.Next() {
		var (
			seq  int64
			body []byte
			b    eraseBody
		)
		if err := rows.Scan(&seq, &body); err != nil {
			return nil, 0, fmt.Errorf("read erasures: %w", err)
		}
		n++
		if err := json.Unmarshal(body, &b); err != nil {
			continue // the entry's own hash check reports a damaged body
		}
		for _, r := range b.Redactions {
			if r.Seq > 0 && r.Seq < seq {
				out[r.Seq] = redaction{by: seq, hash: r.Hash, redacted: r.Redacted}
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("read erasures: %w", err)
	}
	return out, n, nil
}

// Erasure is what EraseChild did.
type Erasure struct {
	ChildID kiosk.ChildID
	// Pseudonym replaces the child's name everywhere ("C-7f3a9b21").
	Pseudonym string
	// Seq is the erasure entry's seq.
	Seq int64
	// Redacted counts the journal entries whose body was replaced, Calls
	// the calls projection's rows recomputed among them.
	Redacted, Calls int
	// Contacts and Cards count the rows deleted, Consents the consent
	// records whose note and relation were erased.
	Contacts, Cards, Consents int
}

// DueErasure is a left child, not yet erased, with when it left.
type DueErasure struct {
	Child  kiosk.Child
	LeftAt time.Time
}

// ErasuresDue returns the children who left before leftBefore and are not
// erased yet, ordered by LeftAt then id. LeftAt is when the child was last
// marked left: the earliest 'roster' entry setting status "left" after the
// last one setting "active" (console, kioskctl or roster import; see
// leftTimes for entries written on an unsynced clock), else the child's
// updated_at. It reads the roster entries of the whole journal once.
func (db *DB) ErasuresDue(ctx context.Context, leftBefore time.Time) ([]DueErasure, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT id FROM children
		WHERE status = 'left' AND id NOT IN (SELECT child_id FROM erased_children) ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("erasures due: %w", err)
	}
	var ids []kiosk.ChildID
	for rows.Next() {
		var id kiosk.ChildID
		if err := rows.Scan(&id); err != nil {
			rows.Close()
			return nil, fmt.Errorf("erasures due: %w", err)
		}
		ids = append(ids, id)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("erasures due: %w", err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	left, err := db.leftTimes(ctx)
	if err != nil {
		return nil, err
	}
	var out []DueErasure
	for _, id := range ids {
		c, err := child(ctx, db.db, id)
		if err != nil {
			return nil, fmt.Errorf("erasures due: %w", err)
		}
		at, ok := left[id]
		if !ok {
			var s string
			if err := db.db.QueryRowContext(ctx, `SELECT updated_at FROM children WHERE id = ?`, int64(id)).Scan(&s); err != nil {
				return nil, fmt.Errorf("erasures due: child %d: %w", id, err)
			}
			if at, err = parseTime(s); err != nil {
				return nil, fmt.Errorf("erasures due: child %d: %w", id, err)
			}
		}
		if !at.IsZero() && at.Before(leftBefore) {
			out = append(out, DueErasure{Child: c, LeftAt: at})
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].LeftAt.Before(out[j].LeftAt) })
	return out, nil
}

// leftTimes maps each child whose last journaled status is "left" to
// when that run of "left" began. An entry written on an unsynced clock (a
// Raspberry Pi before NTP may think it is 1970) gives way to the next
// entry of the journal written on a synced clock, which is no earlier than
// the truth: a child is never erased early; without such an entry the
// child is left out (not due).
func (db *DB) leftTimes(ctx context.Context) (map[kiosk.ChildID]time.Time, error) {
	rows, err := db.db.QueryContext(ctx, `SELECT seq, at, clock_synced, json_extract(body, '$.child_id'), json_extract(body, '$.status')
		FROM journal WHERE kind = 'roster' AND json_extract(body, '$.status') IN ('active', 'left') ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("erasures due: status history: %w", err)
	}
	type left struct {
		seq    int64
		at     string
		synced bool
	}
	runs := map[kiosk.ChildID]left{}
	for rows.Next() {
		var (
			l      left
			status string
			id     kiosk.ChildID
		)
		if err := rows.Scan(&l.seq, &l.at, &l.synced, &id, &status); err != nil {
			rows.Close()
			return nil, fmt.Errorf("erasures due: status history: %w", err)
		}
		if status == string(kiosk.ChildActive) {
			delete(runs, id)
		} else if _, ok := runs[id]; !ok {
			runs[id] = l
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("erasures due: status history: %w", err)
	}
	out := map[kiosk.ChildID]time.Time{}
	for id, l := range runs {
		if !l.synced {
			err := db.db.QueryRowContext(ctx, `SELECT at FROM journal WHERE seq > ? AND clock_synced = 1 ORDER BY seq LIMIT 1`, l.seq).Scan(&l.at)
			if errors.Is(err, sql.ErrNoRows) {
				out[id] = time.Time{} // when is not known yet
				continue
			} else if err != nil {
				return nil, fmt.Errorf("erasures due: status history: %w", err)
			}
		}
		t, err := parseTime(l.at)
		if err != nil {
			return nil, fmt.Errorf("erasures due: status history: %w", err)
		}
		out[id] = t
	}
	return out, nil
}

// EraseChild erases the personal data of a child who left, as the file
// comment describes, in one write transaction, journaled as an erasure
// entry by actor (reason EraseRetention or EraseManual). It is final.
//
// Errors (*kiosk.Error): EINVALID for an empty actor or unknown reason;
// ENOTFOUND for an unknown child; ECONFLICT for a child who has not left;
// EGONE for a child already erased. Other errors name the step.
func (db *DB) EraseChild(ctx context.Context, actor, reason string, id kiosk.ChildID) (Erasure, error) {
	if actor == "" {
		return Erasure{}, kiosk.Errorf(kiosk.EINVALID, "erase: actor is required")
	}
	if reason != EraseRetention && reason != EraseManual {
		return Erasure{}, kiosk.Errorf(kiosk.EINVALID, "erase: unknown reason %q", reason)
	}
	if err := erasable(ctx, db.db, id); err != nil {
		return Erasure{}, err
	}
	var rnd [4]byte
	if _, err := io.ReadFull(db.rand, rnd[:]); err != nil {
		return Erasure{}, fmt.Errorf("erase child %d: pseudonym: %w", id, err)
	}
	s := &subject{id: id, pseudonym: "C-" + hex.EncodeToString(rnd[:]), tied: map[int64]bool{}, cand: map[int64]bool{}}

	// Find the entries outside the write transaction (a full scan of the
	// journal), then, inside it, only those appended meanwhile.
	var head int64
	if err := db.db.QueryRowContext(ctx, `SELECT COALESCE(MAX(seq), 0) FROM journal`).Scan(&head); err != nil {
		return Erasure{}, fmt.Errorf("erase child %d: head: %w", id, err)
	}
	if err := s.collectRoster(ctx, db.db); err != nil {
		return Erasure{}, err
	}
	if err := s.scanTied(ctx, db.db, 0, head); err != nil {
		return Erasure{}, err
	}
	if err := s.scanFreeText(ctx, db.db, 0, head); err != nil {
		return Erasure{}, err
	}

	res, err := db.eraseTx(ctx, s, actor, reason, head)
	if err != nil {
		return Erasure{}, err
	}
	// Old page images of the erased rows stay in the WAL until it is
	// checkpointed and reset; readers of other processes may keep it from
	// completing, and a later checkpoint finishes the job.
	var busy, logPages, done int
	if err := db.db.QueryRowContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`).Scan(&busy, &logPages, &done); err != nil || busy != 0 {
		db.log.Debug("checkpoint after erasure incomplete", "busy", busy, "err", err)
	}
	db.log.Info("child erased", "child", int64(id), "seq", res.Seq, "redacted", res.Redacted, "reason", reason)
	return res, nil
}

// erasable returns nil when child id exists, has left and is not erased,
// else the *kiosk.Error EraseChild documents.
func erasable(ctx context.Context, q querier, id kiosk.ChildID) error {
	var (
		status string
		erased bool
	)
	err := q.QueryRowContext(ctx, `SELECT status, EXISTS (SELECT 1 FROM erased_children WHERE child_id = c.id)
		FROM children c WHERE id = ?`, int64(id)).Scan(&status, &erased)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return kiosk.Errorf(kiosk.ENOTFOUND, "child %d not found", id)
	case err != nil:
		return fmt.Errorf("erase child %d: %w", id, err)
	case erased:
		return kiosk.Errorf(kiosk.EGONE, "child %d is already erased", id)
	case status != string(kiosk.ChildLeft):
		return kiosk.Errorf(kiosk.ECONFLICT, "child %d has not left: only a child marked left can be erased", id)
	}
	return nil
}

// eraseTx is the write transaction of EraseChild; entries after head are
// scanned here.
func (db *DB) eraseTx(ctx context.Context, s *subject, actor, reason string, head int64) (Erasure, error) {
	id := s.id
	res := Erasure{ChildID: id, Pseudonym: s.pseudonym}
	tx, err := db.db.BeginTx(ctx, nil)
	if err != nil {
		return res, fmt.Errorf("erase child %d: begin: %w", id, err)
	}
	defer tx.Rollback()
	if err := erasable(ctx, tx, id); err != nil {
		return res, err
	}
	terms := len(s.terms)
	if err := s.scanTied(ctx, tx, head, -1); err != nil {
		return res, err
	}
	lo := head
	if len(s.terms) != terms {
		lo = 0 // new names or numbers: look for them everywhere
	}
	if err := s.scanFreeText(ctx, tx, lo, -1); err != nil {
		return res, err
	}

	type change struct {
		seq  int64
		kind Kind
		body []byte
	}
	var (
		changes []change
		recs    []redactionRec
	)
	seqs := make([]int64, 0, len(s.cand))
	for seq := range s.cand {
		seqs = append(seqs, seq)
	}
	slices.Sort(seqs)
	for _, seq := range seqs {
		var (
			eid, kind, callID, at, ph, hash string
			synced                          bool
			body                            []byte
		)
		err := tx.QueryRowContext(ctx, `SELECT id, kind, call_id, at, clock_synced, CAST(body AS BLOB), prev_hash, hash
			FROM journal WHERE seq = ?`, seq).Scan(&eid, &kind, &callID, &at, &synced, &body, &ph, &hash)
		if err != nil {
			return res, fmt.Errorf("erase child %d: read entry %d: %w", id, seq, err)
		}
		nb := s.redactBody(body, s.tied[seq])
		if bytes.Equal(nb, body) {
			continue
		}
		red, err := chainHash(ph, canonical(seq, eid, Kind(kind), callID, at, synced, nb))
		if err != nil {
			return res, fmt.Errorf("erase child %d: entry %d: %w", id, seq, err)
		}
		changes = append(changes, change{seq, Kind(kind), nb})
		recs = append(recs, redactionRec{Seq: seq, Hash: hash, Redacted: red})
	}
	if recs == nil {
		recs = []redactionRec{}
	}
	body, err := json.Marshal(eraseBody{Op: opErase, ChildID: int64(id), Pseudonym: s.pseudonym, Reason: reason, By: actor, Redactions: recs})
	if err != nil {
		return res, fmt.Errorf("erase child %d: %w", id, err)
	}
	if res.Seq, err = db.appendTx(ctx, tx, KindRoster, "", body); err != nil {
		return res, fmt.Errorf("erase child %d: %w", id, err)
	}
	insert := `INSERT INTO calls (` + callsColumns + `) SELECT ` + callsFromJournal + ` FROM journal j WHERE j.seq = ?`
	for _, c := range changes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO journal_redactions (seq, erasure_seq, body) VALUES (?, ?, ?)`,
			c.seq, res.Seq, string(c.body)); err != nil {
			return res, fmt.Errorf("erase child %d: register redaction of %d: %w", id, c.seq, err)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE journal SET body = ? WHERE seq = ?`, string(c.body), c.seq); err != nil {
			return res, fmt.Errorf("erase child %d: redact entry %d: %w", id, c.seq, err)
		}
		res.Redacted++
		if c.kind != KindCallStart && c.kind != KindCallEnd && c.kind != KindCallDenied {
			continue
		}
		del, err := tx.ExecContext(ctx, `DELETE FROM calls WHERE seq = ?`, c.seq)
		if err != nil {
			return res, fmt.Errorf("erase child %d: calls projection %d: %w", id, c.seq, err)
		}
		if n, _ := del.RowsAffected(); n == 0 {
			continue // not a row of the register (a start whose end is there)
		}
		if _, err := tx.ExecContext(ctx, insert, c.seq); err != nil {
			return res, fmt.Errorf("erase child %d: calls projection %d: %w", id, c.seq, err)
		}
		res.Calls++
	}

	// The child's row first, then the mark that makes it final (and lets
	// the consents' trigger take the erasure).
	now := fmtTime(db.now())
	if _, err := tx.ExecContext(ctx, `UPDATE children SET name = ?, external_id = '', gender = '', updated_at = ?
		WHERE id = ?`, s.pseudonym, now, int64(id)); err != nil {
		return res, fmt.Errorf("erase child %d: roster: %w", id, err)
	}
	if _, err := tx.ExecContext(ctx, `INSERT INTO erased_children (child_id, erased_at, erasure_seq) VALUES (?, ?, ?)`,
		int64(id), now, res.Seq); err != nil {
		return res, fmt.Errorf("erase child %d: mark erased: %w", id, err)
	}
	for _, st := range []struct {
		n    *int
		what string
		q    string
	}{
		{&res.Contacts, "contacts", `DELETE FROM contacts WHERE child_id = ?`},
		{&res.Cards, "cards", `DELETE FROM cards WHERE child_id = ?`},
		{&res.Consents, "consents", `UPDATE consents SET note = '', relation = '' WHERE child_id = ? AND (note <> '' OR relation <> '')`},
	} {
		r, err := tx.ExecContext(ctx, st.q, int64(id))
		if err != nil {
			return res, fmt.Errorf("erase child %d: %s: %w", id, st.what, err)
		}
		n, _ := r.RowsAffected()
		*st.n = int(n)
	}
	if err := tx.Commit(); err != nil {
		return res, fmt.Errorf("erase child %d: commit: %w", id, err)
	}
	return res, nil
}

// subject is the child being erased: the personal strings found in its
// roster and history, and the journal entries that carry them.
type subject struct {
	id        kiosk.ChildID
	pseudonym string
	// terms maps each string that free text must not keep to what
	// replaces it (the pseudonym for the child's names, "***" else).
	terms map[string]string
	// spared are guardians' names and numbers also held for another child
	// who is not erased (a sibling): kept in free text.
	spared map[string]bool
	// tied are the child's own entries; cand every entry to redact.
	tied, cand map[int64]bool
}

// minTermBytes: shorter ASCII strings (initials, "Li") are too common to
// be looked for in free text; a CJK name of 2 characters is 6 bytes.
const minTermBytes = 3

// addTerm records a personal string found in the child's data.
func (s *subject) addTerm(v string, childName bool) {
	v = strings.TrimSpace(v)
	if len(v) < minTermBytes || utf8.RuneCountInString(v) < 2 || s.spared[v] {
		return
	}
	if s.terms == nil {
		s.terms = map[string]string{}
	}
	if childName {
		s.terms[v] = s.pseudonym
	} else if _, ok := s.terms[v]; !ok {
		s.terms[v] = "***"
	}
	// Numbers appear in free text as dialled: +86 13800000000 as
	// 13800000000 too.
	if n, ok := strings.CutPrefix(v, "+86"); ok && len(n) >= 5 && !s.spared[n] {
		if _, ok := s.terms[n]; !ok {
			s.terms[n] = "***"
		}
	}
}

// collectRoster adds the child's current roster fields to the terms and
// notes the guardians' names and numbers other children still hold.
func (s *subject) collectRoster(ctx context.Context, q querier) error {
	s.spared = map[string]bool{}
	rows, err := q.QueryContext(ctx, `SELECT name, phone FROM contacts
		WHERE child_id <> ? AND child_id NOT IN (SELECT child_id FROM erased_children)`, int64(s.id))
	if err != nil {
		return fmt.Errorf("erase child %d: other contacts: %w", s.id, err)
	}
	for rows.Next() {
		var name, phone string
		if err := rows.Scan(&name, &phone); err != nil {
			rows.Close()
			return fmt.Errorf("erase child %d: other contacts: %w", s.id, err)
		}
		s.spared[strings.TrimSpace(name)], s.spared[strings.TrimSpace(phone)] = true, true
		if n, ok := strings.CutPrefix(strings.TrimSpace(phone), "+86"); ok {
			s.spared[n] = true
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("erase child %d: other contacts: %w", s.id, err)
	}
	c, err := child(ctx, q, s.id)
	if err != nil {
		return fmt.Errorf("erase child %d: %w", s.id, err)
	}
	s.addTerm(c.Name, true)
	s.addTerm(c.ExternalID, false)
	cs, err := contacts(ctx, q, s.id)
	if err != nil {
		return fmt.Errorf("erase child %d: %w", s.id, err)
	}
	for _, ct := range cs {
		s.addTerm(ct.Name, false)
		s.addTerm(ct.Phone, false)
	}
	cards, err := q.QueryContext(ctx, `SELECT uid FROM cards WHERE child_id = ?`, int64(s.id))
	if err != nil {
		return fmt.Errorf("erase child %d: cards: %w", s.id, err)
	}
	defer cards.Close()
	for cards.Next() {
		var uid string
		if err := cards.Scan(&uid); err != nil {
			return fmt.Errorf("erase child %d: cards: %w", s.id, err)
		}
		s.addTerm(uid, false)
	}
	return cards.Err()
}

// scanTied finds the child's own entries with lo < seq <= hi (hi < 0: no
// bound) and adds the personal strings in them to the terms.
func (s *subject) scanTied(ctx context.Context, q querier, lo, hi int64) error {
	if hi < 0 {
		hi = 1<<63 - 1
	}
	// The exact bytes json.Marshal writes for the id, then a confirmation
	// by decoding: a cheap filter for a scan of every body.
	key := `"child_id":` + strconv.FormatInt(int64(s.id), 10)
	rows, err := q.QueryContext(ctx, `SELECT seq, CAST(body AS BLOB) FROM journal
		WHERE seq > ? AND seq <= ? AND (instr(body, ?) > 0 OR instr(body, ?) > 0)`, lo, hi, key+",", key+"}")
	if err != nil {
		return fmt.Errorf("erase child %d: find entries: %w", s.id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var (
			seq  int64
			body []byte
		)
		if err := rows.Scan(&seq, &body); err != nil {
			return fmt.Errorf("erase child %d: find entries: %w", s.id, err)
		}
		var b struct {
			ChildID *int64 `json:"child_id"`
			Op      string `json:"op"`
			// the personal fields of call, loan and roster bodies
			ChildName   string `json:"child_name"`
			Name        string `json:"name"`
			ExternalID  string `json:"external_id"`
			ContactName string `json:"contact_name"`
			Number      string `json:"number"`
			Phone       string `json:"phone"`
			Card        string `json:"card"`
			Help        bool   `json:"help"`
		}
		if json.Unmarshal(body, &b) != nil || b.ChildID == nil || *b.ChildID != int64(s.id) || b.Op == opErase {
			continue
		}
		s.tied[seq], s.cand[seq] = true, true
		contactOp := strings.HasPrefix(b.Op, "contact_")
		s.addTerm(b.ChildName, true)
		s.addTerm(b.Name, !contactOp)
		s.addTerm(b.ExternalID, false)
		s.addTerm(b.ContactName, false)
		if !b.Help {
			s.addTerm(b.Number, false)
		}
		s.addTerm(b.Phone, false)
		s.addTerm(b.Card, false)
	}
	return rows.Err()
}

// freeTextKinds are the kinds whose bodies may hold free text: every kind
// but the calls', whose bodies have none and make most of the journal
// (TestFreeTextKinds keeps the list in step with the journal's kinds).
var freeTextKinds = []Kind{KindRoster, KindAudit, KindSystem, KindEquipment, KindLoan, KindTVStart, KindTVEnd}

// scanFreeText finds the entries of freeTextKinds with lo < seq <= hi
// (hi < 0: no bound) whose body contains one of the terms; redactBody
// decides what changes.
func (s *subject) scanFreeText(ctx context.Context, q querier, lo, hi int64) error {
	if len(s.terms) == 0 {
		return nil
	}
	if hi < 0 {
		hi = 1<<63 - 1
	}
	var args []any
	kinds := strings.Repeat("?, ", len(freeTextKinds)-1) + "?"
	for _, k := range freeTextKinds {
		args = append(args, string(k))
	}
	args = append(args, lo, hi)
	var or []string
	for t := range s.terms {
		or = append(or, "instr(body, ?) > 0")
		args = append(args, t)
	}
	// kind IN (...) first: the scan takes the journal_kind index.
	rows, err := q.QueryContext(ctx, `SELECT seq FROM journal WHERE kind IN (`+kinds+`) AND seq > ? AND seq <= ?
		AND (`+strings.Join(or, " OR ")+`)`, args...)
	if err != nil {
		return fmt.Errorf("erase child %d: find free text: %w", s.id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return fmt.Errorf("erase child %d: find free text: %w", s.id, err)
		}
		s.cand[seq] = true
	}
	return rows.Err()
}

// jsonField is one member of a JSON object, its value as written.
type jsonField struct {
	key string
	val json.RawMessage
}

// splitObject splits a JSON object into its members, in order, values
// byte for byte; false if body is not an object.
func splitObject(body []byte) ([]jsonField, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, false
	}
	var out []jsonField
	for dec.More() {
		t, err := dec.Token()
		k, ok := t.(string)
		if err != nil || !ok {
			return nil, false
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, false
		}
		out = append(out, jsonField{k, v})
	}
	return out, true
}

// freeTextKeys are the members that hold free text in any entry: notes of
// loans and TV sessions, details of audit (help notes, searches) and
// system entries.
var freeTextKeys = map[string]bool{"note": true, "detail": true}

// redactBody returns body redacted for s (body itself, not a copy, when
// nothing changes). In the child's own entries (tied) the personal fields
// are replaced as the file comment says; in every entry the free-text
// members have each term replaced. Members are kept in order and every
// untouched value byte for byte, so the redaction is deterministic: a
// holder of the original entry can recompute it. An erasure entry, or a
// body that is not a JSON object, is never changed.
func (s *subject) redactBody(body []byte, tied bool) []byte {
	fields, ok := splitObject(body)
	if !ok {
		return body
	}
	str := func(key string) string {
		for _, f := range fields {
			if f.key == key {
				var v string
				json.Unmarshal(f.val, &v)
				return v
			}
		}
		return ""
	}
	op := str("op")
	if op == opErase {
		return body
	}
	help := false
	for _, f := range fields {
		if f.key == "help" {
			help = string(f.val) == "true"
		}
	}
	changed := false
	for i, f := range fields {
		if len(f.val) == 0 || f.val[0] != '"' {
			continue
		}
		var v string
		if json.Unmarshal(f.val, &v) != nil {
			continue
		}
		nv := v
		switch {
		case tied && (f.key == "child_name" || f.key == "name" && !strings.HasPrefix(op, "contact_")):
			if v != "" {
				nv = s.pseudonym
			}
		case tied && f.key == "number":
			if !help {
				nv = ""
			}
		case tied && (f.key == "name" || f.key == "contact_name" || f.key == "phone" || f.key == "card" ||
			f.key == "external_id" || f.key == "gender" || f.key == "left_behind"):
			nv = ""
		case freeTextKeys[f.key]:
			nv = s.scrub(v)
		}
		if nv == v {
			continue
		}
		b, err := json.Marshal(nv)
		if err != nil {
			continue
		}
		fields[i].val, changed = b, true
	}
	if !changed {
		return body
	}
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.key)
		b.Write(k)
		b.WriteByte(':')
		b.Write(f.val)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// scrub replaces every term in free text, longest first (a number before
// its national form, a full name before a part of it).
func (s *subject) scrub(v string) string {
	if len(s.terms) == 0 {
		return v
	}
	terms := make([]string, 0, len(s.terms))
	for t := range s.terms {
		if strings.Contains(v, t) {
			terms = append(terms, t)
		}
	}
	sort.Slice(terms, func(i, j int) bool {
		if len(terms[i]) != len(terms[j]) {
			return len(terms[i]) > len(terms[j])
		}
		return terms[i] < terms[j]
	})
	for _, t := range terms {
		v = strings.ReplaceAll(v, t, s.terms[t])
	}
	return v
}

// Vacuum rewrites the database file (VACUUM), which leaves no free page
// or free space inside a page: text erased before secure_delete was on
// (databases older than it) is gone only after it. It takes the write lock
// for as long as it runs (seconds per 100 MB) and needs free disk space
// of the file's size: run it when the kiosk is closed.
func (db *DB) Vacuum(ctx context.Context) error {
	if _, err := db.db.ExecContext(ctx, `VACUUM`); err != nil {
		return fmt.Errorf("vacuum: %w", err)
	}
	return nil
}
