package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// booksData returns a data dir with one child holding card 04A1B2C3 and
// a catalogue file path.
func booksData(t *testing.T) (string, string) {
	t.Helper()
	data := newData(t)
	db := openTestDB(t, data)
	_, err := db.ApplyRoster(context.Background(), []kiosk.RosterEntry{{
		Line:     2,
		Child:    kiosk.Child{Name: "王小明", Class: "三年级1班"},
		Contacts: []kiosk.Contact{{Slot: 1, Name: "李芳", Relation: "母亲", Phone: "+8613812345678", Modes: []kiosk.Mode{kiosk.ModePhone}}},
		Cards:    []string{"04A1B2C3"},
	}}, false)
	require.NoError(t, err)
	require.NoError(t, db.Close())
	cat := filepath.Join(t.TempDir(), "books.csv")
	require.NoError(t, os.WriteFile(cat, []byte("\xEF\xBB\xBFISBN,书名,作者,价格,册数,条码\n"+
		"9787020002207,红楼梦,曹雪芹,59.70,2,\n"+
		"9791090636071,小王子,圣埃克苏佩里,12.50,,A001\n"+
		"9787532136377,三国演义,罗贯中,45,,A002\n"), 0o600))
	return data, cat
}

func TestBooksCommands(t *testing.T) {
	data, cat := booksData(t)
	code, out, stderr := kioskctl(t, "--data", data, "books", "import", cat, "--dry-run")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "titles: 3 added")
	code, out, _ = kioskctl(t, "--data", data, "books", "list")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "0 copies", "dry run wrote nothing")

	code, out, stderr = kioskctl(t, "--data", data, "books", "import", cat)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "copies: 4 added")
	code, out, _ = kioskctl(t, "--data", data, "books", "list")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "9787020002207-2")
	assert.Contains(t, out, "4 copies")

	code, out, stderr = kioskctl(t, "--data", data, "books", "lend", "04a1b2c3", "A001", "--handler", "李老师", "--term-end", "2099-01-31")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "lent A001 《小王子》 to 王小明")
	code, _, stderr = kioskctl(t, "--data", data, "books", "lend", "04A1B2C3", "9787020002207-1")
	require.Equal(t, 0, code, stderr)
	code, _, stderr = kioskctl(t, "--data", data, "books", "lend", "04A1B2C3", "A002")
	assert.Equal(t, 1, code, "third book refused")
	assert.Contains(t, stderr, "at most 2")
	code, _, stderr = kioskctl(t, "--data", data, "books", "lend", "0A0B0C0D", "A002")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "card not found")

	code, _, stderr = kioskctl(t, "--data", data, "books", "renew", "A001")
	assert.Equal(t, 1, code, "renewing on the loan day is refused")
	assert.Contains(t, stderr, "renewing today would not move")
	code, out, stderr = kioskctl(t, "--data", data, "books", "return", "A001", "--condition", "破损", "--note", "封面撕破")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "on time")
	code, _, stderr = kioskctl(t, "--data", data, "books", "return", "A001")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "not lent")

	code, out, stderr = kioskctl(t, "--data", data, "books", "overdue")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "0 overdue")

	scans := filepath.Join(t.TempDir(), "scans.txt")
	require.NoError(t, os.WriteFile(scans, []byte("A001\r\n9787020002207-2\nZZZ\n"), 0o600))
	code, out, stderr = kioskctl(t, "--data", data, "books", "stocktake", scans)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "missing    A002 《三国演义》")
	assert.Contains(t, out, "unknown    ZZZ")

	code, out, stderr = kioskctl(t, "--data", data, "books", "lost", "9787020002207-1", "--handler", "陈主任")
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "遗失")

	reg := filepath.Join(t.TempDir(), "loans.csv")
	code, _, stderr = kioskctl(t, "--data", data, "books", "export", "--format", "csv", "-o", reg)
	require.Equal(t, 0, code, stderr)
	b, err := os.ReadFile(reg)
	require.NoError(t, err)
	require.True(t, bytes.HasPrefix(b, []byte("\xEF\xBB\xBF")), "BOM for Excel")
	recs, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 3, "header and two loans")
	assert.Equal(t, "A001", recs[1][4])
	assert.Equal(t, "破损", recs[1][11])
	assert.Equal(t, "李老师", recs[1][12][:len("李老师")], "the lender first")
	assert.Contains(t, recs[2][13], "遗失（按原价¥59.70赔偿）")

	code, _, _ = kioskctl(t, "--data", data, "ledger", "verify")
	assert.Equal(t, 0, code, "loans are journaled in an intact chain")
}

