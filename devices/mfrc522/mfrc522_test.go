package mfrc522_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"

	"github.com/qinqing/station/devices/mfrc522"
	"github.com/qinqing/station/devices/mfrc522/mfrc522test"
	"github.com/qinqing/station/kiosk"
)

// rig is a Dev on a fake chip with a virtual clock; onSleep, if set, runs
// after every Sleep of the driver, so a scenario is driven in virtual time.
type rig struct {
	d       *mfrc522.Dev
	chip    *mfrc522test.Chip
	onSleep func()
}

func newRig(t testing.TB, o mfrc522.Opts, irq gpio.PinIn, prep func(*mfrc522test.Chip)) *rig {
	t.Helper()
	r := &rig{chip: mfrc522test.New(nil)}
	if prep != nil {
		prep(r.chip)
	}
	o.Now = r.chip.Clock.Now
	o.Sleep = func(d time.Duration) {
		r.chip.Clock.Sleep(d)
		if r.onSleep != nil {
			r.onSleep()
		}
	}
	var err error
	r.d, err = mfrc522.NewSPI(r.chip, r.chip.RST(), irq, &o)
	require.NoError(t, err, "init on a healthy chip")
	return r
}

// setup returns a Dev on a fresh fake chip with a virtual clock. prep runs
// before NewSPI.
func setup(t testing.TB, o mfrc522.Opts, irq gpio.PinIn, prep func(*mfrc522test.Chip)) (*mfrc522.Dev, *mfrc522test.Chip) {
	t.Helper()
	r := newRig(t, o, irq, prep)
	return r.d, r.chip
}

var (
	uid4  = []byte{0x3A, 0x5C, 0x71, 0x0E}
	uid7  = []byte{0x04, 0x1F, 0x62, 0xA2, 0x33, 0x40, 0x81}
	uid10 = []byte{0x08, 0x88, 0x17, 0x29, 0x3B, 0x4D, 0x5F, 0x61, 0x73, 0x85}
)

func TestReadUID(t *testing.T) {
	tests := []struct {
		name    string
		cards   []*mfrc522test.Card
		want    []byte
		wantErr error
	}{
		{"4-byte uid, bcc removed", []*mfrc522test.Card{{UID: uid4}}, uid4, nil},
		{"7-byte uid, cascade tag removed", []*mfrc522test.Card{{UID: uid7}}, uid7, nil},
		{"10-byte uid, two cascade tags removed", []*mfrc522test.Card{{UID: uid10}}, uid10, nil},
		{"ultralight sak", []*mfrc522test.Card{{UID: uid7, SAK: 0x00}}, uid7, nil},
		{"no card", nil, nil, mfrc522.ErrNoCard},
		{"bcc mismatch", []*mfrc522test.Card{{UID: uid4, Fault: mfrc522test.BadBCC}}, nil, mfrc522.ErrBCC},
		{"bcc mismatch at cl2", []*mfrc522test.Card{{UID: uid7, Fault: mfrc522test.BadBCC}}, nil, mfrc522.ErrBCC},
		{"pulled after atqa", []*mfrc522test.Card{{UID: uid4, Fault: mfrc522test.Vanish, FaultAfter: 1}}, nil, mfrc522.ErrTimeout},
		{"pulled before select", []*mfrc522test.Card{{UID: uid4, Fault: mfrc522test.Vanish, FaultAfter: 2}}, nil, mfrc522.ErrTimeout},
		{"pulled during cl2 of 7-byte", []*mfrc522test.Card{{UID: uid7, Fault: mfrc522test.Vanish, FaultAfter: 3}}, nil, mfrc522.ErrTimeout},
		{"pulled during cl3 of 10-byte", []*mfrc522test.Card{{UID: uid10, Fault: mfrc522test.Vanish, FaultAfter: 5}}, nil, mfrc522.ErrTimeout},
		{"garbled anticollision frame", []*mfrc522test.Card{{UID: uid4, Fault: mfrc522test.Garble, FaultAfter: 1}}, nil, mfrc522.ErrCollision},
		{"garbled sak", []*mfrc522test.Card{{UID: uid7, Fault: mfrc522test.Garble, FaultAfter: 2}}, nil, mfrc522.ErrCollision},
		{"two cards", []*mfrc522test.Card{{UID: uid4}, {UID: uid7}}, nil, mfrc522.ErrCollision},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, chip := setup(t, mfrc522.Opts{}, nil, nil)
			for _, c := range tc.cards {
				chip.Place(c)
			}
			got, err := d.ReadUID(context.Background())
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				assert.Nil(t, got, "no uid with an error")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
			assert.Equal(t, "HALT", tc.cards[0].State(), "card sent HLTA after the read")
		})
	}
}

