package ui

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/qinqing/station/kiosk"
)

// fakeDevices answers the device API from fixed values and records what
// it was asked.
type fakeDevices struct {
	uid      string
	booths   []string
	deadline bool // whether TestReader's ctx had a deadline
}

func (f *fakeDevices) Devices() []DeviceInfo {
	return []DeviceInfo{{Name: "nfc1", Type: "reader", Kind: "mfrc522", Booth: "b1", Health: kiosk.Health{Status: kiosk.HealthFault, Reason: "no SPI"}}}
}

func (f *fakeDevices) TestLights(ctx context.Context, booth string) ([]kiosk.LightState, error) {
	f.booths = append(f.booths, booth)
	return []kiosk.LightState{kiosk.LightOff, kiosk.LightIdle}, nil
}

func (f *fakeDevices) TestReader(ctx context.Context, booth string) (string, error) {
	f.booths = append(f.booths, booth)
	_, f.deadline = ctx.Deadline()
	if f.uid == "" {
		<-ctx.Done()
		return "", kiosk.Errorf(kiosk.ENOTFOUND, "no card was read")
	}
	return f.uid, nil
}

func (f *fakeDevices) TestButton(ctx context.Context, booth string) (string, error) {
	f.booths = append(f.booths, booth)
	return "help1", nil
}

func TestDeviceAPI(t *testing.T) {
	devs := &fakeDevices{uid: "026F6C3A"}
	_, _, ts := newTestServer(t, Opts{Devices: devs})

	code, body := adminRequest(t, ts, "GET", "/api/devices", testToken, "")
	require.Equal(t, http.StatusOK, code, "%s", body)
	var list DevicesResponse
	require.NoError(t, json.Unmarshal(body, &list))
	assert.Equal(t, devs.Devices(), list.Devices)

	code, body = adminRequest(t, ts, "POST", "/api/devices/test/reader", testToken, `{"booth":"b2","timeout":"5s"}`)
	require.Equal(t, http.StatusOK, code, "%s", body)
	var rd ReaderTestResponse
	require.NoError(t, json.Unmarshal(body, &rd))
	assert.Equal(t, ReaderTestResponse{Booth: "b2", UID: "026F6C3A", Hex: "026F6C3A", Dec8H10D: "0040856634", Reversed: "3A6C6F02"}, rd)
	assert.True(t, devs.deadline, "the wait is bounded")

	code, body = adminRequest(t, ts, "POST", "/api/devices/test/lights", testToken, `{}`)
	require.Equal(t, http.StatusOK, code, "%s", body)
	assert.JSONEq(t, `{"booth":"b1","states":["off","idle"]}`, string(body), "an empty booth is the first")

	code, body = adminRequest(t, ts, "POST", "/api/devices/test/button", testToken, `{"booth":"b1"}`)
	require.Equal(t, http.StatusOK, code, "%s", body)
	assert.JSONEq(t, `{"booth":"b1","button":"help1"}`, string(body))
	assert.Equal(t, []string{"b2", "b1", "b1"}, devs.booths)

	for _, tc := range []struct {
		name, method, path, token, body string
		code                            int
	}{
		{"no token", "GET", "/api/devices", "", "", http.StatusUnauthorized},
		{"unknown booth", "POST", "/api/devices/test/reader", testToken, `{"booth":"b9"}`, http.StatusNotFound},
		{"timeout too long", "POST", "/api/devices/test/reader", testToken, `{"booth":"b1","timeout":"1h"}`, http.StatusBadRequest},
		{"unknown field", "POST", "/api/devices/test/reader", testToken, `{"booth":"b1","uid":"x"}`, http.StatusBadRequest},
		{"unknown test", "POST", "/api/devices/test/door", testToken, `{}`, http.StatusNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, body := adminRequest(t, ts, tc.method, tc.path, tc.token, tc.body)
			assert.Equal(t, tc.code, code, "%s", body)
		})
	}

	devs.uid = ""
	start := time.Now()
	code, _ = adminRequest(t, ts, "POST", "/api/devices/test/reader", testToken, `{"booth":"b1","timeout":"50ms"}`)
	assert.Equal(t, http.StatusNotFound, code, "no card within the timeout")
	assert.Less(t, time.Since(start), 5*time.Second, "the timeout is applied")
}

func TestDeviceAPIWithoutDevices(t *testing.T) {
	_, _, ts := newTestServer(t, Opts{})
	code, _ := adminRequest(t, ts, "GET", "/api/devices", testToken, "")
	assert.Equal(t, http.StatusNotFound, code)
	code, _ = adminRequest(t, ts, "POST", "/api/devices/test/lights", testToken, `{}`)
	assert.Equal(t, http.StatusNotFound, code)
}
