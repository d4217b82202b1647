package books

import (
	"strconv"
	"strings"
	"unicode/utf8"
)

// MaxGrade is the highest grade Grade returns: 高三, twelve years of school.
const MaxGrade = 12

var cnDigits = map[rune]int{'一': 1, '二': 2, '三': 3, '四': 4, '五': 5, '六': 6, '七': 7, '八': 8, '九': 9}

// Grade returns the grade (1..MaxGrade) of a roster class name, as
// Chinese schools write it: "一年级1班" and "1年级(2)班" are grade 1,
// "七年级" and "初一1班" grade 7 (初一..初三 are 7..9), "高二" grade 11
// (高一..高三 are 10..12); "初中一年级" counts from 7 and "高中一年级"
// from 10. The numeral is the one right before 年级 (一..十二 or
// 1..12), else the one right after a leading 初 or 高. ok is false for a
// name with no grade ("学前班", "住宿生", "3-1").
func Grade(class string) (grade int, ok bool) {
	class = strings.TrimSpace(class)
	if i := strings.Index(class, "年级"); i > 0 {
		head := class[:i]
		n, size := lastNumeral(head)
		if n == 0 {
			return 0, false
		}
		switch before := head[:len(head)-size]; {
		case strings.HasSuffix(before, "初中") && n <= 3:
			n += 6
		case strings.HasSuffix(before, "高中") && n <= 3:
			n += 9
		}
		if n > MaxGrade {
			return 0, false
		}
		return n, true
	}
	for prefix, add := range map[string]int{"初": 6, "高": 9} {
		rest, found := strings.CutPrefix(class, prefix)
		if !found {
			continue
		}
		r, _ := utf8.DecodeRuneInString(rest)
		if n := cnDigits[r]; n >= 1 && n <= 3 {
			return n + add, true
		}
	}
	return 0, false
}

// lastNumeral returns the number written at the end of s (Arabic digits
// or Chinese 一..九, 十, 十一, 十二) and its length in bytes; 0 when s
// does not end in one.
func lastNumeral(s string) (n, size int) {
	i := len(s)
	for i > 0 && s[i-1] >= '0' && s[i-1] <= '9' {
		i--
	}
	if i < len(s) {
		if len(s)-i > 2 {
			return 0, 0
		}
		n, _ = strconv.Atoi(s[i:])
		return n, len(s) - i
	}
	// Chinese: an optional 十 and a digit, or 十 alone.
	r, w := utf8.DecodeLastRuneInString(s)
	if d, ok := cnDigits[r]; ok {
		if p, pw := utf8.DecodeLastRuneInString(s[:len(s)-w]); p == '十' {
			return 10 + d, w + pw
		}
		return d, w
	}
	if r == '十' {
		return 10, w
	}
	return 0, 0
}
