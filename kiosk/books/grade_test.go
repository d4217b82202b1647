package books_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/qinqing/station/kiosk/books"
)

func TestGrade(t *testing.T) {
	tests := []struct {
		class string
		want  int // 0: no grade
	}{
		{"一年级1班", 1},
		{"一年级", 1},
		{" 三年级2班 ", 3},
		{"1年级(2)班", 1},
		{"6年级", 6},
		{"六年级（1）班", 6},
		{"小学五年级", 5},
		{"七年级3班", 7},
		{"九年级", 9},
		{"十年级", 10},
		{"十二年级", 12},
		{"12年级", 12},
		{"初一1班", 7},
		{"初三", 9},
		{"初中二年级", 8},
		{"高一", 10},
		{"高中三年级", 12},
		{"13年级", 0},
		{"十三年级", 0},
		{"0年级", 0},
		{"123年级", 0},
		{"年级", 0},
		{"初四", 0},
		{"学前班", 0},
		{"住宿生", 0},
		{"3-1", 0},
		{"", 0},
	}
	for _, tc := range tests {
		t.Run(tc.class, func(t *testing.T) {
			g, ok := books.Grade(tc.class)
			assert.Equal(t, tc.want, g)
			assert.Equal(t, tc.want != 0, ok, "ok when a grade is found")
		})
	}
}

func TestSame(t *testing.T) {
	r := books.Rules{MaxLoans: 3}
	f := books.Same(r)
	assert.Equal(t, 3, f("一年级1班").MaxLoans)
	assert.Equal(t, 3, f("").MaxLoans)
}
