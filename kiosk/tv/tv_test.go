package tv_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	"github.com/qinqing/station/devices/relay"
	"github.com/qinqing/station/kiosk"
	"github.com/qinqing/station/kiosk/tv"
)

var shanghai = time.FixedZone("CST", 8*3600)

func good() tv.Request {
	return tv.Request{Programme: "CCTV-少儿", Category: "少儿", Class: "三年级2班", Headcount: 23, Teacher: "王老师"}
}

func TestRequestValidate(t *testing.T) {
	tests := []struct {
		name string
		edit func(*tv.Request)
		want []string // substrings of the message; nil means valid
	}{
		{"valid", func(*tv.Request) {}, nil},
		{"spaces trimmed", func(r *tv.Request) { r.Category = " 新闻 "; r.Teacher = " 李老师 " }, nil},
		{"every category", func(r *tv.Request) { r.Category = "安全教育" }, nil},
		{"unknown category", func(r *tv.Request) { r.Category = "体育" }, []string{"类别 \"体育\" 不在列表中"}},
		{"missing category", func(r *tv.Request) { r.Category = "" }, []string{"请选择类别"}},
		{"zero headcount", func(r *tv.Request) { r.Headcount = 0 }, []string{"人数必须大于0"}},
		{"negative headcount", func(r *tv.Request) { r.Headcount = -3 }, []string{"人数必须大于0"}},
		{"huge headcount", func(r *tv.Request) { r.Headcount = 501 }, []string{"人数不能超过500"}},
		{"no teacher", func(r *tv.Request) { r.Teacher = "  " }, []string{"请填写组织教师"}},
		{"no programme", func(r *tv.Request) { r.Programme = "" }, []string{"请填写频道/节目"}},
		{"no class", func(r *tv.Request) { r.Class = "" }, []string{"请填写观看班级"}},
		{"long note", func(r *tv.Request) { r.Note = strings.Repeat("备", 201) }, []string{"备注太长"}},
		{"all at once", func(r *tv.Request) { *r = tv.Request{} }, []string{"频道/节目", "类别", "观看班级", "人数", "组织教师"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := good()
			tc.edit(&r)
			err := r.Validate()
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
			for _, w := range tc.want {
				assert.Contains(t, kiosk.ErrorMessage(err), w)
			}
		})
	}
}

func TestParseCurfew(t *testing.T) {
	tests := []struct {
		in      string
		want    tv.Curfew
		wantErr bool
	}{
		{"21:00", 21 * 60, false},
		{" 20:30 ", 20*60 + 30, false},
		{"24:00", 24 * 60, false},
		{"", 0, false},
		{"00:00", 0, true},
		{"9:00", 0, true},
		{"21:60", 0, true},
		{"25:00", 0, true},
		{"24:01", 0, true},
		{"21h", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.in, func(t *testing.T) {
			c, err := tv.ParseCurfew(tc.in)
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, c)
			assert.Equal(t, strings.TrimSpace(tc.in), c.String())
		})
	}
}

func TestCurfewDeadline(t *testing.T) {
	c := tv.Curfew(21 * 60)
	d, ok := c.Deadline(time.Date(2026, 3, 2, 19, 0, 0, 0, shanghai), shanghai)
	assert.True(t, ok)
	assert.Equal(t, time.Date(2026, 3, 2, 21, 0, 0, 0, shanghai), d)
	// 13:30 UTC is 21:30 in Shanghai: past the curfew there.
	_, ok = c.Deadline(time.Date(2026, 3, 2, 13, 30, 0, 0, time.UTC), shanghai)
	assert.False(t, ok, "21:30 local is after the curfew")
	d, ok = tv.Curfew(24*60).Deadline(time.Date(2026, 3, 2, 23, 59, 0, 0, shanghai), shanghai)
	assert.True(t, ok)
	assert.Equal(t, time.Date(2026, 3, 3, 0, 0, 0, 0, shanghai), d, "24:00 is the next midnight")
}

// memJournal is an in-memory tv.Journal.
type memJournal struct {
	mu      sync.Mutex
	started []tv.Session
	ended   []tv.Session
	beats   map[string]time.Time
	failEnd error
}