func TestReadUIDHaltedCard(t *testing.T) {
	for _, tc := range []struct {
		name       string
		wakeHalted bool
		wantErr    error
	}{
		{"reqa leaves a halted card alone", false, mfrc522.ErrNoCard},
		{"wupa wakes it", true, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, chip := setup(t, mfrc522.Opts{WakeHalted: tc.wakeHalted}, nil, nil)
			card := &mfrc522test.Card{UID: uid4}
			chip.Place(card)
			_, err := d.ReadUID(context.Background())
			require.NoError(t, err, "first read")
			got, err := d.ReadUID(context.Background())
			if tc.wantErr != nil {
				require.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, uid4, got)
		})
	}
}

func TestCardBackAfterLeavingField(t *testing.T) {
	d, chip := setup(t, mfrc522.Opts{}, nil, nil)
	card := &mfrc522test.Card{UID: uid4}
	chip.Place(card)
	_, err := d.ReadUID(context.Background())
	require.NoError(t, err)
	chip.Remove(card)
	chip.Place(card)
	got, err := d.ReadUID(context.Background())
	require.NoError(t, err, "a card back in the field is IDLE and answers REQA")
	assert.Equal(t, uid4, got)
}

func TestIRQ(t *testing.T) {
	t.Run("edges arrive", func(t *testing.T) {
		pin := mfrc522test.NewIRQPin()
		d, chip := setup(t, mfrc522.Opts{}, pin, func(c *mfrc522test.Chip) { c.AttachIRQ(pin) })
		for range 5 {
			_, err := d.ReadUID(context.Background())
			require.ErrorIs(t, err, mfrc522.ErrNoCard)
		}
		chip.Place(&mfrc522test.Card{UID: uid7})
		got, err := d.ReadUID(context.Background())
		require.NoError(t, err)
		assert.Equal(t, uid7, got)
		assert.Equal(t, kiosk.Health{Status: kiosk.HealthOK}, d.Health())
	})
	t.Run("never fires", func(t *testing.T) {
		pin := mfrc522test.NewIRQPin() // not attached: no edge ever comes
		d, chip := setup(t, mfrc522.Opts{}, pin, nil)
		card := &mfrc522test.Card{UID: uid4}
		chip.Place(card)
		start := chip.Clock.Now()
		got, err := d.ReadUID(context.Background())
		require.NoError(t, err, "read by polling while the irq is still trusted")
		assert.Equal(t, uid4, got)
		assert.Less(t, chip.Clock.Now().Sub(start), 50*time.Millisecond, "read within one poll period")
		assert.Equal(t, kiosk.Health{Status: kiosk.HealthDegraded, Reason: "irq degraded"}, d.Health())

		chip.Remove(card)
		chip.Place(card)
		start = chip.Clock.Now()
		got, err = d.ReadUID(context.Background())
		require.NoError(t, err, "read by polling after degrading")
		assert.Equal(t, uid4, got)
		assert.Less(t, chip.Clock.Now().Sub(start), 50*time.Millisecond, "read within one poll period")
		assert.Equal(t, mfrc522.HealthIRQDegraded, d.Health().Reason)
	})
}

