package daemon

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
)

// startLog is an evaluator that records which study each simulation it
// starts is of, in order.
type startLog struct {
	mu     sync.Mutex
	starts []string
}

func (l *startLog) handler(work time.Duration) transport.Handler {
	return transport.HandlerFunc(func(ctx context.Context, t *wire.Task) wire.Reply {
		l.mu.Lock()
		l.starts = append(l.starts, t.Study)
		l.mu.Unlock()
		select {
		case <-time.After(work):
		case <-ctx.Done():
		}
		return wire.Reply{Value: testutil.SeparableQuartic(t.Params)}
	})
}

// gaps returns, for each pair of consecutive simulations of study small
// that are apart, the number of other simulations started between them.
func (l *startLog) gaps(small string) []int {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []int
	last := -1
	for i, s := range l.starts {
		if s != small {
			continue
		}
		if last >= 0 && i > last+1 {
			out = append(out, i-last-1)
		}
		last = i
	}
	return out
}

// quarticStudy is a submission of the separable quartic in dim
// parameters.
func quarticStudy(name, objective string, dim, budget int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, "name = %q\nobjective = %q\nmax_evaluations = %d\n", name, objective, budget)
	for i := 1; i <= dim; i++ {
		fmt.Fprintf(&b, "[[param]]\nname = \"x%d\"\nmin = -2\nmax = 2\ninit = 0.5\n", i)
	}
	return []byte(b.String())
}

// A small study beside a big one on the same objective is not queued
// behind the big one's batches: between two of its simulations, at most
// about the objective's slots of the big study's start (the slots that
// freed while the small study computed its next step). Queued first come,
// first served, it would wait for the big study's whole gradient batch,
// 128 simulations, at every step.
func TestServeFairShare(t *testing.T) {
	const slots = 4
	srv, nc, _ := testutil.JetStream(t)
	var log startLog
	evaluate(t, nc, "f", slots, log.handler(20*time.Millisecond))
	serve(t, srv.URL(), t.TempDir())
	c := client(t, nc)
	ctx := context.Background()
	if _, err := c.Create(ctx, quarticStudy("big", "f", 64, 1_000_000)); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "big", "to be under way", func(s *api.Study) bool { return s.Running && s.Spent > 0 })
	if _, err := c.Create(ctx, quarticStudy("small", "f", 2, 60)); err != nil {
		t.Fatal(err)
	}
	small := waitStatus(t, c, "small", "to end", func(s *api.Study) bool { return !s.Running && s.Status != "pending" })
	if small.Status != "budget" && small.Status != "converged" {
		t.Fatalf("small study: %+v", small)
	}
	gaps := log.gaps("small")
	if len(gaps) < 3 {
		t.Fatalf("the small study's simulations were apart only %d times: %v", len(gaps), gaps)
	}
	sum, most := 0, 0
	for _, g := range gaps {
		sum += g
		most = max(most, g)
	}
	mean := float64(sum) / float64(len(gaps))
	t.Logf("big-study starts between the small study's: mean %.1f, most %d, over %d gaps", mean, most, len(gaps))
	if mean > slots+1 || most > 4*slots {
		t.Errorf("the small study waited behind the big one: %d gaps, mean %.1f, most %d starts of the big study (slots: %d): %v",
			len(gaps), mean, most, slots, gaps)
	}
	if _, err := c.Stop(ctx, "big"); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkFairShare measures the time a round of a small study (2
// parameters) takes on an objective of 4 slots and a 20 ms simulator,
// alone and beside a big study (64 parameters) on the same objective:
// docs/benchmarks.md reports the two and their ratio.
//
//	go test -run '^$' -bench FairShare -benchtime 3x ./daemon
func BenchmarkFairShare(b *testing.B) {
	for _, c := range []struct {
		name         string
		beside, fair bool
	}{{"alone", false, true}, {"beside-64d", true, true}, {"beside-64d-unshared", true, false}} {
		beside := c.beside
		b.Run(c.name, func(b *testing.B) {
			fairShare = c.fair
			defer func() { fairShare = true }()
			var perRound, rounds float64
			for i := 0; i < b.N; i++ {
				r, n := smallStudyRounds(b, beside)
				perRound += r
				rounds += n
			}
			b.ReportMetric(perRound/float64(b.N)*1e3, "ms/round")
			b.ReportMetric(rounds/float64(b.N), "rounds")
		})
	}
}

// smallStudyRounds runs the small study, beside the big one or not, and
// returns its seconds per round and its rounds.
func smallStudyRounds(b *testing.B, beside bool) (perRound, rounds float64) {
	b.StopTimer()
	srv, nc, _ := testutil.JetStream(b)
	var log startLog
	evaluate(b, nc, "f", 4, log.handler(20*time.Millisecond))
	d := serve(b, srv.URL(), b.TempDir())
	c := client(b, nc)
	ctx := context.Background()
	if beside {
		if _, err := c.Create(ctx, quarticStudy("big", "f", 64, 1_000_000)); err != nil {
			b.Fatal(err)
		}
		waitStatus(b, c, "big", "to be under way", func(s *api.Study) bool { return s.Running && s.Spent > 0 })
	}
	b.StartTimer()
	if _, err := c.Create(ctx, quarticStudy("small", "f", 2, 60)); err != nil {
		b.Fatal(err)
	}
	s := waitStatus(b, c, "small", "to end", func(s *api.Study) bool { return !s.Running && s.Status != "pending" })
	b.StopTimer()
	d.stop(b)
	return s.Summary.WallSeconds / float64(s.Summary.Rounds), float64(s.Summary.Rounds)
}
