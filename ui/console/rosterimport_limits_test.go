package console

import (
	"bytes"
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk/rostercsv"
	"github.com/qinqing/station/kiosk/sqlite"
)

// rosterCSV returns a roster of n new children, two contacts and a card
// each, in classes of a six-year school.
func rosterCSV(n int) []byte {
	var buf bytes.Buffer
	buf.WriteString("编号,姓名,班级,卡号,联系人1,关系1,电话1,联系人2,关系2,电话2,方式2\n")
	for i := range n {
		fmt.Fprintf(&buf, "B%05d,学生%05d,%d年级%d班,%08X,父%05d,父亲,139%08d,母%05d,母亲,137%08d,视频\n",
			i, i, 1+i%6, 1+i%3, 0x10000000+i, i, i, i, i)
	}
	return buf.Bytes()
}

// BenchmarkRosterImportPreview2000 checks a 2,000-child roster against
// SQLite as the preview does (parse, dry runs, totals).
func BenchmarkRosterImportPreview2000(b *testing.B) {
	file := rosterCSV(2000)
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(b.TempDir(), "kiosk.db"), sqlite.Opts{})
	require.NoError(b, err)
	defer db.Close()
	im := &rosterImport{}
	b.ReportAllocs()
	for b.Loop() {
		f, err := rostercsv.Read(bytes.NewReader(file), rostercsv.Opts{})
		require.NoError(b, err)
		d, entries, err := im.check(ctx, db, f)
		require.NoError(b, err)
		if d.Problems != 0 || len(entries) != 2000 || d.Changes.Children.Added != 2000 {
			b.Fatalf("preview: %d problems, %d entries, %+v", d.Problems, len(entries), d.Changes)
		}
	}
}
