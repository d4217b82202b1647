package kiosk_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

func TestParseLeftBehind(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want kiosk.LeftBehindKind
	}{
		{"", kiosk.LeftBehindUnknown},
		{"  ", kiosk.LeftBehindUnknown},
		{"不详", kiosk.LeftBehindUnknown},
		{"unknown", kiosk.LeftBehindUnknown},
		{"父母均外出", kiosk.LeftBehindBoth},
		{"双亲外出", kiosk.LeftBehindBoth},
		{"父母双方外出", kiosk.LeftBehindBoth},
		{" 父母均外出务工 ", kiosk.LeftBehindBoth},
		{"both_away", kiosk.LeftBehindBoth},
		{"Both Away", kiosk.LeftBehindBoth},
		{"both-away", kiosk.LeftBehindBoth},
		{"ＢＯＴＨ＿ＡＷＡＹ", kiosk.LeftBehindBoth},
		{"父亲外出", kiosk.LeftBehindFather},
		{"father_away", kiosk.LeftBehindFather},
		{"母亲外出", kiosk.LeftBehindMother},
		{"Mother away", kiosk.LeftBehindMother},
		{"单亲外出", kiosk.LeftBehindOne},
		{"父母一方外出", kiosk.LeftBehindOne},
		{"one_away", kiosk.LeftBehindOne},
		{"其他", kiosk.LeftBehindOther},
		{"其它", kiosk.LeftBehindOther},
		{"监护人", kiosk.LeftBehindOther},
		{"OTHER", kiosk.LeftBehindOther},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := kiosk.ParseLeftBehind(tc.in)
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.True(t, got.Valid())
		})
	}
	for _, bad := range []string{"是", "否", "父母", "外出", "both away!", "father"} {
		t.Run("bad "+bad, func(t *testing.T) {
			got, err := kiosk.ParseLeftBehind(bad)
			assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "%q is refused", bad)
			assert.Equal(t, kiosk.LeftBehindUnknown, got)
			assert.Contains(t, kiosk.ErrorMessage(err), "留守类型无法识别", "Chinese first")
		})
	}
}

func TestLeftBehindLabels(t *testing.T) {
	for _, k := range kiosk.LeftBehindKinds {
		require.NotEmpty(t, k.Label(), "%s has a label", k)
		back, err := kiosk.ParseLeftBehind(k.Label())
		require.NoError(t, err)
		assert.Equal(t, k, back, "the label of %s reads back", k)
		back, err = kiosk.ParseLeftBehind(string(k))
		require.NoError(t, err)
		assert.Equal(t, k, back, "the code %s reads back", k)
		assert.True(t, k.Valid())
	}
	assert.Equal(t, "", kiosk.LeftBehindUnknown.Label())
	assert.False(t, kiosk.LeftBehindKind("orphan").Valid())
	assert.True(t, kiosk.LeftBehindFather.OneAway())
	assert.True(t, kiosk.LeftBehindMother.OneAway())
	assert.True(t, kiosk.LeftBehindOne.OneAway())
	assert.False(t, kiosk.LeftBehindBoth.OneAway())
	assert.False(t, kiosk.LeftBehindOther.OneAway())
	assert.False(t, kiosk.LeftBehindUnknown.OneAway())
}
