package transport

import "context"

// Slots bounds the tasks of a study in flight: Acquire before a task is
// sent, Release once its result is in or it is given up. The daemon gives
// each study a share of its objective's slots (package share), so that
// studies on one objective share its evaluators fairly.
type Slots interface {
	Acquire(ctx context.Context) error
	Release()
}

// semaphore is Slots of a fixed number, for a study on its own.
type semaphore chan struct{}

func (s semaphore) Acquire(ctx context.Context) error {
	select {
	case s <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s semaphore) Release() { <-s }

// Capacity is the number of slots.
func (s semaphore) Capacity() int { return cap(s) }

// width is the number of tasks slots lets out at once: its Capacity when
// it has one, else 0 (unknown).
func width(s Slots) int {
	if c, ok := s.(interface{ Capacity() int }); ok {
		return c.Capacity()
	}
	return 0
}

// NewSlots returns n slots for one study on its own.
func NewSlots(n int) Slots { return make(semaphore, n) }
