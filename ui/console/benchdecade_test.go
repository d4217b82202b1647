package console

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// benchTime is the stored time format of kiosk/sqlite (UTC, nanoseconds).
const benchTime = "2006-01-02T15:04:05.000000000Z"

// benchEntries is QQ_BENCH_ENTRIES, the journal size of the console's
// benchmarks; default 200,000 (the target is 1,000,000).
func benchEntries(b *testing.B) int {
	b.Helper()
	total := 200000
	if s := os.Getenv("QQ_BENCH_ENTRIES"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(b, err)
		total = n
	}
	return total
}

// benchDecade is a school's decade for the register benchmarks: the
// database, a console on it and a manager's session cookie.
type benchDecade struct {
	db     *sqlite.DB
	con    *Console
	cookie *http.Cookie
	// Entries is the journal's size; Calls the call entries among them.
	Entries, Calls int
	// AuditMid is the seq of the middle one of the generated audit
	// entries: where an audit log page deep in the decade starts.
	AuditMid int64
}

// newBenchDecade builds a journal of about total entries in dir: the
// calls of benchSchool (20,000 in November 2026, the rest spread over the
// ten years before) and, in proportion to total (per 1,000,000 entries),
// the other registers' entries of a decade: 20,000 book loans (lend and
// return entries), 3,000 TV sessions (start and end), 1,000 equipment
// events, 5,000 roster changes and 50,000 console audit entries, all
// spread over the decade and written straight into the journal, chained
// (benchEntryHash); plus 200 help calls (start and end entries, by
// BulkAppendCalls) and 100 follow-up notes through the store's appends.
func newBenchDecade(b *testing.B, dir string, total int) *benchDecade {
	b.Helper()
	ctx := context.Background()
	scale := func(perMillion int) int { return max(1, int(int64(perMillion)*int64(total)/1000000)) }
	loans, tvs, equip, roster, audits := scale(20000), scale(3000), scale(1000), scale(5000), scale(50000)
	const helpCalls, helpNotes = 200, 100
	extra := 2*loans + 2*tvs + equip + roster + audits + 2*helpCalls + helpNotes
	calls := max(total-extra, 40000)
	start := time.Now()
	db := benchSchool(b, dir, calls, 20000)
	kids, err := db.SearchChildren(ctx, kiosk.ChildQuery{Limit: 1000})
	require.NoError(b, err)

	raw, err := sql.Open("sqlite", filepath.Join(dir, "kiosk.db")+"?_pragma=busy_timeout(5000)&_pragma=journal_mode(WAL)&_pragma=synchronous(OFF)")
	require.NoError(b, err)
	defer raw.Close()
	tx, err := raw.BeginTx(ctx, nil)
	require.NoError(b, err)
	var (
		seq  int64
		prev string
	)
	require.NoError(b, tx.QueryRowContext(ctx, `SELECT seq, hash FROM journal ORDER BY seq DESC LIMIT 1`).Scan(&seq, &prev))
	ins, err := tx.PrepareContext(ctx, `INSERT INTO journal (seq, id, kind, call_id, at, clock_synced, body, prev_hash, hash)
		VALUES (?, ?, ?, ?, ?, 1, ?, ?, ?)`)
	require.NoError(b, err)
	idb := make([]byte, 16)
	add := func(kind, callID string, at time.Time, body any) {
		js, err := json.Marshal(body)
		require.NoError(b, err)
		rand.Read(idb)
		seq++
		id, ats := hex.EncodeToString(idb), at.UTC().Format(benchTime)
		hash := benchEntryHash(prev, seq, id, kind, callID, ats, js)
		_, err = ins.ExecContext(ctx, seq, id, kind, callID, ats, string(js), prev, hash)
		require.NoError(b, err)
		prev = hash
	}
	end := time.Date(2026, 11, 20, 0, 0, 0, 0, time.UTC)
	decade := end.AddDate(-10, 0, 0)
	spread := func(i, n int) time.Time { // the i-th of n moments of the decade
		return decade.Add(time.Duration(int64(end.Sub(decade)) / int64(n) * int64(i)))
	}
	ts := func(t time.Time) string { return t.UTC().Format(benchTime) }
	for i := 0; i < loans; i++ {
		k, lent := kids[(i*13)%len(kids)], spread(i, loans)
		l := map[string]any{"event": "lend", "loan_id": i + 1, "barcode": fmt.Sprintf("B%06d", i%3000), "isbn": "9787020002207",
			"title": "西游记", "author": "吴承恩", "child_id": k.ID, "child_name": k.Name, "class": k.Class,
			"lent": ts(lent), "due": lent.AddDate(0, 0, 14).Format(time.DateOnly), "at": ts(lent),
			"condition": "good", "price_cents": 2500, "handler": "自助"}
		add("loan", "", lent, l)
		ret := lent.Add(9 * 24 * time.Hour)
		l["event"], l["at"] = "return", ts(ret)
		add("loan", "", ret, l)
	}
	for i := 0; i < tvs; i++ {
		st := spread(i, tvs)
		s := map[string]any{"session_id": fmt.Sprintf("%032x", i), "tv": "tv1", "room": "活动室", "programme": "新闻联播",
			"category": "新闻", "class": kids[(i*25)%len(kids)].Class, "headcount": 30, "teacher": "李老师",
			"started": ts(st), "ended": "", "curfew": "", "clock_synced": true}
		add("tv_start", fmt.Sprintf("%032x", i), st, s)
		en := st.Add(30 * time.Minute)
		s["ended"], s["duration_ms"], s["duration"], s["cause"], s["power"] = ts(en), 1800000, 1800, "stopped", "on"
		add("tv_end", fmt.Sprintf("%032x", i), en, s)
	}
	for i := 0; i < equip; i++ {
		at := spread(i, equip)
		add("equipment", "", at, map[string]any{"device": "reader" + strconv.Itoa(i%3+1), "kind": "mfrc522",
			"booth": "b" + strconv.Itoa(i%3+1), "event": []string{"fault", "recovered"}[i%2], "detail": "no answer", "at": ts(at)})
	}
	for i := 0; i < roster; i++ {
		k := kids[(i*11)%len(kids)]
		add("roster", "", spread(i, roster), map[string]any{"op": "child_updated", "child_id": k.ID, "name": k.Name, "class": k.Class})
	}
	var auditMid int64
	for i := 0; i < audits; i++ {
		if i == audits/2 {
			auditMid = seq + 1
		}
		add("audit", "", spread(i, audits), map[string]any{"actor": "manager", "action": "view_calls",
			"detail": `mode=phone from=2026-11-01 to=2026-11-30 class="" child=0 booth="" rows=50`})
	}
	require.NoError(b, ins.Close())
	require.NoError(b, tx.Commit())

	_, err = db.BulkAppendCalls(ctx, func(yield func(sqlite.BulkCall) bool) {
		for i := 0; i < helpCalls; i++ {
			k, st := kids[(i*17)%len(kids)], spread(i, helpCalls)
			r := kiosk.CallRecord{CallID: "help" + strconv.Itoa(i), Booth: "b" + strconv.Itoa(i%3+1), ChildID: k.ID, ChildName: k.Name,
				Class: k.Class, ContactName: "求助热线", Number: "12355", Mode: kiosk.ModePhone, Started: st, ClockSynced: true,
				Help: true, Reason: "help"}
			if !yield(sqlite.BulkCall{Kind: sqlite.KindCallStart, Record: r}) {
				return
			}
			r.Answered, r.Ended = st.Add(5*time.Second), st.Add(3*time.Minute)
			r.Billsec, r.Duration = r.Ended.Sub(r.Answered), r.Ended.Sub(st)
			r.Disposition, r.Cause = kiosk.DispAnswered, kiosk.CauseCallerHangup
			if !yield(sqlite.BulkCall{Kind: sqlite.KindCallEnd, Record: r}) {
				return
			}
		}
	})
	require.NoError(b, err)
	for i := 0; i < helpNotes; i++ {
		require.NoError(b, db.HelpFollowUp(ctx, "manager", "help"+strconv.Itoa(i*2), "已联系班主任", i%2 == 0))
	}
	var n int
	require.NoError(b, raw.QueryRowContext(ctx, `SELECT count(*) FROM journal`).Scan(&n))
	b.Logf("generated a decade of %d journal entries (%d calls) in %s", n, calls, time.Since(start).Round(time.Millisecond))

	_, err = db.AddUser(ctx, "bench", sqlite.NewUser{Username: "manager", DisplayName: "管理员", Role: sqlite.RoleManager, Password: password})
	require.NoError(b, err)
	s, err := db.Login(ctx, "manager", password, "127.0.0.1")
	require.NoError(b, err)
	con, err := New(Opts{Store: db, School: school, Now: func() time.Time { return t0 }, SessionIdle: 1000 * time.Hour, SessionMax: 1000 * time.Hour})
	require.NoError(b, err)
	return &benchDecade{db: db, con: con, cookie: &http.Cookie{Name: CookieName, Value: s.ID}, Entries: n, Calls: calls, AuditMid: auditMid}
}

