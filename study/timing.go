package study

import (
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Timing is summary.json's account of a study's rounds in time: how long
// its tasks were out, and how long the fleet waited between one round's
// last answer and the next round's first task (the dead time), of which
// how much was the optimizer's own arithmetic. Rounds answered wholly by
// the journal (a resume) are not counted. Its figures are measured, so
// they differ from run to run; nothing else in the summary depends on
// them.
type Timing struct {
	Rounds int `json:"rounds"` // rounds with at least one task sent
	// Slots is the number of tasks the study could have out at once when
	// it sent its last round (its share of the evaluators' slots); 0 when
	// unbounded or unknown.
	Slots int `json:"slots"`
	// Waves is Σ over rounds of ⌈tasks / slots⌉: on a fleet of Slots
	// slots, with every simulation taking T, the study cannot take less
	// than Waves × T. 0 when Slots is.
	Waves int `json:"waves"`
	// OutSeconds is the time with tasks out: Σ over rounds of the time
	// from its first task sent to its last answer.
	OutSeconds float64 `json:"out_seconds"`
	// Dead is the time from a round's last answer to the next round's
	// first task: recording the answers, the optimizer's step, the
	// summary, the tasks of the next round.
	Dead Spread `json:"dead"`
	// Optimizer is the part of each dead time spent in the optimizer's
	// own arithmetic (the time outside the study's evaluation, recording
	// and reporting code).
	Optimizer Spread `json:"optimizer"`
}

// Spread is a distribution of durations, in seconds.
type Spread struct {
	Count  int     `json:"count"`
	Total  float64 `json:"total"`
	Median float64 `json:"median"`
	P90    float64 `json:"p90"`
	Max    float64 `json:"max"`
}

// spreadOf summarises d (which it sorts).
func spreadOf(d []float64) Spread {
	if len(d) == 0 {
		return Spread{}
	}
	slices.Sort(d)
	s := Spread{Count: len(d), Median: d[len(d)/2], P90: d[len(d)*9/10], Max: d[len(d)-1]}
	for _, v := range d {
		s.Total += v
	}
	return s
}

// clock measures a study's rounds for Timing. The optimizer's goroutine
// calls enter, sent, answered and leave around each batch; report is
// called from the study's callbacks (progress, estimates), which run on
// that goroutine between batches; snapshot from any goroutine.
type clock struct {
	reporting atomic.Int64 // ns spent in the study's callbacks, running total

	// Owned by the optimizer's goroutine.
	left      time.Time // the last batch handed back to the optimizer; zero: none yet
	reported  int64     // reporting when it was
	lastAns   time.Time // the last live round's last answer; zero: none yet
	optimizer float64   // the optimizer's time since the last live round

	mu       sync.Mutex
	rounds   int
	slots    int
	waves    int
	out      float64
	dead     []float64
	optimize []float64
}

// enter marks a batch arriving from the optimizer.
func (c *clock) enter(now time.Time) {
	if c.left.IsZero() {
		return
	}
	gap := now.Sub(c.left) - time.Duration(c.reporting.Load()-c.reported)
	c.optimizer += max(gap, 0).Seconds()
}

// sent marks the first task of a live round about to go out, n tasks on
// slots slots (0: unbounded).
func (c *clock) sent(now time.Time, n, slots int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rounds++
	c.slots = slots
	if slots > 0 {
		c.waves += (n + slots - 1) / slots
	}
	if !c.lastAns.IsZero() {
		c.dead = append(c.dead, now.Sub(c.lastAns).Seconds())
		c.optimize = append(c.optimize, c.optimizer)
	}
	c.optimizer = 0
}

// answered marks a live round's last answer in, sent at start.
func (c *clock) answered(start, now time.Time) {
	c.mu.Lock()
	c.out += now.Sub(start).Seconds()
	c.mu.Unlock()
	c.lastAns = now
}

// leave marks the batch handed back to the optimizer.
func (c *clock) leave(now time.Time) {
	c.left, c.reported = now, c.reporting.Load()
}

// report adds the time of one of the study's callbacks since start.
func (c *clock) report(start time.Time) { c.reporting.Add(int64(time.Since(start))) }

// snapshot is the Timing so far.
func (c *clock) snapshot() *Timing {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := &Timing{Rounds: c.rounds, Slots: c.slots, OutSeconds: c.out,
		Dead: spreadOf(slices.Clone(c.dead)), Optimizer: spreadOf(slices.Clone(c.optimize))}
	if c.slots > 0 {
		t.Waves = c.waves
	}
	return t
}
