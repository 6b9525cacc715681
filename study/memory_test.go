package study

import (
	"context"
	"fmt"
	"strconv"
	"sync"

	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/wire"
)

// handler is an in-process simulator: it answers a task.
type handler func(ctx context.Context, t *wire.Task) wire.Reply

// memStore is the in-memory twin of the journal and dispatch the daemon
// gives studies over NATS and JetStream: records kept per study and trial
// in the order stored, and evaluators that are handlers, one per
// objective. Durable dispatch stores each result as an evaluator does;
// direct dispatch hands it to the study's record callback. The daemon's
// tests run the same studies over NATS.
type memStore struct {
	mu       sync.Mutex
	handlers map[string]handler
	studies  map[string]*memStudy
	epochs   int
}

type memStudy struct {
	fingerprint, epoch string
	records            map[string][]*journal.Record // trial → records, first stored first
}

func newMem(handlers map[string]handler) *memStore {
	return &memStore{handlers: handlers, studies: map[string]*memStudy{}}
}

var _ Backend = (*memStore)(nil)

func (m *memStore) OpenJournal(_ context.Context, spec *Spec, fingerprint string, fresh bool) (Journal, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.studies[spec.Name]
	if fresh || s == nil {
		m.epochs++
		s = &memStudy{fingerprint: fingerprint, epoch: "e" + strconv.Itoa(m.epochs), records: map[string][]*journal.Record{}}
		m.studies[spec.Name] = s
	}
	if s.fingerprint != fingerprint {
		return nil, fmt.Errorf("%w (study %q: journal has %s, config has %s)", journal.ErrChanged, spec.Name, s.fingerprint, fingerprint)
	}
	j := &memJournal{m: m, study: spec.Name, epoch: s.epoch, stored: map[string]bool{}}
	for trial := range s.records {
		j.stored[trial] = true
		n, _ := strconv.Atoi(trial)
		j.frontier = max(j.frontier, n+1)
	}
	return j, nil
}

func (m *memStore) OpenSender(_ context.Context, spec *Spec, j Journal, record func(*wire.Task, *wire.Reply)) (Sender, error) {
	return &memSender{m: m, durable: spec.Dispatch != "direct", record: record}, nil
}

// put stores rec as the newest record of its trial.
func (m *memStore) put(rec *journal.Record) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := m.studies[rec.Task.Study]
	s.records[rec.Task.Trial] = append(s.records[rec.Task.Trial], rec)
}

type memJournal struct {
	m        *memStore
	study    string
	epoch    string
	stored   map[string]bool
	frontier int
}

func (j *memJournal) Epoch() string            { return j.epoch }
func (j *memJournal) Frontier() int            { return j.frontier }
func (j *memJournal) Stored(trial string) bool { return j.stored[trial] }

func (j *memJournal) Lookup(_ context.Context, trial string) (*journal.Record, error) {
	j.m.mu.Lock()
	defer j.m.mu.Unlock()
	for _, rec := range j.m.studies[j.study].records[trial] {
		if rec.Task.Epoch == j.epoch {
			return rec, nil
		}
	}
	return nil, nil
}

func (j *memJournal) Append(_ context.Context, t *wire.Task, r *wire.Reply) error {
	j.m.put(&journal.Record{V: wire.Version, Task: *t, Reply: *r})
	return nil
}

func (j *memJournal) Sync(context.Context) error { return nil }

type memSender struct {
	m       *memStore
	durable bool
	record  func(*wire.Task, *wire.Reply)
}

func (s *memSender) Send(ctx context.Context, tasks []*wire.Task) ([]*wire.Reply, error) {
	out := make([]*wire.Reply, len(tasks))
	for i, t := range tasks {
		h := s.m.handlers[t.Objective]
		if h == nil {
			return nil, fmt.Errorf("no evaluator of objective %q", t.Objective)
		}
		rep := h(ctx, t)
		rep.V, rep.ID = wire.Version, t.ID
		if s.durable {
			s.m.put(&journal.Record{V: wire.Version, Task: *t, Reply: rep})
		} else if s.record != nil {
			s.record(t, &rep)
		}
		out[i] = &rep
	}
	return out, nil
}

func (s *memSender) Close() {}
