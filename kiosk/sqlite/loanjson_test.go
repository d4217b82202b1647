package sqlite

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// unmarshalLoan is the reference: encoding/json into a zero loanBody.
func unmarshalLoan(raw []byte) (loanBody, error) {
	var b loanBody
	err := json.Unmarshal(raw, &b)
	return b, err
}

// loanBodies are bodies as the library writes them (json.Marshal of a
// loanBody), which the fast reader must read itself.
func loanBodies(t testing.TB) [][]byte {
	var out [][]byte
	for _, b := range []loanBody{
		{},
		{Event: LoanLend, LoanID: 1, Barcode: "9787020002207-1", ISBN: "9787020002207", Title: "红楼梦", Author: "曹雪芹",
			ChildID: 12, ChildName: "王小明", Class: "三年级1班", Lent: "2026-03-02T01:00:00.000000000Z", Due: "2026-03-09",
			At: "2026-03-02T01:00:00.000000000Z", Condition: "good", PriceCents: 5970, Handler: HandlerKiosk, Booth: "b1"},
		{Event: LoanReturn, LoanID: 9223372036854775807, OverdueDays: 3, Renewals: 2, Condition: "worn", Handler: "王老师", Note: "封面破损 ok"},
		{Event: LoanLost, LoanID: -4, OverdueDays: -1, PriceCents: 0, Note: "家长已赔"},
	} {
		raw, err := json.Marshal(b)
		require.NoError(t, err)
		out = append(out, raw)
	}
	return out
}

// TestDecodeLoanBody: the library's own bodies take the fast path and read
// as json.Unmarshal reads them; every other body, valid or not, reads as
// json.Unmarshal reads it too, errors included.
func TestDecodeLoanBody(t *testing.T) {
	for _, raw := range loanBodies(t) {
		var fast loanBody
		assert.True(t, (&flatReader{raw: raw}).loanBody(&fast), "the fast path reads %s", raw)
		want, err := unmarshalLoan(raw)
		require.NoError(t, err)
		var got loanBody
		require.NoError(t, decodeLoanBody(raw, &got))
		assert.Equal(t, want, got, "%s", raw)
	}
	for _, raw := range []string{
		` { "event" : "lend" ,"loan_id":7 } `,
		`{"note":"a\"b"}`,
		`{"note":"\u003c书\u003e"}`,
		`{"note":"\ud83d\ude00"}`,
		"{\"note\":\"\xff\"}",
		"{\"note\":\"a\tb\"}",
		`{"Event":"lend"}`,
		`{"event":"lend","event":"return"}`,
		`{"unknown":{"a":[1,2]},"event":"lend"}`,
		`{"event":null}`,
		`{"loan_id":null}`,
		`{"loan_id":1.5}`,
		`{"loan_id":1.0}`,
		`{"loan_id":1e3}`,
		`{"loan_id":01}`,
		`{"loan_id":-0}`,
		`{"loan_id":-}`,
		`{"loan_id":99999999999999999999}`,
		`{"overdue_days":9223372036854775807}`,
		`{"event":true}`,
		`{"loan_id":"7"}`,
		`{"event":"lend",}`,
		`{"event":"lend"}x`,
		`{"event":"lend"`,
		`{"event" "lend"}`,
		`{}`,
		` {} `,
		`[]`,
		``,
		`null`,
	} {
		want, wantErr := unmarshalLoan([]byte(raw))
		var got loanBody
		err := decodeLoanBody([]byte(raw), &got)
		assert.Equal(t, wantErr, err, "error of %q", raw)
		if wantErr == nil {
			assert.Equal(t, want, got, "%q", raw)
		}
	}
}

// FuzzDecodeLoanBody: decodeLoanBody gives json.Unmarshal's result and
// error for any input.
//
//	go test ./kiosk/sqlite -run '^$' -fuzz FuzzDecodeLoanBody -fuzztime 30s
func FuzzDecodeLoanBody(f *testing.F) {
	for _, raw := range loanBodies(f) {
		f.Add(raw)
	}
	f.Add([]byte(`{"loan_id":01,"note":"\u00e9"}`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, wantErr := unmarshalLoan(raw)
		var got loanBody
		err := decodeLoanBody(raw, &got)
		require.Equal(t, wantErr, err, "error of %q", raw)
		if wantErr == nil {
			require.Equal(t, want, got, "%q", raw)
		}
	})
}

// BenchmarkDecodeLoanBody decodes a lend entry's body with decodeLoanBody
// and with json.Unmarshal.
func BenchmarkDecodeLoanBody(b *testing.B) {
	raw := loanBodies(b)[1]
	for _, c := range []struct {
		name   string
		decode func([]byte, *loanBody) error
	}{
		{"fast", decodeLoanBody},
		{"json", func(raw []byte, l *loanBody) error { return json.Unmarshal(raw, l) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				var l loanBody
				if err := c.decode(raw, &l); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
