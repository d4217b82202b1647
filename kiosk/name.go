package kiosk

import "strings"

// GivenName returns the part of a child's name a parent's page shows: the
// given name without the family name for a Chinese name of three or more
// characters (王小明 -> 小明; compound family names such as 欧阳 are
// recognised), the first word of a name written with spaces, else the
// name itself (a two-character name such as 王明 stays whole).
func GivenName(name string) string {
	name = strings.TrimSpace(name)
	if i := strings.IndexByte(name, ' '); i > 0 {
		return name[:i]
	}
	r := []rune(name)
	if len(r) < 3 {
		return name
	}
	for _, fam := range compoundSurnames {
		if strings.HasPrefix(name, fam) && len(r) > 3 {
			return string(r[2:])
		}
	}
	return string(r[1:])
}

var compoundSurnames = []string{"欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "夏侯", "长孙", "宇文", "司徒", "端木", "独孤", "南宫", "西门"}
