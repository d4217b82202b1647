package rostercsv

import "fmt"

// zhFormats gives the problems' messages in Chinese, keyed by the English
// format addf is called with; addf writes the Chinese first and the
// English after it ("性别无法识别… unknown gender: …"), as the console
// and kioskctl show every message. The Chinese formats take the same
// arguments (explicit indexes where they are reordered or not all used);
// string arguments found in zhWords are put in Chinese first.
var zhFormats = map[string]string{
	"unknown column: want 编号/id, 姓名/name, 性别/gender, 班级/class, 状态/status, 卡号/card, 留守类型/left_behind, or for N = 1 to %d 联系人N/contactN_name, 关系N/contactN_relation, 电话N/contactN_phone, 方式N/contactN_modes": "无法识别的列名，可用：编号、姓名、性别、班级、状态、卡号、留守类型，以及联系人N、关系N、电话N、方式N（N 为 1 到 %d）。",
	"unknown kind of left-behind: want 父母均外出, 父亲外出, 母亲外出, 单亲外出, 其他 (both_away, father_away, mother_away, one_away, other) or blank":                                                                        "留守类型无法识别，应为 父母均外出、父亲外出、母亲外出、单亲外出、其他 或留空。",
	"duplicate column: same as %s": "重复的列：与“%s”相同。",
	"missing column %s":            "缺少“%s”列。",
	"missing column %s%d/contact%d_%s: contact %d's columns come together": "缺少“%[1]s%[2]d”列：联系人%[2]d 的各列须一起出现。",
	"no contact columns: want at least 联系人1, 关系1 and 电话1":                  "没有联系人列：至少需要 联系人1、关系1 和 电话1。",
	"a value in a column without a header":                                 "没有列名的列里有内容。",
	"field %d: more fields than the header has (%d)":                       "第 %d 个字段：比表头的 %d 列还多。",
	"missing %s": "缺少%s。",
	"unknown gender: want 男, 女, M, F or blank":                                                           "性别无法识别，应为 男、女、M、F 或留空。",
	"unknown status: want 在校/active, 离校/left or blank":                                                   "状态无法识别，应为 在校、离校 或留空。",
	"card %d: in scientific notation (a spreadsheet turned it into a number): format the column as text": "第 %d 张卡：卡号被表格软件变成了科学计数法，请把该列设为“文本”格式。",
	"card %d: %s": "第 %[1]d 张卡的卡号无效。",
	"card %d: the same card twice in this row":                                                            "第 %d 张卡：本行重复填写了同一张卡。",
	"card %d: already given to the child on line %d":                                                      "第 %d 张卡：已登记给第 %d 行的学生。",
	"no contact: a child needs at least one approved contact":                                             "没有联系人：每名学生至少需要一位联系人。",
	"duplicate id: the same as line %d":                                                                   "编号重复：与第 %d 行相同。",
	"duplicate child: the same name and class as line %d (give both rows an id if they are two children)": "学生重复：与第 %d 行的姓名和班级相同（如是两名学生，请给两行都填编号）。",
	"modes for contact %d, who has no name, relationship or phone":                                        "联系人%d 填了方式，却没有姓名、关系或电话。",
	"missing %s of contact %d: a contact needs a name, a relationship and a phone":                        "联系人%[2]d 缺少%[1]s：联系人须有姓名、关系和电话。",
	"unknown relationship: want one of %s":                                                                "关系无法识别，请用常见称呼，如 父亲、母亲、爷爷、奶奶、外公、外婆、监护人。%.0[1]s",
}

// zhWords are the English words the formats take as arguments.
var zhWords = map[string]string{
	"id":           "编号",
	"name":         "姓名",
	"class":        "班级",
	"relationship": "关系",
	"phone":        "电话",
}

// zhMessage returns the Chinese of format with args, or "" when there is
// none.
func zhMessage(format string, args []any) string {
	zh, ok := zhFormats[format]
	if !ok {
		return ""
	}
	za := make([]any, len(args))
	for i, a := range args {
		if s, ok := a.(string); ok && zhWords[s] != "" {
			a = zhWords[s]
		}
		za[i] = a
	}
	return fmt.Sprintf(zh, za...)
}
