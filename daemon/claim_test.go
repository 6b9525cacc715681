package daemon

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/config"
	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/study"
	"github.com/zotune/zotune/wire"
)

// refusingBackend opens no journal: a study started with it returns at
// once. The tests of claims only look at whether a study was started.
type refusingBackend struct{}

func (refusingBackend) OpenJournal(context.Context, *study.Spec, string, bool) (study.Journal, error) {
	return nil, errors.New("no journal in this test")
}

func (refusingBackend) OpenSender(context.Context, *study.Spec, study.Journal, func(*wire.Task, *wire.Reply)) (study.Sender, error) {
	return nil, errors.New("no dispatch in this test")
}

// claimer is a manager with a registry and leases, and no API, fleet or
// evaluators, holding one active study "s" known to the registry.
func claimer(t *testing.T) (*manager, *managed) {
	t.Helper()
	_, _, js := testutil.JetStream(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	d := &daemon{cfg: &Config{}, log: zerolog.Nop(), base: ctx, js: js,
		objCtx: map[string]context.Context{}, objCancel: map[string]context.CancelCauseFunc{}}
	m := newManager(d, study.RunOptions{DataDir: t.TempDir(), Backend: refusingBackend{}})
	d.mgr = m
	t.Cleanup(m.close)
	reg, err := openRegistry(ctx, js, 1)
	if err != nil {
		t.Fatal(err)
	}
	l, err := openLeases(ctx, js, "me", 1, testLease, zerolog.Nop())
	if err != nil {
		t.Fatal(err)
	}
	m.reg, m.leases, m.id, m.wake = reg, l, "me", make(chan struct{}, 1)
	specs, err := config.ParseStudies(studyDoc("s", ""), "")
	if err != nil {
		t.Fatal(err)
	}
	e := entry{Name: "s", Origin: api.OriginAPI, State: api.StateActive, Created: time.Now().UTC(), Spec: specs[0]}
	if _, err := reg.put(ctx, &e); err != nil {
		t.Fatal(err)
	}
	s, err := m.add(e, false)
	if err != nil {
		t.Fatal(err)
	}
	return m, s
}

// started reports whether a run of s was ever started.
func (m *manager) started(s *managed) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return s.live != nil
}

// The lease of a study is lost between its claim and its start (its lapse
// timer fired during a slow claim; the halt that followed found no run):
// the study is not started. It was, and then ran without a lease, never
// stopped, while another daemon took the lease over.
func TestClaimLeaseLostBeforeStart(t *testing.T) {
	m, s := claimer(t)
	ok, err := m.leases.acquire(context.Background(), "s")
	if err != nil || !ok {
		t.Fatalf("acquire: %v, %v", ok, err)
	}
	m.leases.drop("s", 0, errLeaseLapsed)
	if m.startHeld(s) || m.started(s) {
		t.Fatal("a study was started without its lease")
	}
	if ok, err := m.leases.acquire(context.Background(), "s"); err != nil || !ok {
		t.Fatalf("acquire again: %v, %v", ok, err)
	}
	if !m.startHeld(s) || !m.started(s) {
		t.Fatal("a study with its lease was not started")
	}
}

// A study stopped, finished or deleted through another daemon, whose
// registry change this daemon's watch has not applied yet, is not started
// when its lease (released by that daemon) is claimed, and the lease is
// released again. It was started, for a moment.
func TestClaimRereadsRegistry(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(ctx context.Context, r *registry) error
	}{
		{"stopped", func(ctx context.Context, r *registry) error {
			return r.update(ctx, "s", func(e *entry) { e.State = api.StateStopped })
		}},
		{"finished", func(ctx context.Context, r *registry) error {
			return r.update(ctx, "s", func(e *entry) { e.Ended = "budget" })
		}},
		{"deleted", func(ctx context.Context, r *registry) error { return r.remove(ctx, "s") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m, s := claimer(t)
			ctx := context.Background()
			if err := tc.change(ctx, m.reg); err != nil {
				t.Fatal(err)
			}
			m.claim(ctx, s) // this manager does not follow the registry
			if m.started(s) {
				t.Fatalf("a study %s elsewhere was started", tc.name)
			}
			if m.leases.holds("s") {
				t.Error("the lease of a study not started is kept")
			}
		})
	}
}

// Two claims of one study at once (the claim pass and a submission): the
// study runs, and keeps its lease. The claim that found the study started
// by the other released its lease, and the study ran without one.
func TestClaimTwiceAtOnce(t *testing.T) {
	m, s := claimer(t)
	done := make(chan struct{})
	for range 2 {
		go func() { m.claim(context.Background(), s); done <- struct{}{} }()
	}
	<-done
	<-done
	if !m.started(s) || !m.leases.holds("s") {
		t.Fatalf("after two claims at once: started %v, lease held %v", m.started(s), m.leases.holds("s"))
	}
}
