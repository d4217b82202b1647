package sqlite_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/sqlite"
)

// linkFixture applies the fixture roster and returns 王小明's id and his
// contact in slot 2 (李芳).
func linkFixture(t *testing.T, db *sqlite.DB) (kiosk.ChildID, kiosk.Contact) {
	t.Helper()
	ctx := context.Background()
	_, err := db.ApplyRoster(ctx, roster(), false)
	require.NoError(t, err)
	cs, err := db.ChildByName(ctx, "王小明")
	require.NoError(t, err)
	require.Len(t, cs, 1)
	c, err := db.ContactBySlot(ctx, cs[0].ID, 2)
	require.NoError(t, err)
	require.Equal(t, "李芳", c.Name)
	return cs[0].ID, c
}

var tokenRE = regexp.MustCompile(`^[a-z2-7]{32}$`)

func TestLinkLifecycle(t *testing.T) {
	ctx := context.Background()
	db, clk := newDB(t)
	childID, contact := linkFixture(t, db)
	before := journalLen(t, db)

	token, link, err := db.CreateLink(ctx, contact.ID, time.Time{})
	require.NoError(t, err)
	assert.Regexp(t, tokenRE, token, "32 characters of lowercase base32: 160 bits, URL-safe")
	assert.Equal(t, kiosk.ParentLink{ID: link.ID, Contact: contact.ID, Created: t0}, link)
	assert.Equal(t, before+1, journalLen(t, db), "creation is journaled")

	l, c, ch, err := db.ResolveLink(ctx, token)
	require.NoError(t, err)
	assert.Equal(t, link, l)
	assert.Equal(t, contact.ID, c.ID)
	assert.Equal(t, "李芳", c.Name)
	assert.Equal(t, childID, ch.ID)
	assert.Equal(t, "王小明", ch.Name)

	_, _, _, err = db.ResolveLink(ctx, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err), "a well-formed unknown token")
	_, _, _, err = db.ResolveLink(ctx, "../../etc/passwd")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err), "a malformed token")
	l2, _, _, err := db.ResolveLink(ctx, string(bytes.ToUpper([]byte(token))))
	require.NoError(t, err, "base32 is case-insensitive")
	assert.Equal(t, link.ID, l2.ID)

	ls, err := db.Links(ctx, contact.ID)
	require.NoError(t, err)
	assert.Equal(t, []kiosk.ParentLink{link}, ls)

	clk.Set(t0.Add(time.Hour))
	require.NoError(t, db.RevokeLink(ctx, link.ID))
	assert.Equal(t, before+2, journalLen(t, db), "revocation is journaled")
	require.NoError(t, db.RevokeLink(ctx, link.ID), "revoking twice is a no-op")
	assert.Equal(t, before+2, journalLen(t, db), "and journals nothing")
	_, _, _, err = db.ResolveLink(ctx, token)
	assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(err))
	got, err := db.Link(ctx, link.ID)
	require.NoError(t, err)
	assert.True(t, got.Revoked)

	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(db.RevokeLink(ctx, 999)))
	_, err = db.Link(ctx, 999)
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))

	// The journal says who and what, never the token or its hash.
	es, err := db.Entries(ctx, 0, 1000)
	require.NoError(t, err)
	var ops []string
	for _, e := range es {
		assert.NotContains(t, string(e.Body), token)
		var b struct {
			Op     string `json:"op"`
			LinkID int64  `json:"link_id"`
			Slot   int    `json:"slot"`
		}
		require.NoError(t, json.Unmarshal(e.Body, &b))
		if b.LinkID != 0 {
			ops = append(ops, b.Op)
			assert.Equal(t, 2, b.Slot)
		}
	}
	assert.Equal(t, []string{"link_created", "link_revoked"}, ops)
	res, err := db.Verify(ctx)
	require.NoError(t, err)
	assert.True(t, res.OK, "chain intact: %+v", res)
}

