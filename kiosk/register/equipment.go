package register

import (
	"encoding/csv"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// EquipmentHeader is the equipment register's header (设备维护/增添/核减记录),
// in column order: the console's page, CSV and XLSX and `kioskctl devices
// log` all use it.
var EquipmentHeader = []string{"序号", "日期", "时间", "设备", "类型", "话机", "事件", "说明"}

// equipmentWords are the register's event words.
var equipmentWords = map[string]string{
	"attached":       "增添/接入",
	"fault":          "故障",
	"recovered":      "修复",
	"replaced":       "更换",
	"config_changed": "配置变更",
	"removed":        "核减",
}

// EquipmentRow is row n (1-based, the register's 序号) of the equipment
// register for e, in EquipmentHeader's columns: date and time in loc
// (time.Local when nil), the event in words (an unknown event as
// journaled), the detail in Chinese and English (EquipmentDetail), with
// 时钟未同步 when the entry's clock was not synced. Text cells that start
// with = + - @ tab or CR get a leading apostrophe so that spreadsheets do
// not run them as formulas.
func EquipmentRow(n int, e Equipment, loc *time.Location) []string {
	if loc == nil {
		loc = time.Local
	}
	ev := equipmentWords[e.Event]
	if ev == "" {
		ev = e.Event
	}
	detail := EquipmentDetail(e.Detail)
	if !e.ClockSynced {
		detail = strings.TrimPrefix(detail+"；时钟未同步", "；")
	}
	at := e.At.In(loc)
	return []string{strconv.Itoa(n), at.Format("2006-01-02"), at.Format("15:04:05"),
		equipmentCell(e.Device), equipmentCell(e.Kind), equipmentCell(e.Booth), ev, equipmentCell(detail)}
}

// WriteEquipmentCSV writes rows as the equipment register's CSV (RFC
// 4180, CRLF): a UTF-8 BOM, the EquipmentHeader line, then EquipmentRow
// for each row in the given order, numbered from 1.
func WriteEquipmentCSV(w io.Writer, rows []Equipment, loc *time.Location) error {
	if _, err := io.WriteString(w, bom); err != nil {
		return fmt.Errorf("write equipment csv: bom: %w", err)
	}
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(EquipmentHeader); err != nil {
		return fmt.Errorf("write equipment csv: header: %w", err)
	}
	for i, r := range rows {
		if err := cw.Write(EquipmentRow(i+1, r, loc)); err != nil {
			return fmt.Errorf("write equipment csv: row %d: %w", i+1, err)
		}
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return fmt.Errorf("write equipment csv: flush: %w", err)
	}
	return nil
}

// equipmentCell neutralises spreadsheet formulas (OWASP CSV injection:
// = + - @ tab CR).
func equipmentCell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}

// equipDevicesRe matches the daemon's summary of a [devices] section
// (cmd/kioskd journalConfig): "[board B: ]1 readers, 1 lights, 0 buttons,
// 0 relays[, 2 scanners]".
var equipDevicesRe = regexp.MustCompile(`^(?:board (.+): )?(\d+) readers, (\d+) lights, (\d+) buttons, (\d+) relays(?:, (\d+) scanners)?$`)

// equipPhrases are the devices' health reasons (kiosk.Health.Reason) the
// register shows most, in Chinese before the English the daemon wrote.
var equipPhrases = []struct{ en, zh string }{
	{"simulated", "模拟设备"},
	{"port not opened yet", "串口尚未打开"},
	{"not opened yet", "尚未打开"},
	{"serial port lost", "串口断开"},
	{"serial port not open", "串口未打开"},
	{"bad checksum", "校验错误"},
	{"not grabbed: typed digits may reach the browser", "未独占：刷卡数字可能进入浏览器"},
	{"unreadable card number", "无法识别的卡号"},
	{"no answer", "无应答"},
}

// EquipmentDetail says an equipment event's detail, written by the
// daemon in English, in Chinese and English like the rest of the
// console: the devices summary in words, known health reasons with their
// Chinese first; anything else as written.
func EquipmentDetail(s string) string {
	if m := equipDevicesRe.FindStringSubmatch(s); m != nil {
		zh := fmt.Sprintf("读卡器 %s 个，指示灯 %s 个，按钮 %s 个，继电器 %s 个", m[2], m[3], m[4], m[5])
		if m[6] != "" {
			zh += fmt.Sprintf("，扫码枪 %s 个", m[6])
		}
		if m[1] != "" {
			zh = "主板 " + m[1] + "：" + zh
		}
		return zh + "（" + s + "）"
	}
	for _, p := range equipPhrases {
		if i := strings.Index(s, p.en); i >= 0 {
			return s[:i] + p.zh + " " + s[i:]
		}
	}
	return s
}
