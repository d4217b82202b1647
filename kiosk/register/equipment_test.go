package register_test

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk/register"
)

func TestWriteEquipmentCSV(t *testing.T) {
	loc, err := time.LoadLocation("Asia/Shanghai")
	require.NoError(t, err)
	at := time.Date(2026, 11, 29, 1, 30, 0, 0, time.UTC) // 09:30 in Shanghai
	rows := []register.Equipment{
		{Seq: 7, At: at, Device: "nfc1", Kind: "reader/mfrc522", Booth: "b1", Event: "fault",
			Detail: "open SPI port SPI9.0: no port", ClockSynced: true},
		{Seq: 9, At: at.Add(time.Hour), Device: "devices", Kind: "config", Event: "config_changed",
			Detail: "1 readers, 1 lights, 0 buttons, 0 relays", ClockSynced: true},
		{Seq: 12, At: at.Add(2 * time.Hour), Device: "=cmd", Kind: "light/gpio", Booth: "b1", Event: "unplugged",
			Detail: "reader simulated"},
	}
	var buf bytes.Buffer
	require.NoError(t, register.WriteEquipmentCSV(&buf, rows, loc))
	assert.Equal(t, "\uFEFF序号,日期,时间,设备,类型,话机,事件,说明\r\n"+
		"1,2026-11-29,09:30:00,nfc1,reader/mfrc522,b1,故障,open SPI port SPI9.0: no port\r\n"+
		"2,2026-11-29,10:30:00,devices,config,,配置变更,\"读卡器 1 个，指示灯 1 个，按钮 0 个，继电器 0 个（1 readers, 1 lights, 0 buttons, 0 relays）\"\r\n"+
		"3,2026-11-29,11:30:00,'=cmd,light/gpio,b1,unplugged,reader 模拟设备 simulated；时钟未同步\r\n",
		buf.String(), "numbered from 1 (not journal seqs), local times, words, formula guard, unsynced clock")
	assert.Equal(t, register.EquipmentHeader, []string{"序号", "日期", "时间", "设备", "类型", "话机", "事件", "说明"})
}
