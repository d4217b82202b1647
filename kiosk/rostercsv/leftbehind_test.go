package rostercsv_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/rostercsv"
)

// TestLeftBehindColumn: the optional 留守类型 (left_behind) column, in
// Chinese or English words; a bad value is a problem of its line and
// column; a file without the column says nothing about the kind.
func TestLeftBehindColumn(t *testing.T) {
	const head = "姓名,班级,留守类型,联系人1,关系1,电话1\n"
	f, err := rostercsv.Read(strings.NewReader(head+
		"张三,一班,父母均外出,王,父亲,13800138000\n"+
		"李四,一班,单亲外出,李,母亲,13800138001\n"+
		"王五,二班,,王,爷爷,13800138002\n"+
		"赵六,二班,Mother away,赵,奶奶,13800138003\n"+
		"钱七,二班,双亲外出,钱,外婆,13800138004\n"), rostercsv.Opts{})
	require.NoError(t, err)
	require.Empty(t, f.Problems)
	var got []kiosk.LeftBehindKind
	for _, r := range f.Rows {
		assert.True(t, r.Entry.HasLeftBehind, "line %d carries the kind", r.Line)
		got = append(got, r.Entry.Child.LeftBehind)
	}
	assert.Equal(t, []kiosk.LeftBehindKind{kiosk.LeftBehindBoth, kiosk.LeftBehindOne, kiosk.LeftBehindUnknown,
		kiosk.LeftBehindMother, kiosk.LeftBehindBoth}, got)

	en, err := rostercsv.Parse(strings.NewReader("name,class,left_behind,contact1_name,contact1_relation,contact1_phone\n"+
		"Li Lei,Class 3,father_away,Li Gang,father,13800138000\n"), rostercsv.Opts{})
	require.NoError(t, err)
	require.Len(t, en, 1)
	assert.Equal(t, kiosk.LeftBehindFather, en[0].Child.LeftBehind, "English header and word")

	// A bad value: reported on its line and column, the other rows read.
	f, err = rostercsv.Read(strings.NewReader(head+
		"张三,一班,父母均外出,王,父亲,13800138000\n"+
		"李四,一班,是,李,母亲,13800138001\n"), rostercsv.Opts{})
	require.NoError(t, err)
	require.Len(t, f.Problems, 1)
	p := f.Problems[0]
	assert.Equal(t, 3, p.Line)
	assert.Equal(t, "留守类型", p.Column)
	assert.True(t, strings.HasPrefix(p.Message, "留守类型无法识别"), "Chinese first: %q", p.Message)
	assert.Contains(t, p.Message, "unknown kind of left-behind")
	assert.Empty(t, f.Rows[0].Problems)
	_, err = f.Entries()
	var pe *rostercsv.ParseError
	require.True(t, errors.As(err, &pe), "all or nothing")
	assert.Equal(t, "line 3: 留守类型: "+p.Message, pe.Problems[0].String())

	// No column: the kind is not carried.
	es, err := rostercsv.Parse(strings.NewReader("姓名,班级,联系人1,关系1,电话1\n张三,一班,王,父亲,13800138000\n"), rostercsv.Opts{})
	require.NoError(t, err)
	assert.False(t, es[0].HasLeftBehind)
	assert.Equal(t, kiosk.LeftBehindUnknown, es[0].Child.LeftBehind)
}

// TestWriteLeftBehind: the export writes the kind's Chinese label in the
// last column, and reads back.
func TestWriteLeftBehind(t *testing.T) {
	es := goodEntries()
	es[0].Child.LeftBehind = kiosk.LeftBehindBoth
	es[1].Child.LeftBehind = kiosk.LeftBehindMother
	var buf bytes.Buffer
	require.NoError(t, rostercsv.Write(&buf, es, rostercsv.Opts{}))
	lines := strings.Split(buf.String(), "\r\n")
	assert.True(t, strings.HasSuffix(lines[0], ",方式5,留守类型"), "header: %s", lines[0])
	assert.True(t, strings.HasSuffix(lines[1], ",父母均外出"), "row 1: %s", lines[1])
	assert.True(t, strings.HasSuffix(lines[2], ",母亲外出"), "row 2: %s", lines[2])
	assert.True(t, strings.HasSuffix(lines[3], ","), "not recorded: blank")
	got, err := rostercsv.Parse(&buf, rostercsv.Opts{})
	require.NoError(t, err)
	assert.Equal(t, withoutLines(es), withoutLines(got))

	es[2].Child.LeftBehind = "orphan"
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(rostercsv.Write(&buf, es, rostercsv.Opts{})), "an unknown kind is refused")
}
