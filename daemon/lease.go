package daemon

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/zotune/zotune/journal"
)

// leaseBucket is the JetStream key-value bucket of the studies' leases:
// one key per study that a daemon drives, whose value names that daemon.
// It is kept on disk, like the registry: a lease bucket in memory is gone
// after a restart of a standalone server, and the daemons could then
// neither renew nor claim. Should it go nonetheless, the daemons create it
// again (leases.recover).
const leaseBucket = "ZOTUNE_LEASES"

// openWait bounds the wait for the first picture of the lease bucket.
const openWait = 30 * time.Second

// Defaults of LeaseOptions.
const (
	DefaultLeaseHeartbeat = 2 * time.Second
	DefaultLeaseTTL       = 10 * time.Second
)

// LeaseOptions say how a serving daemon holds the leases of the studies it
// drives. The zero value means the defaults.
type LeaseOptions struct {
	// Heartbeat is how often a held lease is renewed; default 2s.
	Heartbeat time.Duration
	// TTL is how long a lease lasts without renewal; default 10s, at least
	// 3 heartbeats. Another daemon takes a study over once its lease went
	// unrenewed for TTL; its holder stops driving it a heartbeat before.
	TTL time.Duration
}

// withDefaults returns o with its zero fields set to their defaults.
func (o LeaseOptions) withDefaults() LeaseOptions {
	if o.Heartbeat <= 0 {
		o.Heartbeat = DefaultLeaseHeartbeat
	}
	if o.TTL <= 0 {
		o.TTL = max(DefaultLeaseTTL, 3*o.Heartbeat)
	}
	return o
}

// Validate reports settings a lease cannot work with.
func (o LeaseOptions) Validate() error {
	o = o.withDefaults()
	if o.TTL < 3*o.Heartbeat {
		return fmt.Errorf("daemon: lease_ttl %s must be at least 3 lease heartbeats (%s)", o.TTL, 3*o.Heartbeat)
	}
	return nil
}

// leaseValue is a lease's value. Expiry is judged by each daemon on its
// own clock: a lease whose revision has not changed for TTL since the
// daemon saw it is expired. No clock is compared across hosts; Renewed is
// for people reading the bucket.
type leaseValue struct {
	Holder  string    `json:"holder"`
	TTL     string    `json:"ttl"`
	Renewed time.Time `json:"renewed"`
}

// seenLease is a lease as the watch last showed it.
type seenLease struct {
	holder string
	rev    uint64
	since  time.Time // local time the watch delivered rev
	ttl    time.Duration
}

// heldLease is a lease this daemon holds.
type heldLease struct {
	rev   uint64
	timer *time.Timer // fires when the lease is about to lapse unrenewed
}

// leases are the leases of one daemon: those it holds, renewed every
// heartbeat, and what it sees of the others', through a watch of the
// bucket.
type leases struct {
	js       jetstream.JetStream
	kv       jetstream.KeyValue
	replicas int
	id       string // the holder id of this daemon
	o        LeaseOptions
	log      zerolog.Logger
	// lost is called, on a goroutine of its own, when a held lease is lost:
	// another daemon holds it, it was deleted, or it could not be renewed
	// in time. free is called when a lease another daemon held was
	// released.
	lost func(name string, why error)
	free func(name string)

	// rewatch asks the watch to start again: the bucket was created anew.
	rewatch chan struct{}

	mu   sync.Mutex
	held map[string]*heldLease
	seen map[string]seenLease
	// recovered is when recover last looked for the bucket.
	recovered time.Time
}

// errLeaseLapsed is why a lease that could not be renewed is given up.
var errLeaseLapsed = errors.New("the lease could not be renewed in time")

// openLeases opens (creating it if need be) the lease bucket, and watches
// it and renews the held leases until ctx ends. It waits for the bucket's
// current leases, at most openWait.
func openLeases(ctx context.Context, js jetstream.JetStream, id string, replicas int, o LeaseOptions, log zerolog.Logger) (*leases, error) {
	kv, err := createLeaseBucket(ctx, js, replicas, log)
	if err != nil {
		return nil, err
	}
	l := &leases{
		js: js, kv: kv, replicas: replicas, id: id, o: o.withDefaults(), log: log,
		lost: func(string, error) {}, free: func(string) {},
		rewatch: make(chan struct{}, 1),
		held:    map[string]*heldLease{}, seen: map[string]seenLease{},
	}
	w, err := kv.WatchAll(ctx)
	if err != nil {
		return nil, fmt.Errorf("daemon: lease bucket: %w", err)
	}
	ready := make(chan struct{})
	go l.watch(ctx, w, ready)
	wait := time.NewTimer(openWait)
	defer wait.Stop()
	select {
	case <-ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-wait.C:
		return nil, fmt.Errorf("daemon: lease bucket: its leases did not arrive within %s", openWait)
	}
	go l.renewEvery(ctx)
	go l.resyncEvery(ctx)
	return l, nil
}

