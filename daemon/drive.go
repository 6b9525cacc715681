package daemon

import (
	"context"
	"errors"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/study"
)

// Several serving daemons on one NATS server share the study registry.
// Each drives a study only while it holds the study's lease (lease.go):
// claim takes free and lapsed leases and starts their studies; a lost
// lease stops its study at once; follow keeps each daemon's picture of the
// registry current, so that a study submitted to one daemon, stopped or
// deleted through another, is known to all. See docs/failover.md.

// share opens the registry and the leases of a serving daemon, and starts
// following them. Shutdown releases the leases once the studies stopped,
// so that other daemons take them over at once.
func (d *daemon) share(ctx context.Context) error {
	if err := d.cfg.Lease.Validate(); err != nil {
		return err
	}
	reg, err := openRegistry(ctx, d.js, d.cfg.NATS.Replicas)
	if err != nil {
		return err
	}
	id, err := daemonID(d.cfg.DataDir)
	if err != nil {
		return err
	}
	l, err := openLeases(d.base, d.js, id, d.cfg.NATS.Replicas, d.cfg.Lease, d.log.With().Str("component", "leases").Logger())
	if err != nil {
		return err
	}
	m := d.mgr
	m.reg, m.leases, m.id = reg, l, id
	m.wake = make(chan struct{}, 1)
	l.lost = m.leaseLost
	l.free = func(string) { m.nudge() }
	d.closers = append(d.closers, func() {
		rctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		l.releaseAll(rctx)
	})
	d.log.Info().Str("id", id).Msg("this daemon's id, for the leases of the studies it drives")
	return nil
}

// nudge asks the claim loop for a pass now.
func (m *manager) nudge() {
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// claimEvery claims the studies it may drive every lease heartbeat, and
// whenever a lease is released, until ctx ends.
func (m *manager) claimEvery(ctx context.Context) {
	t := time.NewTicker(m.leases.o.Heartbeat)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-m.wake:
		}
		for _, s := range m.all() {
			m.claim(ctx, s)
		}
	}
}

// wanted reports whether s is to be driven by some daemon: active, not
// finished, and the daemon not shutting down. m.mu is held.
func (m *manager) wanted(s *managed) bool {
	return !m.closed && !s.gone && s.State == api.StateActive && s.Ended == ""
}

// claim starts s if it is wanted, not driven here yet, and its lease can
// be had. Without leases it does nothing: add started s.
// Claims are made one at a time: two at once could both find the lease
// held (one acquired it, the other saw it acquired), and the one that
// did not start the study would release the lease of a running study.
func (m *manager) claim(ctx context.Context, s *managed) {
	if m.leases == nil {
		return
	}
	m.claiming.Lock()
	defer m.claiming.Unlock()
	if m.leases.holds(s.Name) {
		return
	}
	m.mu.Lock()
	want := m.wanted(s) && s.cancel == nil
	m.mu.Unlock()
	if !want {
		return
	}
	ok, err := m.leases.acquire(ctx, s.Name)
	if err != nil {
		m.log.Warn().Str("study", s.Name).Err(err).Msg("cannot claim a study")
		return
	}
	if !ok {
		return
	}
	if why := m.stillWanted(ctx, s.Name); why != "" {
		m.leases.release(ctx, s.Name)
		m.log.Info().Str("study", s.Name).Str("why", why).Msg("not driving the study after all")
		return
	}
	if !m.startHeld(s) {
		m.leases.release(ctx, s.Name)
		return
	}
	m.log.Info().Str("study", s.Name).Msg("driving study")
	if err := m.reg.update(ctx, s.Name, func(e *entry) { e.Driver = m.id }); err != nil {
		m.log.Warn().Str("study", s.Name).Err(err).Msg("cannot record the study's driver")
	}
}

// stillWanted reads the registry entry of the study called name and says
// why it is not to run after all: deleted, stopped or finished through
// another daemon, whose change the registry watch may not have shown yet
// when the lease it released was claimed. "": it is to run.
func (m *manager) stillWanted(ctx context.Context, name string) string {
	kve, err := m.reg.kv.Get(ctx, name)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return "it was deleted"
	case err != nil:
		return "its registry entry cannot be read: " + err.Error()
	}
	e, err := decodeEntry(name, kve.Value())
	switch {
	case err != nil:
		return err.Error()
	case e.State != api.StateActive:
		return "it was stopped"
	case e.Ended != "":
		return "it finished (" + e.Ended + ")"
	}
	return ""
}