func TestWarmRestart(t *testing.T) {
	d, chip := setup(t, mfrc522.Opts{}, nil, func(c *mfrc522test.Chip) { c.WarmRestart() })
	assert.Equal(t, 1, chip.Resets(), "init pulses RST")
	assert.Equal(t, byte(0x83), chip.Reg(0x14), "antenna on")
	assert.Equal(t, byte(0x80), chip.Reg(0x2A), "timer TAuto")
	assert.Equal(t, byte(0x3D), chip.Reg(0x11), "crc preset 0x6363")
	assert.Equal(t, byte(0x40), chip.Reg(0x15), "100% ask")
	assert.Equal(t, kiosk.HealthOK, d.Health().Status)
	chip.Place(&mfrc522test.Card{UID: uid4})
	got, err := d.ReadUID(context.Background())
	require.NoError(t, err)
	assert.Equal(t, uid4, got)
}

func TestWarmRestartWithoutRST(t *testing.T) {
	chip := mfrc522test.New(nil)
	chip.WarmRestart()
	o := mfrc522.Opts{Now: chip.Clock.Now, Sleep: chip.Clock.Sleep}
	d, err := mfrc522.NewSPI(chip, gpio.INVALID, nil, &o)
	require.NoError(t, err, "soft reset alone recovers")
	assert.Equal(t, 0, chip.Resets())
	chip.Place(&mfrc522test.Card{UID: uid10})
	got, err := d.ReadUID(context.Background())
	require.NoError(t, err)
	assert.Equal(t, uid10, got)
}

func TestVersion(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version byte
		wantErr string
	}{
		{"mfrc522 1.0", 0x91, ""},
		{"mfrc522 2.0", 0x92, ""},
		{"fm17522 clone", 0x88, ""},
		{"unknown clone", 0x12, "0x12"},
		{"nothing on the bus, low", 0x00, "0x00"},
		{"nothing on the bus, floating", 0xFF, "0xff"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chip := mfrc522test.New(nil)
			chip.SetVersion(tc.version)
			o := mfrc522.Opts{Now: chip.Clock.Now, Sleep: chip.Clock.Sleep}
			d, err := mfrc522.NewSPI(chip, chip.RST(), nil, &o)
			require.NotNil(t, d, "a Dev is returned even when init fails")
			if tc.wantErr == "" {
				require.NoError(t, err)
				assert.Equal(t, kiosk.HealthOK, d.Health().Status)
				return
			}
			require.ErrorIs(t, err, mfrc522.ErrVersion)
			assert.Contains(t, err.Error(), tc.wantErr)
			assert.Equal(t, kiosk.HealthFault, d.Health().Status)
			_, err = d.ReadUID(context.Background())
			assert.ErrorIs(t, err, mfrc522.ErrNotReady)
		})
	}
}

func TestDeadChip(t *testing.T) {
	for _, v := range []byte{0x00, 0xFF} {
		d, chip := setup(t, mfrc522.Opts{}, nil, nil)
		chip.Kill(v)
		_, err := d.ReadUID(context.Background())
		require.Error(t, err, "dead chip 0x%02x", v)
		assert.NotErrorIs(t, err, mfrc522.ErrNoCard, "a dead chip is not 'no card'")
	}
}

func TestHalt(t *testing.T) {
	d, chip := setup(t, mfrc522.Opts{}, nil, nil)
	require.NoError(t, d.Halt())
	require.NotPanics(t, func() { require.NoError(t, d.Halt(), "second halt") })
	assert.Equal(t, byte(0), chip.Reg(0x14)&0x03, "antenna off")
	assert.Equal(t, byte(0x10), chip.Reg(0x01)&0x10, "soft power-down")
	_, err := d.ReadUID(context.Background())
	assert.ErrorIs(t, err, mfrc522.ErrHalted)
	assert.ErrorIs(t, d.Run(context.Background(), func([]byte) {}), mfrc522.ErrHalted)

	require.NoError(t, d.Init(), "init after halt")
	chip.Place(&mfrc522test.Card{UID: uid4})
	got, err := d.ReadUID(context.Background())
	require.NoError(t, err)
	assert.Equal(t, uid4, got)
}