func TestLinkExpiry(t *testing.T) {
	ctx := context.Background()
	db, clk := newDB(t)
	_, contact := linkFixture(t, db)

	_, _, err := db.CreateLink(ctx, contact.ID, t0)
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "an expiry not in the future")

	exp := t0.Add(30 * 24 * time.Hour)
	token, link, err := db.CreateLink(ctx, contact.ID, exp)
	require.NoError(t, err)
	assert.True(t, exp.Equal(link.Expires))

	clk.Set(exp.Add(-time.Nanosecond))
	_, _, _, err = db.ResolveLink(ctx, token)
	require.NoError(t, err, "valid until the last instant")
	clk.Set(exp)
	_, _, _, err = db.ResolveLink(ctx, token)
	assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(err), "expired at Expires")
}

func TestLinkChildLeft(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	childID, contact := linkFixture(t, db)
	token, _, err := db.CreateLink(ctx, contact.ID, time.Time{})
	require.NoError(t, err)

	require.NoError(t, db.SetChildStatus(ctx, childID, kiosk.ChildLeft))
	_, _, _, err = db.ResolveLink(ctx, token)
	assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(err))
	_, _, err = db.CreateLink(ctx, contact.ID, time.Time{})
	assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(err), "no new link for a child who left")

	require.NoError(t, db.SetChildStatus(ctx, childID, kiosk.ChildActive))
	_, _, _, err = db.ResolveLink(ctx, token)
	assert.NoError(t, err, "back when the child is back")

	_, _, err = db.CreateLink(ctx, 999, time.Time{})
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))
	_, err = db.Links(ctx, 999)
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))
}

func TestLinkRosterChanges(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	_, contact := linkFixture(t, db)
	token, _, err := db.CreateLink(ctx, contact.ID, time.Time{})
	require.NoError(t, err)

	// A roster import that keeps the slot's person keeps the link.
	r := roster()
	r[0].Contacts[1].Modes = []kiosk.Mode{kiosk.ModeVideo}
	_, err = db.ApplyRoster(ctx, r, false)
	require.NoError(t, err)
	_, _, _, err = db.ResolveLink(ctx, token)
	require.NoError(t, err, "a mode change keeps the link")

	// The slot given to another number: the old link no longer works.
	r[0].Contacts[1].Phone = "+8613800000009"
	_, err = db.ApplyRoster(ctx, r, false)
	require.NoError(t, err)
	_, _, _, err = db.ResolveLink(ctx, token)
	assert.Equal(t, kiosk.EGONE, kiosk.ErrorCode(err), "a new number for the slot revokes its links")

	// The slot removed: its links go with it.
	token, _, err = db.CreateLink(ctx, contact.ID, time.Time{})
	require.NoError(t, err)
	r[0].Contacts = r[0].Contacts[:1]
	_, err = db.ApplyRoster(ctx, r, false)
	require.NoError(t, err, "removing a contact with links")
	_, _, _, err = db.ResolveLink(ctx, token)
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))
}

func TestTokensAreRandomAndOnlyHashed(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "kiosk.db")
	db := openDB(t, path, &clock{t: t0})
	_, contact := linkFixture(t, db)

	const n = 200
	seen := map[string]bool{}
	var tokens []string
	for range n {
		token, _, err := db.CreateLink(ctx, contact.ID, time.Time{})
		require.NoError(t, err)
		require.Regexp(t, tokenRE, token)
		seen[token] = true
		tokens = append(tokens, token)
	}
	assert.Len(t, seen, n, "no token repeats")
	// Every base32 symbol position varies: a crude check that all 160 bits
	// come from the random source, not a counter or a clock.
	for pos := 0; pos < sqlite.TokenLen; pos++ {
		chars := map[byte]bool{}
		for _, tok := range tokens {
			chars[tok[pos]] = true
		}
		assert.Greater(t, len(chars), 16, "position %d takes many values", pos)
	}

	require.NoError(t, db.Close())
	var files []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(path + suffix)
		if err == nil {
			files = append(files, b...)
		}
	}
	require.NotEmpty(t, files)
	for _, tok := range tokens {
		require.False(t, bytes.Contains(files, []byte(tok)), "token %s stored in the clear", tok)
	}
	db = openDB(t, path, &clock{t: t0})
	_, _, _, err := db.ResolveLink(ctx, tokens[0])
	assert.NoError(t, err, "resolved by its hash after reopening")
}