func TestBooksImportBadRows(t *testing.T) {
	data, _ := booksData(t)
	bad := filepath.Join(t.TempDir(), "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("ISBN,书名\n9787020002207,红楼梦\n9787020002208,水浒传\n,西游记\n"), 0o600))
	code, _, stderr := kioskctl(t, "--data", data, "books", "import", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "nothing imported")
	assert.Contains(t, stderr, "line 3: ISBN: ")
	assert.Contains(t, stderr, "line 4: ISBN: missing ISBN")
	code, out, _ := kioskctl(t, "--data", data, "books", "list")
	require.Equal(t, 0, code)
	assert.Contains(t, out, "0 copies", "all or nothing")
}

func TestBooksUsage(t *testing.T) {
	for _, args := range [][]string{
		{"books"},
		{"books", "frob"},
		{"books", "lend", "04A1B2C3"},
		{"books", "lend", "04A1B2C3", "A1", "--term-end", "31/1/2099"},
		{"books", "return", "A1", "--condition", "wet"},
		{"books", "export", "--format", "xlsx"},
		{"books", "export", "--from", "2026-12-01", "--to", "2026-11-01"},
		{"books", "overdue", "--max", "-3"},
	} {
		t.Run(args[len(args)-1], func(t *testing.T) {
			code, _, _ := kioskctl(t, append([]string{"--data", t.TempDir()}, args...)...)
			assert.Equal(t, 2, code, "usage error for %v", args)
		})
	}
}

// TestBooksRulesFromConfig: with --config the loan rules are the kioskd
// config's, per class: 三年级1班 holds one book and never renews there,
// while the flags (no config) allow two and one renewal.
func TestBooksRulesFromConfig(t *testing.T) {
	data, cat := booksData(t)
	code, _, stderr := kioskctl(t, "--data", data, "books", "import", cat)
	require.Equal(t, 0, code, stderr)
	example, err := os.ReadFile(filepath.Join("..", "..", "firmware-config", "kiosk.example.toml"))
	require.NoError(t, err)
	doc := strings.Replace(string(example), `term_end = "2027-01-15"`, `term_end = "2099-01-31"`, 1)
	require.NotEqual(t, string(example), doc, "the example sets a term end")
	cfg := filepath.Join(t.TempDir(), "kiosk.toml")
	require.NoError(t, os.WriteFile(cfg, []byte(doc+`
[[books.rules]]
classes = ["三年级1班"]
max_loans = 1
renewals = 0
`), 0o600))

	code, out, stderr := kioskctl(t, "--data", data, "books", "lend", "04A1B2C3", "A001", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "lent A001")
	code, _, stderr = kioskctl(t, "--data", data, "books", "lend", "04A1B2C3", "A002", "--config", cfg)
	assert.Equal(t, 1, code, "a second book refused in 三年级1班")
	assert.Contains(t, stderr, "at most 1")
	code, _, stderr = kioskctl(t, "--data", data, "books", "renew", "A001", "--config", cfg)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "renewed 0 times (at most 0)", "no renewal in 三年级1班")
	code, out, stderr = kioskctl(t, "--data", data, "books", "overdue", "--config", cfg)
	require.Equal(t, 0, code, stderr)
	assert.Contains(t, out, "0 overdue")

	// The flags: the [books] defaults for every class.
	code, _, stderr = kioskctl(t, "--data", data, "books", "renew", "A001")
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "renewing today would not move", "a renewal is left, but not on the loan day")
	code, _, stderr = kioskctl(t, "--data", data, "books", "lend", "04A1B2C3", "A002")
	require.Equal(t, 0, code, stderr)

	code, _, stderr = kioskctl(t, "--data", data, "books", "lend", "04A1B2C3", "A003", "--config", cfg, "--max", "3")
	assert.Equal(t, 2, code, "--config and a rule flag: usage")
	assert.Contains(t, stderr, "drop --max")
	bad := filepath.Join(t.TempDir(), "bad.toml")
	require.NoError(t, os.WriteFile(bad, []byte(doc+"\n[[books.rules]]\ngrades = [0]\nmax_loans = 1\n"), 0o600))
	code, _, stderr = kioskctl(t, "--data", data, "books", "return", "A001", "--config", bad)
	assert.Equal(t, 1, code)
	assert.Contains(t, stderr, "books.rules[0].grades[0]: 0: want a grade 1..12")
}