func TestOpts(t *testing.T) {
	for _, tc := range []struct {
		name string
		o    mfrc522.Opts
	}{
		{"gain", mfrc522.Opts{AntennaGain: 40}},
		{"speed", mfrc522.Opts{SPISpeed: 20_000_000_000_000}},
		{"negative poll", mfrc522.Opts{PollPeriod: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := mfrc522.NewSPI(mfrc522test.New(nil), nil, nil, &tc.o)
			assert.Error(t, err)
			assert.Nil(t, d)
		})
	}
}

// syncBuffer is a bytes.Buffer safe for the Run goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// run runs Run until the virtual clock has advanced by span or found has
// seen want UIDs; during, if set, is called after each sleep with the
// virtual time elapsed. It returns the UIDs found.
func (r *rig) run(t *testing.T, span time.Duration, want int, during func(el time.Duration)) [][]byte {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var uids [][]byte
	start := r.chip.Clock.Now()
	r.onSleep = func() {
		el := r.chip.Clock.Now().Sub(start)
		if during != nil {
			during(el)
		}
		if el > span {
			cancel()
		}
	}
	defer func() { r.onSleep = nil }()
	err := r.d.Run(ctx, func(uid []byte) {
		uids = append(uids, uid)
		if len(uids) >= want {
			cancel()
		}
	})
	require.NoError(t, err)
	return uids
}

func TestRun(t *testing.T) {
	r := newRig(t, mfrc522.Opts{}, nil, nil)
	card := &mfrc522test.Card{UID: uid7}
	r.chip.PlaceAt(r.chip.Clock.Now().Add(120*time.Millisecond), card)
	r.chip.RemoveAt(r.chip.Clock.Now().Add(400*time.Millisecond), card)
	r.chip.PlaceAt(r.chip.Clock.Now().Add(600*time.Millisecond), card)
	uids := r.run(t, time.Second, 10, nil)
	assert.Equal(t, [][]byte{uid7, uid7}, uids, "one read per presentation (HLTA in between)")
}

func TestRunRecoversDeadReader(t *testing.T) {
	logs := &syncBuffer{}
	r := newRig(t, mfrc522.Opts{Logger: slog.New(slog.NewTextHandler(logs, nil))}, nil, nil)
	card := &mfrc522test.Card{UID: uid4}
	var sawFault bool
	hung := false
	uids := r.run(t, 20*time.Second, 1, func(el time.Duration) {
		if !hung && el > 200*time.Millisecond {
			hung = true
			r.chip.Hang(0x00) // latched up until the next RST pulse
		}
		if r.d.Health().Status == kiosk.HealthFault {
			sawFault = true
			// Place the card only once the fault was seen, so its read
			// proves the reader came back.
			r.chip.Place(card)
		}
	})
	assert.True(t, sawFault, "health went to fault while the chip answered 0x00")
	assert.Equal(t, [][]byte{uid4}, uids, "card read after recovery")
	assert.Equal(t, 2, r.chip.Resets(), "one RST at start, one on recovery")
	assert.Equal(t, kiosk.HealthOK, r.d.Health().Status)
	assert.Contains(t, logs.String(), "reader dead")
	assert.Contains(t, logs.String(), "reader recovered")
}

func TestRunDeadReaderBackoff(t *testing.T) {
	r := newRig(t, mfrc522.Opts{}, nil, nil)
	r.chip.Kill(0xFF)
	uids := r.run(t, 2*time.Minute, 1, nil)
	assert.Empty(t, uids)
	h := r.d.Health()
	assert.Equal(t, kiosk.HealthFault, h.Status)
	assert.Contains(t, h.Reason, "0xff", "reason names the version value")
	// Backoff 0.5, 1, 2, 4, 8, 16, 30, 30, 30 s...: about 10 resets in 2 minutes,
	// where retrying at every 50 ms poll would be 2400.
	assert.GreaterOrEqual(t, r.chip.Resets(), 6)
	assert.LessOrEqual(t, r.chip.Resets(), 14)
}