// createLeaseBucket creates the lease bucket, or opens it. A bucket in
// memory storage, made by an earlier version, is replaced by one on disk:
// the leases it held are lost, and their daemons stop driving their
// studies until they claim them again.
func createLeaseBucket(ctx context.Context, js jetstream.JetStream, replicas int, log zerolog.Logger) (jetstream.KeyValue, error) {
	if old, err := js.KeyValue(ctx, leaseBucket); err == nil {
		if st, err := old.Status(ctx); err == nil {
			if bs, ok := st.(*jetstream.KeyValueBucketStatus); ok && bs.StreamInfo().Config.Storage == jetstream.MemoryStorage {
				log.Warn().Str("bucket", leaseBucket).Msg("replacing the lease bucket of an earlier version, kept in memory, with one on disk")
				if err := js.DeleteKeyValue(ctx, leaseBucket); err != nil && !errors.Is(err, jetstream.ErrBucketNotFound) {
					return nil, fmt.Errorf("daemon: lease bucket: %w", err)
				}
			}
		}
	}
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket:      leaseBucket,
		Description: "zotune: which tunerd drives each study",
		History:     1,
		Replicas:    max(replicas, 1),
		Storage:     jetstream.FileStorage,
	})
	if err != nil {
		return nil, fmt.Errorf("daemon: lease bucket: %w", journal.ReplicasError(err, replicas))
	}
	return kv, nil
}

// value is this daemon's lease value, now.
func (l *leases) value() []byte {
	data, _ := json.Marshal(leaseValue{Holder: l.id, TTL: l.o.TTL.String(), Renewed: time.Now().UTC()})
	return data
}

// holder returns the daemon that holds the lease of name, "" when none
// does or its lease has lapsed.
func (l *leases) holder(name string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.held[name]; ok {
		return l.id
	}
	s, ok := l.seen[name]
	if !ok || time.Since(s.since) >= s.ttl {
		return ""
	}
	return s.holder
}

// holds reports whether this daemon holds the lease of name.
func (l *leases) holds(name string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	_, ok := l.held[name]
	return ok
}

// acquire takes the lease of name if it is free, lapsed, or held by an
// earlier process on this data_dir (whose lock proves it is gone), and
// reports whether this daemon holds it now. A lease held by a live daemon
// is not asked for again: the watch shows when it is released or lapses.
// A claim refused for a revision reads the lease again and decides once
// more: what the watch showed may be behind (it was down, or the bucket
// lost its messages), and a takeover does not wait for it.
func (l *leases) acquire(ctx context.Context, name string) (bool, error) {
	for again := false; ; again = true {
		l.mu.Lock()
		_, held := l.held[name]
		s, seen := l.seen[name]
		l.mu.Unlock()
		switch {
		case held:
			return true, nil
		case seen && s.holder != l.id && time.Since(s.since) < s.ttl:
			return false, nil
		}
		sent := time.Now()
		var rev uint64
		var err error
		if seen {
			rev, err = l.kv.Update(ctx, name, l.value(), s.rev)
		} else {
			rev, err = l.kv.Create(ctx, name, l.value())
		}
		switch {
		case err == nil:
			l.hold(name, rev, sent)
			if seen && s.holder != l.id {
				l.log.Info().Str("study", name).Str("from", s.holder).Msg("took over the lease of a study whose daemon stopped renewing it")
			}
			return true, nil
		case errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyNotFound):
			if again {
				return false, nil // changed again meanwhile: the watch will tell
			}
			stale, rerr := l.refresh(ctx, name)
			if rerr != nil {
				return false, fmt.Errorf("daemon: lease of study %s: %w", name, rerr)
			}
			if stale {
				l.log.Info().Str("study", name).Msg("the lease of a study had changed unseen by the watch; read it again")
			}
		default:
			l.recover(ctx, err)
			return false, fmt.Errorf("daemon: lease of study %s: %w", name, err)
		}
	}
}

// hold records the lease of name as held at revision rev, sent at sent,
// and arms its lapse timer.
func (l *leases) hold(name string, rev uint64, sent time.Time) {
	h := &heldLease{rev: rev}
	h.timer = time.AfterFunc(time.Until(l.lapse(sent)), func() { l.drop(name, 0, errLeaseLapsed) })
	l.mu.Lock()
	defer l.mu.Unlock()
	if old, ok := l.held[name]; ok {
		old.timer.Stop()
	}
	l.held[name] = h
}