func (j *memJournal) TVStarted(_ context.Context, s tv.Session) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.started = append(j.started, s)
	if j.beats == nil {
		j.beats = map[string]time.Time{}
	}
	j.beats[s.ID] = s.Started
	return nil
}

func (j *memJournal) TVEnded(_ context.Context, s tv.Session) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.failEnd != nil {
		return j.failEnd
	}
	j.ended = append(j.ended, s)
	delete(j.beats, s.ID)
	return nil
}

func (j *memJournal) TVHeartbeat(_ context.Context, id string, at time.Time) error {
	j.mu.Lock()
	defer j.mu.Unlock()
	if _, ok := j.beats[id]; !ok {
		return kiosk.Errorf(kiosk.ENOTFOUND, "no session %s", id)
	}
	j.beats[id] = at
	return nil
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time          { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

type relayRig struct {
	pin *gpiotest.Pin
	dev *relay.Dev
}

// newRelay makes an active-low relay (like most relay boards) on a
// gpiotest pin, so that "off" is a high level.
func newRelay(t *testing.T, clk *clock) relayRig {
	t.Helper()
	pin := &gpiotest.Pin{N: "GPIO24", L: gpio.Low}
	d, err := relay.New("GPIO24", &relay.Opts{ActiveLow: true, Name: "tv1", Now: clk.Now,
		Logger: slog.New(slog.DiscardHandler), Lookup: func(string) gpio.PinIO { return pin }})
	require.NoError(t, err)
	return relayRig{pin, d}
}

func newService(t *testing.T, clk *clock, j tv.Journal, tvs ...tv.TV) *tv.Service {
	t.Helper()
	s, err := tv.New(tvs, j, tv.Opts{Now: clk.Now, Location: shanghai, Rand: bytes.NewReader(bytes.Repeat([]byte{0xab}, 1024))})
	require.NoError(t, err)
	return s
}

var _ tv.Power = (*relay.Dev)(nil)

func TestCurfewEndsSessionWithRelayOff(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 2, 20, 15, 0, 0, shanghai)}
	r := newRelay(t, clk)
	require.Equal(t, gpio.High, r.pin.Read(), "active-low relay starts off (pin high)")
	j := &memJournal{}
	s := newService(t, clk, j, tv.TV{Name: "tv1", Room: "活动室", Power: r.dev, PowerKind: tv.PowerRelay, Curfew: 21 * 60})

	ses, err := s.Start(ctx, good())
	require.NoError(t, err)
	assert.Equal(t, gpio.Low, r.pin.Read(), "the TV is on: pin low")
	assert.Equal(t, time.Date(2026, 3, 2, 21, 0, 0, 0, shanghai), ses.Curfew)
	assert.Equal(t, "tv1", ses.TV, "the only TV is chosen")
	assert.Equal(t, tv.PowerRelay, ses.Power)
	require.Len(t, j.started, 1)

	clk.Advance(40 * time.Minute) // 20:55
	ended, err := s.Check(ctx)
	require.NoError(t, err)
	assert.Empty(t, ended, "before the curfew nothing ends")
	assert.Equal(t, gpio.Low, r.pin.Read(), "still on at 20:55")
	assert.Equal(t, clk.Now(), j.beats[ses.ID], "the open session was heartbeaten")

	clk.Advance(5*time.Minute + time.Second) // 21:00:01
	ended, err = s.Check(ctx)
	require.NoError(t, err)
	require.Len(t, ended, 1)
	assert.Equal(t, tv.CauseCurfew, ended[0].Cause)
	assert.Equal(t, gpio.High, r.pin.Read(), "the curfew turned the TV off: pin high")
	assert.False(t, r.dev.State())
	require.Len(t, j.ended, 1)
	assert.Equal(t, tv.CauseCurfew, j.ended[0].Cause, "journaled as ended by curfew")
	assert.Equal(t, ses.ID, j.ended[0].ID)
	assert.Equal(t, 45*time.Minute+time.Second, j.ended[0].Duration)
	assert.Nil(t, s.Status()[0].Session)

	_, err = s.Start(ctx, good())
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err), "no new session after the curfew")
	assert.Equal(t, gpio.High, r.pin.Read(), "a refused start leaves the TV off")
}

