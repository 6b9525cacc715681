package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/zotune/zotune/internal/testutil"
)

// Short lease timings, so that a lease lapses in a fraction of a second.
var testLease = LeaseOptions{Heartbeat: 50 * time.Millisecond, TTL: 300 * time.Millisecond}

// lessee is a leases of the test, with what it reported.
type lessee struct {
	*leases
	cancel context.CancelFunc // stops renewing and watching: its process died
	mu     sync.Mutex
	lostAt map[string]time.Time
	why    map[string]error
	freed  map[string]bool
}

// openLessee opens the leases of a daemon called id.
func openLessee(t *testing.T, js jetstream.JetStream, id string) *lessee {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	l, err := openLeases(ctx, js, id, 1, testLease, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	x := &lessee{leases: l, cancel: cancel, lostAt: map[string]time.Time{}, why: map[string]error{}, freed: map[string]bool{}}
	l.lost = func(name string, why error) {
		x.mu.Lock()
		defer x.mu.Unlock()
		x.lostAt[name], x.why[name] = time.Now(), why
	}
	l.free = func(name string) {
		x.mu.Lock()
		defer x.mu.Unlock()
		x.freed[name] = true
	}
	return x
}

// lost returns when and why the lease of name was lost, zero if it was not.
func (x *lessee) lost(name string) (time.Time, error) {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.lostAt[name], x.why[name]
}

func (x *lessee) wasFreed(name string) bool {
	x.mu.Lock()
	defer x.mu.Unlock()
	return x.freed[name]
}

// mustAcquire acquires the lease of name, which must be had.
func mustAcquire(t *testing.T, l *lessee, name string) {
	t.Helper()
	ok, err := l.acquire(context.Background(), name)
	if err != nil || !ok {
		t.Fatalf("%s acquiring %s: %v, %v", l.id, name, ok, err)
	}
}

// refused reports whether l is refused the lease of name now.
func refused(t *testing.T, l *lessee, name string) bool {
	t.Helper()
	ok, err := l.acquire(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return !ok
}

// Acquire, renew and release: a held lease is refused to another daemon
// for many TTLs while its holder renews it, both see who holds it, and a
// release frees it at once for the other.
func TestLeaseAcquireRenewRelease(t *testing.T) {
	_, _, js := testutil.JetStream(t)
	a, b := openLessee(t, js, "a"), openLessee(t, js, "b")
	mustAcquire(t, a, "s")
	mustAcquire(t, a, "s") // held: acquiring again is a no-op
	testutil.WaitFor(t, 5*time.Second, "b to see a's lease", func() bool { return b.holder("s") == "a" })

	// Across 3 TTLs of renewals, b is always refused.
	first := b.seenRev(t, "s")
	testutil.WaitFor(t, 10*time.Second, "a's lease to be renewed over 3 TTLs", func() bool {
		if !refused(t, b, "s") {
			t.Fatal("b got the lease a renews")
		}
		return b.seenRev(t, "s") >= first+uint64(3*testLease.TTL/testLease.Heartbeat)
	})
	if at, why := a.lost("s"); !at.IsZero() {
		t.Fatalf("a lost its renewed lease: %v", why)
	}
	if !a.holds("s") || a.holder("s") != "a" || b.holder("s") != "a" {
		t.Fatalf("holders: a holds %v, a says %q, b says %q", a.holds("s"), a.holder("s"), b.holder("s"))
	}

	a.release(context.Background(), "s")
	if a.holds("s") {
		t.Fatal("a still holds a released lease")
	}
	testutil.WaitFor(t, 5*time.Second, "b to hear the lease was released", func() bool { return b.wasFreed("s") })
	mustAcquire(t, b, "s")
	if at, _ := a.lost("s"); !at.IsZero() {
		t.Error("a release reported as a loss")
	}
}

// seenRev is the revision of name's lease l last saw.
func (x *lessee) seenRev(t *testing.T, name string) uint64 {
	t.Helper()
	x.leases.mu.Lock()
	defer x.leases.mu.Unlock()
	return x.seen[name].rev
}

// Takeover: the holder dies (stops renewing); it gives the lease up by
// itself, and only after that, and no sooner than a TTL after its last
// renewal, another daemon takes it; the new holder drives it from then on.
func TestLeaseTakeover(t *testing.T) {
	_, _, js := testutil.JetStream(t)
	a, b := openLessee(t, js, "a"), openLessee(t, js, "b")
	mustAcquire(t, a, "s")
	testutil.WaitFor(t, 5*time.Second, "b to see a's lease", func() bool { return b.holder("s") == "a" })
	a.cancel()
	died := time.Now()

	var took time.Time
	testutil.WaitFor(t, 5*time.Second, "b to take the lapsed lease", func() bool {
		if refused(t, b, "s") {
			return false
		}
		took = time.Now()
		return true
	})
	lostAt, why := a.lost("s")
	switch {
	case lostAt.IsZero():
		t.Fatal("the dead holder never gave its lease up")
	case !errors.Is(why, errLeaseLapsed):
		t.Errorf("the dead holder gave its lease up because %v, want %v", why, errLeaseLapsed)
	case !lostAt.Before(took):
		t.Errorf("b took the lease %s before a gave it up", lostAt.Sub(took))
	}
	if took.Sub(died) < testLease.TTL-testLease.Heartbeat {
		t.Errorf("b took the lease %s after a died, sooner than its TTL %s less a heartbeat since a's last renewal", took.Sub(died), testLease.TTL)
	}
	if bound := testLease.TTL + 4*testLease.Heartbeat; took.Sub(died) > bound {
		t.Errorf("b took the lease %s after a died; want within TTL + 4 heartbeats (%s)", took.Sub(died), bound)
	}
	c := openLessee(t, js, "c")
	testutil.WaitFor(t, 5*time.Second, "c to see b's lease", func() bool { return c.holder("s") == "b" })
	if !refused(t, c, "s") {
		t.Error("c got the lease b holds")
	}
}

// Lose: a holder whose lease is overwritten by another daemon, or
// deleted, hears it from the watch and reports it lost at once, naming the
// new holder.
func TestLeaseLost(t *testing.T) {
	_, _, js := testutil.JetStream(t)
	a := openLessee(t, js, "a")
	mustAcquire(t, a, "s")
	mustAcquire(t, a, "t")
	if _, err := a.kv.Put(context.Background(), "s", []byte(`{"holder":"intruder","ttl":"10s"}`)); err != nil {
		t.Fatal(err)
	}
	if err := a.kv.Delete(context.Background(), "t"); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 5*time.Second, "a to lose both leases", func() bool {
		s, _ := a.lost("s")
		u, _ := a.lost("t")
		return !s.IsZero() && !u.IsZero()
	})
	if _, why := a.lost("s"); !strings.Contains(why.Error(), "intruder") {
		t.Errorf("why the overwritten lease was lost: %v", why)
	}
	if a.holds("s") || a.holds("t") {
		t.Error("a still holds a lost lease")
	}
	if a.holder("s") != "intruder" {
		t.Errorf("holder of s: %q", a.holder("s"))
	}
}

// A daemon restarted on the same data_dir (same id) takes its own leases
// back at once, without waiting for them to lapse: its data_dir lock
// proves the earlier process gone.
func TestLeaseOwnAfterRestart(t *testing.T) {
	_, _, js := testutil.JetStream(t)
	a := openLessee(t, js, "a")
	mustAcquire(t, a, "s")
	a.cancel()
	again := openLessee(t, js, "a")
	start := time.Now()
	mustAcquire(t, again, "s")
	if d := time.Since(start); d >= testLease.TTL {
		t.Errorf("taking back its own lease took %s, a TTL or more", d)
	}
	other := openLessee(t, js, "b")
	testutil.WaitFor(t, 5*time.Second, "b to see the lease renewed", func() bool { return other.holder("s") == "a" })
	if !refused(t, other, "s") {
		t.Error("b got the lease the restarted daemon holds")
	}
}

// Lease settings: zero means the defaults; a TTL under 3 heartbeats is
// refused.
func TestLeaseOptions(t *testing.T) {
	if o := (LeaseOptions{}).withDefaults(); o.Heartbeat != DefaultLeaseHeartbeat || o.TTL != DefaultLeaseTTL {
		t.Errorf("defaults: %+v", o)
	}
	if o := (LeaseOptions{Heartbeat: 5 * time.Second}).withDefaults(); o.TTL != 15*time.Second {
		t.Errorf("default TTL for a 5s heartbeat: %s", o.TTL)
	}
	if err := (LeaseOptions{Heartbeat: time.Second, TTL: 2 * time.Second}).Validate(); err == nil || !strings.Contains(err.Error(), "lease_ttl") {
		t.Errorf("TTL of 2 heartbeats: %v", err)
	}
	if err := (LeaseOptions{}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

// eitherAcquires polls a and b for the lease of name until the bucket
// holds a lease of one of them that it holds too.
func eitherAcquires(t *testing.T, what, name string, a, b *lessee) {
	t.Helper()
	testutil.WaitFor(t, 10*time.Second, what, func() bool {
		for _, l := range []*lessee{a, b} {
			_, _ = l.acquire(context.Background(), name)
		}
		e, err := a.kv.Get(context.Background(), name)
		if err != nil {
			return false
		}
		var v leaseValue
		if json.Unmarshal(e.Value(), &v) != nil {
			return false
		}
		for _, l := range []*lessee{a, b} {
			if v.Holder == l.id && l.holds(name) {
				return true
			}
		}
		return false
	})
}

// The lease bucket loses its messages (the stream purged: what a server
// that kept the bucket but not its data would show): the daemons' picture
// of the lease, and the holder's revision, are stale; the holder loses the
// lease at its next renewal, and one of the daemons claims it again. A
// claim at a revision that no longer exists was refused for ever.
func TestLeaseBucketPurged(t *testing.T) {
	_, _, js := testutil.JetStream(t)
	a, b := openLessee(t, js, "a"), openLessee(t, js, "b")
	mustAcquire(t, a, "s")
	testutil.WaitFor(t, 5*time.Second, "b to see a's lease", func() bool { return b.holder("s") == "a" })
	ctx := context.Background()
	st, err := js.Stream(ctx, "KV_"+leaseBucket)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.Purge(ctx); err != nil {
		t.Fatal(err)
	}
	eitherAcquires(t, "a daemon to claim the lease again", "s", a, b)
}

// The lease bucket is gone (a server that kept it in memory restarted; an
// operator deleted it): the daemons create it again and claim the lease
// anew. Every renewal and claim failed for ever before.
func TestLeaseBucketDeleted(t *testing.T) {
	_, _, js := testutil.JetStream(t)
	a, b := openLessee(t, js, "a"), openLessee(t, js, "b")
	mustAcquire(t, a, "s")
	testutil.WaitFor(t, 5*time.Second, "b to see a's lease", func() bool { return b.holder("s") == "a" })
	if err := js.DeleteKeyValue(context.Background(), leaseBucket); err != nil {
		t.Fatal(err)
	}
	eitherAcquires(t, "a daemon to claim the lease in a new bucket", "s", a, b)
	// The watch follows the new bucket: the other daemon sees the holder.
	testutil.WaitFor(t, 5*time.Second, "both daemons to agree on the holder", func() bool {
		h := a.holder("s")
		return h != "" && h == b.holder("s")
	})
}

// A lease bucket of an earlier version, in memory storage, is replaced by
// one on disk when a daemon opens it.
func TestLeaseBucketOnDisk(t *testing.T) {
	_, _, js := testutil.JetStream(t)
	ctx := context.Background()
	if _, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: leaseBucket, Storage: jetstream.MemoryStorage}); err != nil {
		t.Fatal(err)
	}
	a := openLessee(t, js, "a")
	st, err := js.Stream(ctx, "KV_"+leaseBucket)
	if err != nil {
		t.Fatal(err)
	}
	if s := st.CachedInfo().Config.Storage; s != jetstream.FileStorage {
		t.Errorf("lease bucket storage %s, want file", s)
	}
	mustAcquire(t, a, "s")
}