// startHeld starts s if it is still wanted, not running, and its lease
// still held, and reports whether it did. The lease is checked under m.mu:
// a lease lost before this (its lapse timer fired during a slow claim)
// found no run to halt, and none may start without it; one lost after
// finds the run and halts it.
func (m *manager) startHeld(s *managed) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.wanted(s) || s.cancel != nil || !m.leases.holds(s.Name) {
		return false
	}
	m.start(s, false)
	return true
}

// leaseLost stops s at once: another daemon may drive it soon.
func (m *manager) leaseLost(name string, why error) {
	s, err := m.find(name)
	if err != nil {
		return
	}
	m.halt(s)
	m.log.Warn().Str("study", name).Str("why", why.Error()).Msg("stopped driving the study: its lease is lost")
}

// finished records that s ended for good and gives up its lease: no
// daemon is to take it up again.
func (m *manager) finished(s *managed, sum *study.Summary) {
	if m.leases == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	m.mu.Lock()
	s.Ended, s.Driver = sum.Status, m.id
	m.mu.Unlock()
	err := m.reg.update(ctx, s.Name, func(e *entry) { e.Ended, e.Driver = sum.Status, m.id })
	if err != nil {
		m.log.Error().Str("study", s.Name).Err(err).Msg("cannot record that the study finished; keeping its lease")
		return
	}
	m.leases.release(ctx, s.Name)
}

// follow keeps the manager's studies in step with the registry, which
// other daemons change too, until ctx ends. A watch that ends (its
// consumer could not be made again after an outage) is started again: it
// begins with every entry, deleted ones included, so nothing missed
// meanwhile stays unseen.
func (m *manager) follow(ctx context.Context) error {
	w, err := m.reg.kv.WatchAll(ctx)
	if err != nil {
		return err
	}
	go func() {
		for {
			for kve := range w.Updates() {
				if kve != nil {
					m.followed(ctx, kve)
				}
			}
			_ = w.Stop()
			if ctx.Err() != nil {
				return
			}
			m.log.Warn().Msg("the watch of the study registry stopped; watching again")
			for w, err = m.reg.kv.WatchAll(ctx); err != nil; w, err = m.reg.kv.WatchAll(ctx) {
				m.log.Warn().Err(err).Msg("cannot watch the study registry; retrying")
				if !pause(ctx, m.leases.o.Heartbeat) {
					return
				}
			}
		}
	}()
	return nil
}

// newer records rev as the latest revision of the entry of s seen, and
// reports whether it is newer than the one seen before.
func (m *manager) newer(s *managed, rev uint64) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	if rev < s.rev {
		return false
	}
	s.rev = rev
	return true
}

// followed applies one change of the registry.
func (m *manager) followed(ctx context.Context, kve jetstream.KeyValueEntry) {
	name := kve.Key()
	s, _ := m.find(name)
	if s != nil && !m.newer(s, kve.Revision()) {
		return // from before the study was created again here
	}
	if kve.Operation() != jetstream.KeyValuePut {
		if s != nil {
			m.halt(s)
			m.leases.release(ctx, name)
			m.drop(s)
			m.d.metrics.Forget(name)
			m.log.Info().Str("study", name).Msg("study deleted from the registry")
		}
		return
	}
	e, err := decodeEntry(name, kve.Value())
	if err != nil {
		m.log.Error().Err(err).Msg("a recorded study cannot be run; its entry is kept")
		return
	}
	if s == nil {
		// The daemon that created it claims it first; the others at their
		// next pass, should it not.
		_, _ = m.add(*e, false)
		return
	}
	// Name, origin and definition do not change; the rest may.
	m.mu.Lock()
	stopped := s.State == api.StateActive && e.State != api.StateActive
	s.State, s.Ended, s.Driver, s.Owner = e.State, e.Ended, e.Driver, e.Owner
	m.mu.Unlock()
	if stopped && m.leases.holds(name) {
		m.halt(s)
		m.leases.release(ctx, name)
		m.log.Info().Str("study", name).Msg("study stopped through another daemon")
	}
	m.nudge()
}