// lapse is when a holder whose last renewal was sent at sent stops: a
// heartbeat before any other daemon may take the lease, which it does no
// sooner than TTL after it saw that renewal, itself sent after sent.
func (l *leases) lapse(sent time.Time) time.Time {
	return sent.Add(l.o.TTL - l.o.Heartbeat)
}

// drop forgets the held lease of name, unless it was renewed past rev
// (rev 0: whatever its revision), and reports it lost.
func (l *leases) drop(name string, rev uint64, why error) {
	l.mu.Lock()
	h, ok := l.held[name]
	if !ok || (rev != 0 && h.rev >= rev) {
		l.mu.Unlock()
		return
	}
	h.timer.Stop()
	delete(l.held, name)
	l.mu.Unlock()
	l.log.Warn().Str("study", name).Str("why", why.Error()).Msg("lost the lease of a study: no longer driving it")
	go l.lost(name, why)
}

// renewEvery renews the held leases every heartbeat until ctx ends.
func (l *leases) renewEvery(ctx context.Context) {
	t := time.NewTicker(l.o.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			l.renew(ctx)
		}
	}
}

// renew renews every held lease once, within a heartbeat. A lease found
// changed is lost; one that cannot be reached is tried again at the next
// heartbeat, until its timer gives it up.
func (l *leases) renew(ctx context.Context) {
	rctx, cancel := context.WithTimeout(ctx, l.o.Heartbeat)
	defer cancel()
	l.mu.Lock()
	revs := make(map[string]uint64, len(l.held))
	for name, h := range l.held {
		revs[name] = h.rev
	}
	l.mu.Unlock()
	for name, rev := range revs {
		sent := time.Now()
		next, err := l.kv.Update(rctx, name, l.value(), rev)
		switch {
		case err == nil:
			l.renewed(name, rev, next, sent)
		case errors.Is(err, jetstream.ErrKeyRevisionMismatch), errors.Is(err, jetstream.ErrKeyExists), errors.Is(err, jetstream.ErrKeyNotFound):
			if l.adopt(rctx, name, rev) {
				continue
			}
			l.drop(name, rev+1, fmt.Errorf("the lease changed under its holder: %w", err))
		case ctx.Err() == nil:
			l.log.Warn().Str("study", name).Err(err).Msg("cannot renew the lease of a study; retrying")
			l.recover(ctx, err)
		}
	}
}

// adopt reads the held lease of name, renewal rev refused for its
// revision, and keeps it if it is still this daemon's: a renewal whose
// answer did not come in time had reached the bucket. Its lapse timer is
// left as it is, set by an earlier renewal; the next one resets it.
func (l *leases) adopt(ctx context.Context, name string, rev uint64) bool {
	e, err := l.kv.Get(ctx, name)
	if err != nil || e.Revision() <= rev {
		return false
	}
	var v leaseValue
	if json.Unmarshal(e.Value(), &v) != nil || v.Holder != l.id {
		return false
	}
	l.mu.Lock()
	h, ok := l.held[name]
	if ok && h.rev == rev {
		h.rev = e.Revision()
	}
	l.mu.Unlock()
	if ok {
		l.log.Info().Str("study", name).Msg("a renewal of a lease whose answer did not come in time had been stored; kept the lease")
	}
	return ok
}

// renewed moves the held lease of name from rev to next, renewed at sent.
func (l *leases) renewed(name string, rev, next uint64, sent time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	h, ok := l.held[name]
	if !ok || h.rev != rev {
		return // dropped meanwhile
	}
	h.rev = next
	h.timer.Reset(time.Until(l.lapse(sent)))
}

// release gives up the lease of name, if held, deleting it so that
// another daemon takes the study at once.
func (l *leases) release(ctx context.Context, name string) {
	l.mu.Lock()
	h, ok := l.held[name]
	if ok {
		h.timer.Stop()
		delete(l.held, name)
	}
	l.mu.Unlock()
	if !ok {
		return
	}
	err := l.kv.Delete(ctx, name, jetstream.LastRevision(h.rev))
	if err != nil && !errors.Is(err, jetstream.ErrKeyRevisionMismatch) && !errors.Is(err, jetstream.ErrKeyExists) {
		l.log.Warn().Str("study", name).Err(err).Msg("cannot release the lease of a study; it lapses by itself")
	}
}

// releaseAll releases every held lease.
func (l *leases) releaseAll(ctx context.Context) {
	l.mu.Lock()
	var names []string
	for name := range l.held {
		names = append(names, name)
	}
	l.mu.Unlock()
	for _, name := range names {
		l.release(ctx, name)
	}
}

// forget deletes the lease of a deleted study, whoever holds it.
func (l *leases) forget(ctx context.Context, name string) {
	l.release(ctx, name)
	if err := l.kv.Purge(ctx, name); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		l.log.Warn().Str("study", name).Err(err).Msg("cannot delete the lease of a deleted study")
	}
}