// benchEntryHash is a journal entry's chain hash as kiosk/sqlite
// documents it: hex(SHA-256(prev || canonical)), canonical being the
// netstrings of seq, id, kind, call_id, at, clock_synced ("1") and body.
// (Calls go through sqlite.BulkAppendCalls; the other registers' entries
// have no bulk writer yet.)
func benchEntryHash(prevHex string, seq int64, id, kind, callID, at string, body []byte) string {
	prev, _ := hex.DecodeString(prevHex)
	h := sha256.New()
	h.Write(prev)
	for _, f := range [][]byte{[]byte(strconv.FormatInt(seq, 10)), []byte(id), []byte(kind), []byte(callID), []byte(at), []byte("1"), body} {
		fmt.Fprintf(h, "%d:%s,", len(f), f)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// get serves GET target as the manager and fails b unless it is a 200.
func (d *benchDecade) get(b *testing.B, target string, w http.ResponseWriter) {
	req := httptest.NewRequest("GET", target, nil)
	req.AddCookie(d.cookie)
	rec, _ := w.(*httptest.ResponseRecorder)
	d.con.Handler().ServeHTTP(w, req)
	if rec != nil && rec.Code != http.StatusOK {
		b.Fatalf("GET %s: status %d: %.300s", target, rec.Code, rec.Body.String())
	}
	if cw, ok := w.(*countingWriter); ok && cw.code != http.StatusOK {
		b.Fatalf("GET %s: status %d", target, cw.code)
	}
}

// countingWriter is an http.ResponseWriter that counts the body's bytes
// and keeps none, so an export's memory is the handler's own.
type countingWriter struct {
	h    http.Header
	code int
	n    int64
}

func (w *countingWriter) Header() http.Header {
	if w.h == nil {
		w.h = http.Header{}
	}
	return w.h
}

func (w *countingWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}

func (w *countingWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	w.n += int64(len(p))
	return len(p), nil
}

// quantile returns the q-quantile (0..1, nearest rank) of ds, sorting it.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(q*float64(len(ds))+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}