func TestAvailableUntil(t *testing.T) {
	ctx := context.Background()
	db, clk := newDB(t)
	_, contact := linkFixture(t, db)

	got, err := db.AvailableUntil(ctx, contact.ID)
	require.NoError(t, err)
	assert.True(t, got.IsZero(), "nothing said")

	until := t0.Add(12 * time.Hour)
	require.NoError(t, db.SetAvailableUntil(ctx, contact.ID, until))
	got, err = db.AvailableUntil(ctx, contact.ID)
	require.NoError(t, err)
	assert.True(t, until.Equal(got), "got %s", got)

	c, err := db.ContactBySlot(ctx, contact.ChildID, 2)
	require.NoError(t, err)
	assert.Equal(t, contact, c, "the contact itself is unchanged")

	clk.Set(until)
	got, err = db.AvailableUntil(ctx, contact.ID)
	require.NoError(t, err)
	assert.True(t, got.IsZero(), "a time that has passed is not shown")

	clk.Set(t0)
	require.NoError(t, db.SetAvailableUntil(ctx, contact.ID, time.Time{}))
	got, err = db.AvailableUntil(ctx, contact.ID)
	require.NoError(t, err)
	assert.True(t, got.IsZero(), "cleared")

	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(db.SetAvailableUntil(ctx, 999, until)))
	_, err = db.AvailableUntil(ctx, 999)
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))
}

func TestLookupsForConsole(t *testing.T) {
	ctx := context.Background()
	db, _ := newDB(t)
	r := roster()
	// A second 王小明 in another class.
	r = append(r, kiosk.RosterEntry{Line: 4, Child: kiosk.Child{Name: "王小明", Class: "一年级1班"},
		Contacts: []kiosk.Contact{{Name: "王伯伯", Relation: "监护人", Phone: "+8613800000004"}}})
	_, err := db.ApplyRoster(ctx, r, false)
	require.NoError(t, err)

	cs, err := db.ChildByName(ctx, "王小明")
	require.NoError(t, err)
	require.Len(t, cs, 2)
	assert.Equal(t, []string{"一年级1班", "三年级1班"}, []string{cs[0].Class, cs[1].Class}, "ordered by class")

	cs, err = db.ChildByName(ctx, "S-017")
	require.NoError(t, err)
	require.Len(t, cs, 1)
	assert.Equal(t, "张丽", cs[0].Name)

	byNumber, err := db.ChildByName(ctx, strconv.FormatInt(int64(cs[0].ID), 10))
	require.NoError(t, err, "the console's child number works too")
	require.Len(t, byNumber, 1)
	assert.Equal(t, cs[0].ID, byNumber[0].ID)

	_, err = db.ChildByName(ctx, "nobody")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))
	_, err = db.ChildByName(ctx, " ")
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))

	tests := []struct {
		name string
		slot int
		want string
		code string
	}{
		{"slot 1", 1, "张奶奶", ""},
		{"empty slot", 2, "", kiosk.ENOTFOUND},
		{"slot 0", 0, "", kiosk.EINVALID},
		{"slot 6", 6, "", kiosk.EINVALID},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := db.ContactBySlot(ctx, cs[0].ID, tc.slot)
			assert.Equal(t, tc.code, kiosk.ErrorCode(err))
			assert.Equal(t, tc.want, c.Name)
		})
	}
	_, err = db.ContactBySlot(ctx, 999, 1)
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err), "unknown child")
}
