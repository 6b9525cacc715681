// Package share divides an objective's evaluator slots fairly among the
// studies that use them.
//
// Evaluators serve tasks first come, first served: a study that sends 128
// tasks at once would make a study that sends 4 wait for all of them. A
// Pool bounds the tasks in flight for an objective to its capacity (the
// slots of its evaluators, plus a little headroom so that none idles
// between a result and the next task), and when a slot frees it goes to
// the waiting study with the fewest tasks in flight, the longest waiting
// first among equals (max-min fairness). A study alone gets every slot; a
// small study beside a big one gets a slot as soon as one frees, so each of
// its rounds waits at most about one simulation for the big one.
package share

import (
	"context"
	"sync"
)

// Pool is the shared slots of one objective.
type Pool struct {
	mu       sync.Mutex
	capacity int // 0: unbounded
	inFlight int
	studies  map[string]int // study → its tasks in flight
	waiting  []*waiter      // in arrival order
}

// waiter is a task waiting for a slot.
type waiter struct {
	study   string
	granted chan struct{}
}

// New returns a pool of capacity slots; 0 means unbounded (every Acquire
// returns at once).
func New(capacity int) *Pool {
	return &Pool{capacity: max(capacity, 0), studies: map[string]int{}}
}

// SetCapacity changes the number of slots, as evaluators come and go.
// Tasks in flight above a lowered capacity finish; no new one starts until
// the count is below it.
func (p *Pool) SetCapacity(capacity int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.capacity = max(capacity, 0)
	p.grant()
}

// Capacity returns the number of slots (0: unbounded).
func (p *Pool) Capacity() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.capacity
}

// InFlight returns the tasks in flight, and those waiting for a slot.
func (p *Pool) InFlight() (inFlight, waiting int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.inFlight, len(p.waiting)
}

// Study returns study's share of the pool: the Acquire and Release its
// dispatch calls around each task.
func (p *Pool) Study(study string) *Share { return &Share{pool: p, study: study} }

// Share is one study's handle on a Pool.
type Share struct {
	pool  *Pool
	study string
}

// Acquire waits for a slot for one task of the study, or for ctx to end.
func (s *Share) Acquire(ctx context.Context) error {
	p := s.pool
	p.mu.Lock()
	if p.free() && len(p.waiting) == 0 {
		p.take(s.study)
		p.mu.Unlock()
		return nil
	}
	w := &waiter{study: s.study, granted: make(chan struct{})}
	p.waiting = append(p.waiting, w)
	p.grant()
	p.mu.Unlock()
	select {
	case <-w.granted:
		return nil
	case <-ctx.Done():
		p.mu.Lock()
		defer p.mu.Unlock()
		select {
		case <-w.granted: // granted meanwhile: give it back
			p.give(s.study)
		default:
			p.drop(w)
		}
		return ctx.Err()
	}
}

// Capacity is the pool's capacity (0: unbounded).
func (s *Share) Capacity() int { return s.pool.Capacity() }

// Release frees a slot the study acquired.
func (s *Share) Release() {
	p := s.pool
	p.mu.Lock()
	defer p.mu.Unlock()
	p.give(s.study)
}

// free reports whether a task may start now. p.mu held.
func (p *Pool) free() bool { return p.capacity == 0 || p.inFlight < p.capacity }

// take counts a task of study in flight. p.mu held.
func (p *Pool) take(study string) {
	p.inFlight++
	p.studies[study]++
}

// give counts a task of study done and hands its slot on. p.mu held.
func (p *Pool) give(study string) {
	p.inFlight--
	if p.studies[study]--; p.studies[study] <= 0 {
		delete(p.studies, study)
	}
	p.grant()
}

// grant hands free slots to waiting tasks: each to the waiting study with
// the fewest tasks in flight, the earliest waiter among equals. p.mu held.
func (p *Pool) grant() {
	for p.free() && len(p.waiting) > 0 {
		best := 0
		for i, w := range p.waiting {
			if p.studies[w.study] < p.studies[p.waiting[best].study] {
				best = i
			}
		}
		w := p.waiting[best]
		p.waiting = append(p.waiting[:best], p.waiting[best+1:]...)
		p.take(w.study)
		close(w.granted)
	}
}

// drop removes w, which gave up waiting. p.mu held.
func (p *Pool) drop(w *waiter) {
	for i, x := range p.waiting {
		if x == w {
			p.waiting = append(p.waiting[:i], p.waiting[i+1:]...)
			return
		}
	}
}