func TestRunSPIErrorRecovers(t *testing.T) {
	r := newRig(t, mfrc522.Opts{}, nil, nil)
	card := &mfrc522test.Card{UID: uid10}
	failing := false
	var sawFault bool
	uids := r.run(t, 30*time.Second, 1, func(el time.Duration) {
		switch {
		case !failing && el > 100*time.Millisecond && el < time.Second:
			failing = true
			r.chip.FailTx(errors.New("spidev: input/output error"))
		case failing && el > 3*time.Second:
			failing = false
			r.chip.FailTx(nil)
			r.chip.Place(card)
		}
		if r.d.Health().Status == kiosk.HealthFault {
			sawFault = true
		}
	})
	assert.True(t, sawFault, "spi errors mark the reader faulty")
	assert.Equal(t, [][]byte{uid10}, uids, "read after the bus came back")
	assert.Equal(t, kiosk.HealthOK, r.d.Health().Status)
}

func TestIdentity(t *testing.T) {
	for _, tc := range []struct {
		name    string
		version byte
		want    string
	}{
		{"mfrc522 1.0", 0x91, "VersionReg 0x91 (MFRC522 1.0)"},
		{"mfrc522 2.0", 0x92, "VersionReg 0x92 (MFRC522 2.0)"},
		{"fm17522 clone", 0x88, "VersionReg 0x88 (FM17522)"},
		{"unknown version: no identity", 0x12, ""},
		{"nothing on the bus: no identity", 0xFF, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			chip := mfrc522test.New(nil)
			chip.SetVersion(tc.version)
			o := mfrc522.Opts{Now: chip.Clock.Now, Sleep: chip.Clock.Sleep}
			d, _ := mfrc522.NewSPI(chip, chip.RST(), nil, &o)
			require.NotNil(t, d)
			assert.Equal(t, tc.want, d.Identity())
		})
	}
}

// TestIdentityReplacedChip: a reader that dies and comes back as another
// chip version (a technician swapped the module) shows the new identity
// once it answers; while dead it keeps the last one.
func TestIdentityReplacedChip(t *testing.T) {
	r := newRig(t, mfrc522.Opts{}, nil, nil)
	require.Equal(t, "VersionReg 0x92 (MFRC522 2.0)", r.d.Identity())
	card := &mfrc522test.Card{UID: uid4}
	var killed, swapped bool
	var whileDead string
	uids := r.run(t, 20*time.Second, 1, func(el time.Duration) {
		switch {
		case !killed && el > 200*time.Millisecond:
			killed = true
			r.chip.Kill(0x00)
		case killed && !swapped && r.d.Health().Status == kiosk.HealthFault:
			swapped = true
			whileDead = r.d.Identity()
			r.chip.SetVersion(0x88)
			r.chip.Revive()
			r.chip.Place(card)
		}
	})
	require.True(t, swapped, "the reader was seen dead")
	assert.Equal(t, "VersionReg 0x92 (MFRC522 2.0)", whileDead, "a dead reader keeps the last identity")
	assert.Equal(t, [][]byte{uid4}, uids, "the new chip reads")
	assert.Equal(t, "VersionReg 0x88 (FM17522)", r.d.Identity())
}

// TestIdentityHotSwap: a chip swapped between two probes, with no fault in
// between, shows its identity after the next probe.
func TestIdentityHotSwap(t *testing.T) {
	r := newRig(t, mfrc522.Opts{ProbePeriod: 500 * time.Millisecond}, nil, nil)
	swapped := false
	r.run(t, 2*time.Second, 1, func(el time.Duration) {
		if !swapped && el > 100*time.Millisecond {
			swapped = true
			r.chip.SetVersion(0x91)
		}
	})
	assert.Equal(t, kiosk.HealthOK, r.d.Health().Status)
	assert.Equal(t, "VersionReg 0x91 (MFRC522 1.0)", r.d.Identity())
}
