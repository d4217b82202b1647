package mfrc522_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/qinqing/station/devices/mfrc522"
	"github.com/qinqing/station/devices/mfrc522/mfrc522test"
)

// BenchmarkCardLatency measures, in the fake's virtual time, how long after
// a card lands on the antenna (at a random phase of the 50 ms poll) Run
// calls found with its UID. Reports p50/p99/max in ms.
func BenchmarkCardLatency(b *testing.B) {
	for _, size := range []int{4, 7, 10} {
		b.Run(map[int]string{4: "uid4", 7: "uid7", 10: "uid10"}[size], func(b *testing.B) {
			r := newRig(b, mfrc522.Opts{}, nil, nil)
			card := &mfrc522test.Card{UID: map[int][]byte{4: uid4, 7: uid7, 10: uid10}[size]}
			rng := rand.New(rand.NewPCG(1, 2))
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for range b.N {
				clk := r.chip.Clock
				at := clk.Now().Add(time.Duration(rng.Int64N(int64(100 * time.Millisecond))))
				r.chip.PlaceAt(at, card)
				ctx, cancel := context.WithCancel(context.Background())
				err := r.d.Run(ctx, func([]byte) {
					lat = append(lat, clk.Now().Sub(at))
					cancel()
				})
				cancel()
				if err != nil {
					b.Fatal(err)
				}
				r.chip.Remove(card)
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(ms(lat[len(lat)/2]), "p50-ms")
			b.ReportMetric(ms(lat[len(lat)*99/100]), "p99-ms")
			b.ReportMetric(ms(lat[len(lat)-1]), "max-ms")
		})
	}
}

// BenchmarkIdlePoll is one poll with no card (REQA, chip timer expires):
// ns/op is the CPU per poll (driver plus fake), spi-tx/poll the bus
// transactions, spi-tx/s the rate at the default 50 ms poll period, and
// busy-ms/poll the time the poll keeps the bus and the goroutine.
func BenchmarkIdlePoll(b *testing.B) {
	r := newRig(b, mfrc522.Opts{}, nil, nil)
	ctx := context.Background()
	tx0, t0 := r.chip.Transactions(), r.chip.Clock.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := r.d.ReadUID(ctx); !errors.Is(err, mfrc522.ErrNoCard) {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	perPoll := float64(r.chip.Transactions()-tx0) / float64(b.N)
	b.ReportMetric(perPoll, "spi-tx/poll")
	b.ReportMetric(perPoll*float64(time.Second/mfrc522.DefaultOpts.PollPeriod), "spi-tx/s")
	b.ReportMetric(ms(r.chip.Clock.Now().Sub(t0)/time.Duration(b.N)), "busy-ms/poll")
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
