package share

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/testutil"
)

// acquireAsync acquires a slot for s in the background; the channel
// closes once it has one.
func acquireAsync(t *testing.T, s *Share) <-chan struct{} {
	t.Helper()
	done := make(chan struct{})
	go func() {
		if err := s.Acquire(context.Background()); err != nil {
			t.Error(err)
		}
		close(done)
	}()
	return done
}

func granted(c <-chan struct{}) bool {
	select {
	case <-c:
		return true
	default:
		return false
	}
}

// waiting is the number of tasks queued for a slot.
func waiting(p *Pool) int {
	_, w := p.InFlight()
	return w
}

// A big study fills the slots and queues more; a small study's task,
// queued after all of them, gets the next slot that frees, then the big
// study's take the rest in their order.
func TestFairToTheSmallStudy(t *testing.T) {
	p := New(2)
	big, small := p.Study("big"), p.Study("small")
	for range 2 {
		if err := big.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var bigWaits []<-chan struct{}
	for range 5 {
		bigWaits = append(bigWaits, acquireAsync(t, big))
		n := len(bigWaits)
		testutil.WaitFor(t, 10*time.Second, "the big study's task to queue", func() bool { return waiting(p) == n })
	}
	smallWait := acquireAsync(t, small)
	testutil.WaitFor(t, 10*time.Second, "the small study's task to queue", func() bool { return waiting(p) == 6 })
	if granted(smallWait) || granted(bigWaits[0]) {
		t.Fatal("a slot was granted beyond the capacity")
	}
	big.Release()
	testutil.WaitFor(t, 10*time.Second, "the small study's slot", func() bool { return granted(smallWait) })
	if granted(bigWaits[0]) {
		t.Fatal("the big study got the slot the small one waited for")
	}
	big.Release()
	testutil.WaitFor(t, 10*time.Second, "the big study's first waiting task", func() bool { return granted(bigWaits[0]) })
	if granted(bigWaits[1]) {
		t.Error("the big study's tasks were not served in order")
	}
	if n, w := p.InFlight(); n != 2 || w != 4 {
		t.Errorf("in flight %d, waiting %d; want 2 and 4", n, w)
	}
}

// Unbounded, nobody waits; a task that gives up waiting leaves no trace;
// a raised capacity lets waiting tasks in at once.
func TestCapacity(t *testing.T) {
	p := New(0)
	s := p.Study("s")
	for range 100 {
		if err := s.Acquire(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	if n, _ := p.InFlight(); n != 100 {
		t.Fatalf("unbounded: %d in flight, want 100", n)
	}

	p = New(1)
	s = p.Study("s")
	if err := s.Acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Millisecond)
	defer cancel()
	if err := s.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("a full pool: %v, want the context's deadline", err)
	}
	if n, w := p.InFlight(); n != 1 || w != 0 {
		t.Fatalf("after a give-up: in flight %d, waiting %d; want 1 and 0", n, w)
	}
	later := acquireAsync(t, s)
	testutil.WaitFor(t, 10*time.Second, "the task to queue", func() bool { return waiting(p) == 1 })
	p.SetCapacity(2)
	testutil.WaitFor(t, 10*time.Second, "the raised capacity to let it in", func() bool { return granted(later) })
}
