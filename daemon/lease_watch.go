package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// What a daemon sees of the leases comes from a watch of the bucket, and
// does not depend on it alone: the watch is started again when it ends (its
// consumer could not be made again after an outage, or the bucket was
// created anew), a full pass reads every lease again every TTL, in case
// the watch went silent, and a claim or renewal refused for a revision
// reads its lease again before deciding.

// watch keeps seen current, starting with w, until ctx ends, and reports
// leases released by others and held leases taken; ready is closed once
// the bucket's current leases were seen. A watch that ends is started
// again: it begins with every current lease, so nothing missed meanwhile
// stays unseen.
func (l *leases) watch(ctx context.Context, w jetstream.KeyWatcher, ready chan struct{}) {
	once := sync.OnceFunc(func() { close(ready) })
	for {
		why := l.follow(ctx, w, once)
		_ = w.Stop()
		if ctx.Err() != nil {
			return
		}
		l.log.Warn().Str("why", why).Msg("the watch of the leases stopped; watching again")
		for {
			var err error
			if w, err = l.kv.WatchAll(ctx); err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			l.log.Warn().Err(err).Msg("cannot watch the leases; retrying")
			l.recover(ctx, err)
			if !pause(ctx, l.o.Heartbeat) {
				return
			}
		}
	}
}

// follow applies the updates of w until it ends, and says why it ended.
// ready is called once w delivered the bucket's current leases; leases
// seen before that w did not deliver are gone.
func (l *leases) follow(ctx context.Context, w jetstream.KeyWatcher, ready func()) string {
	initial, listed := true, map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return "the daemon stops"
		case <-l.rewatch:
			return "the lease bucket was created again"
		case e, ok := <-w.Updates():
			if !ok {
				return "its updates ended"
			}
			if e == nil {
				if initial {
					initial = false
					l.unlisted(listed, nil)
					ready()
				}
				continue
			}
			if initial {
				listed[e.Key()] = true
			}
			l.saw(e)
		}
	}
}

// pause waits for d, and reports whether ctx is still live.
func pause(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

// saw records one update of the bucket, or a lease read from it. An update
// older than what was seen of its key is ignored; the same revision seen
// again keeps the time it was first seen.
func (l *leases) saw(e jetstream.KeyValueEntry) {
	key, rev := e.Key(), e.Revision()
	l.mu.Lock()
	prev, had := l.seen[key]
	if had && rev < prev.rev {
		l.mu.Unlock()
		return
	}
	if e.Operation() != jetstream.KeyValuePut {
		delete(l.seen, key)
		_, mine := l.held[key]
		l.mu.Unlock()
		if mine {
			l.drop(key, rev, errors.New("the lease was deleted"))
		} else {
			l.free(key)
		}
		return
	}
	var v leaseValue
	_ = json.Unmarshal(e.Value(), &v) // an unreadable value: a holder "" that never lapses sooner
	ttl, err := time.ParseDuration(v.TTL)
	if err != nil || ttl <= 0 {
		ttl = l.o.TTL
	}
	since := time.Now()
	if had && prev.rev == rev {
		since = prev.since
	}
	l.seen[key] = seenLease{holder: v.Holder, rev: rev, since: since, ttl: ttl}
	l.mu.Unlock()
	if v.Holder != l.id {
		l.drop(key, rev, fmt.Errorf("daemon %s holds it now", v.Holder))
	}
}

// unlisted forgets the leases of others that a full pass of the bucket did
// not find, unless seen at another revision than before (by revision; nil:
// whatever their revision), and reports them free. A held lease that is
// gone is for renew to find.
func (l *leases) unlisted(listed map[string]bool, before map[string]uint64) {
	var gone []string
	l.mu.Lock()
	for key, s := range l.seen {
		_, mine := l.held[key]
		if rev, ok := before[key]; listed[key] || mine || (before != nil && (!ok || rev != s.rev)) {
			continue
		}
		delete(l.seen, key)
		gone = append(gone, key)
	}
	l.mu.Unlock()
	for _, key := range gone {
		l.free(key)
	}
}

// resyncEvery reads every lease again every TTL, until ctx ends.
func (l *leases) resyncEvery(ctx context.Context) {
	t := time.NewTicker(l.o.TTL)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := l.resync(ctx); err != nil && ctx.Err() == nil {
				l.log.Warn().Err(err).Msg("cannot read the leases")
				l.recover(ctx, err)
			}
		}
	}
}

// resync reads every lease of the bucket, and forgets those gone.
func (l *leases) resync(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(ctx, l.o.TTL)
	defer cancel()
	l.mu.Lock()
	before := make(map[string]uint64, len(l.seen))
	for key, s := range l.seen {
		before[key] = s.rev
	}
	l.mu.Unlock()
	lister, err := l.kv.ListKeys(rctx)
	if err != nil {
		return err
	}
	listed := map[string]bool{}
	for key := range lister.Keys() {
		listed[key] = true
		stale, err := l.refresh(rctx, key)
		if err != nil {
			return err
		}
		if stale {
			l.log.Info().Str("study", key).Msg("a lease read again had changed unseen by the watch")
		}
	}
	if rctx.Err() != nil {
		return rctx.Err() // the list may be partial
	}
	l.unlisted(listed, before)
	return nil
}

// refresh reads the lease of name from the bucket into seen, and reports
// whether seen was behind.
func (l *leases) refresh(ctx context.Context, name string) (stale bool, err error) {
	e, err := l.kv.Get(ctx, name)
	l.mu.Lock()
	prev, had := l.seen[name]
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		delete(l.seen, name)
		l.mu.Unlock()
		return had, nil
	}
	l.mu.Unlock()
	if err != nil {
		return false, err
	}
	l.saw(e)
	return !had || prev.rev < e.Revision(), nil
}

// recover creates the lease bucket again when err says it is gone (a
// server in memory storage restarted, an operator deleted it), at most
// once a heartbeat, and starts the watch again on the new bucket.
func (l *leases) recover(ctx context.Context, err error) {
	if !errors.Is(err, jetstream.ErrBucketNotFound) && !errors.Is(err, jetstream.ErrStreamNotFound) && !errors.Is(err, jetstream.ErrNoStreamResponse) {
		return
	}
	l.mu.Lock()
	if time.Since(l.recovered) < l.o.Heartbeat {
		l.mu.Unlock()
		return
	}
	l.recovered = time.Now()
	l.mu.Unlock()
	rctx, cancel := context.WithTimeout(ctx, l.o.TTL)
	defer cancel()
	if _, err := l.js.KeyValue(rctx, leaseBucket); !errors.Is(err, jetstream.ErrBucketNotFound) {
		return // there, or the server cannot say now
	}
	if _, err := createLeaseBucket(rctx, l.js, l.replicas, l.log); err != nil {
		l.log.Warn().Err(err).Msg("the lease bucket is gone and cannot be created again")
		return
	}
	l.log.Warn().Str("bucket", leaseBucket).Msg("the lease bucket was gone: created it again")
	select {
	case l.rewatch <- struct{}{}:
	default:
	}
}