func TestStartStop(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 2, 16, 0, 0, 0, shanghai)}
	r := newRelay(t, clk)
	j := &memJournal{}
	s := newService(t, clk, j,
		tv.TV{Name: "tv1", Power: r.dev, PowerKind: tv.PowerRelay, Curfew: 21 * 60},
		tv.TV{Name: "tv2"})

	_, err := s.Start(ctx, good())
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err), "two TVs: the name is required")
	req := good()
	req.TV = "tv9"
	_, err = s.Start(ctx, req)
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))
	req.TV, req.Headcount = "tv1", 0
	_, err = s.Start(ctx, req)
	assert.Equal(t, kiosk.EINVALID, kiosk.ErrorCode(err))
	assert.Equal(t, gpio.High, r.pin.Read(), "an invalid request switches nothing")

	req.Headcount = 12
	ses, err := s.Start(ctx, req)
	require.NoError(t, err)
	_, err = s.Start(ctx, req)
	assert.Equal(t, kiosk.ECONFLICT, kiosk.ErrorCode(err), "one session per TV")

	req.TV = "tv2"
	ses2, err := s.Start(ctx, req)
	require.NoError(t, err)
	assert.Equal(t, tv.PowerNone, ses2.Power)
	assert.True(t, ses2.Curfew.IsZero(), "tv2 has no curfew")

	st := s.Status()
	require.Len(t, st, 2)
	assert.True(t, st[0].On)
	assert.Equal(t, "21:00", st[0].Curfew)
	require.NotNil(t, st[0].Session)
	assert.Equal(t, ses.ID, st[0].Session.ID)

	clk.Advance(30 * time.Minute)
	got, err := s.Stop(ctx, "tv1")
	require.NoError(t, err)
	assert.Equal(t, tv.CauseStop, got.Cause)
	assert.Equal(t, 30*time.Minute, got.Duration)
	assert.Equal(t, gpio.High, r.pin.Read(), "stop turns the TV off")
	_, err = s.Stop(ctx, "tv1")
	assert.Equal(t, kiosk.ENOTFOUND, kiosk.ErrorCode(err))

	require.NoError(t, s.Close(ctx))
	require.Len(t, j.ended, 2)
	assert.Equal(t, tv.CauseShutdown, j.ended[1].Cause, "Close ends tv2's session")
}

type failingPower struct{ err error }

func (p failingPower) On() error  { return p.err }
func (p failingPower) Off() error { return p.err }

func TestPowerFailureIsRecordedNotFatal(t *testing.T) {
	ctx := context.Background()
	clk := &clock{t: time.Date(2026, 3, 2, 16, 0, 0, 0, shanghai)}
	j := &memJournal{}
	s := newService(t, clk, j, tv.TV{Name: "tv1", Power: failingPower{errors.New("no adapter")}, PowerKind: tv.PowerCEC})
	ses, err := s.Start(ctx, good())
	require.NoError(t, err)
	assert.Equal(t, "no adapter", ses.PowerError)
	assert.Equal(t, "no adapter", s.Status()[0].PowerError)

	j.failEnd = errors.New("disk full")
	_, err = s.Stop(ctx, "")
	require.Error(t, err)
	assert.NotNil(t, s.Status()[0].Session, "a session whose end was not journaled stays open")
	j.failEnd = nil
	got, err := s.Stop(ctx, "")
	require.NoError(t, err)
	assert.Equal(t, "no adapter", got.PowerError)
}

func TestNewRefusesDuplicates(t *testing.T) {
	_, err := tv.New([]tv.TV{{Name: "a"}, {Name: "a"}}, &memJournal{}, tv.Opts{})
	assert.Error(t, err)
	_, err = tv.New([]tv.TV{{}}, &memJournal{}, tv.Opts{})
	assert.Error(t, err)
}
