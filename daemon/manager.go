package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/study"
)

// managed is a study the daemon knows: its registry entry, and its run in
// this process, if any.
type managed struct {
	entry
	live   *study.Live        // the current or last run in this process; nil: none
	cancel context.CancelFunc // of the run in progress; nil when none runs
	done   chan struct{}      // closed when the run in progress returns
	sum    *study.Summary     // what the last run returned
	err    error              // and its error
	gone   bool               // dropped: deleted from the daemon
	rev    uint64             // the latest revision of its registry entry seen
}

// manager runs the daemon's studies: those of the config file, and in a
// serving daemon those submitted over the API, recorded in the registry.
type manager struct {
	d   *daemon
	reg *registry // nil: the studies are not recorded (tunerd run, no JetStream)
	// leases decide which daemon drives each study when several share the
	// registry; nil: this daemon drives every active study it knows
	// (tunerd run, no JetStream). id is this daemon's holder id.
	leases *leases
	id     string
	wake   chan struct{} // a claim pass is wanted now
	// claiming is held by a claim, from its lease to the start of its
	// study.
	claiming sync.Mutex
	log      zerolog.Logger
	// run are the options every study runs with (Live is set per run).
	run study.RunOptions

	mu      sync.Mutex
	studies map[string]*managed
	order   []*managed // creation order
	closed  bool       // shutting down: no study starts
	wg      sync.WaitGroup
}

func newManager(d *daemon, run study.RunOptions) *manager {
	return &manager{
		d: d, run: run, studies: map[string]*managed{},
		log: d.log.With().Str("component", "studies").Logger(),
	}
}

// errClosed is returned for a study that would start while the daemon
// shuts down.
var errClosed = &api.Error{Code: api.CodeUnavailable, Message: "the daemon is shutting down"}

// add registers a study with the manager (not the registry) and starts it
// if it is active, unless leases decide that: claim starts it then. It
// fails when a study of that name exists.
func (m *manager) add(e entry, fresh bool) (*managed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosed
	}
	if _, dup := m.studies[e.Name]; dup {
		return nil, fmt.Errorf("daemon: study %q exists", e.Name)
	}
	s := &managed{entry: e}
	m.studies[e.Name] = s
	m.order = append(m.order, s)
	if e.State == api.StateActive && m.leases == nil {
		m.start(s, fresh)
	}
	return s, nil
}

// start runs s in a goroutine of its own. m.mu is held.
func (m *manager) start(s *managed, fresh bool) {
	ctx, cancel := context.WithCancel(m.d.objective(s.Spec.Objective))
	s.live, s.cancel, s.done = &study.Live{}, cancel, make(chan struct{})
	s.sum, s.err = nil, nil
	ro := m.run
	ro.Live, ro.Fresh = s.live, fresh
	spec := s.Spec
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		sum, err := study.Run(ctx, &spec, ro)
		m.mu.Lock()
		s.sum, s.err, s.cancel = sum, err, nil
		close(s.done)
		m.mu.Unlock()
		cancel()
		if err != nil && ctx.Err() == nil {
			m.log.Error().Str("study", spec.Name).Err(err).Msg("study could not run")
		}
		if err == nil && sum != nil && study.Finished(sum, &spec) {
			m.finished(s, sum)
		}
	}()
}

// halt cancels the run of s, if one is in progress, and waits for it to
// return.
func (m *manager) halt(s *managed) {
	m.mu.Lock()
	cancel, done := s.cancel, s.done
	m.mu.Unlock()
	if cancel != nil {
		cancel()
		<-done
	}
}

// wait waits for the run in progress of s, if any, to return, or for ctx
// to end.
func (m *manager) wait(ctx context.Context, s *managed) error {
	m.mu.Lock()
	done := s.done
	m.mu.Unlock()
	if done == nil {
		return nil
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// close stops every study (their summaries say "stopped"; active ones run
// again when the daemon restarts) and waits for them to return.
func (m *manager) close() {
	m.mu.Lock()
	m.closed = true
	for _, s := range m.order {
		if s.cancel != nil {
			s.cancel()
		}
	}
	m.mu.Unlock()
	m.wg.Wait()
}

// find returns the study called name.
func (m *manager) find(name string) (*managed, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if s, ok := m.studies[name]; ok {
		return s, nil
	}
	return nil, &api.Error{Code: api.CodeNotFound, Message: fmt.Sprintf("no study %q", name)}
}

// all returns every study, in creation order.
func (m *manager) all() []*managed {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.order)
}

// drop forgets the study s.
func (m *manager) drop(s *managed) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s.gone = true
	if m.studies[s.Name] == s {
		delete(m.studies, s.Name)
	}
	m.order = slices.DeleteFunc(m.order, func(x *managed) bool { return x == s })
}

// summary returns the study's summary as it stands: its run's, in this
// process, or the one on disk; nil before it has one.
func (m *manager) summary(s *managed) *study.Summary {
	m.mu.Lock()
	live, sum := s.live, s.sum
	m.mu.Unlock()
	if live != nil {
		if ls, ok := live.Summary(); ok && (sum == nil || sum.Earlier) {
			return &ls
		}
	}
	if sum != nil {
		return sum
	}
	return study.ReadSummary(m.run.DataDir, s.Name)
}

// running reports whether a run of s is in progress.
func (m *manager) running(s *managed) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return s.cancel != nil
}

// sortEntries orders registry entries by creation, then name.
func sortEntries(es []*entry) {
	slices.SortFunc(es, func(a, b *entry) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Name, b.Name))
	})
}

// results are the summaries and errors of the given studies' last runs.
func (m *manager) results(names []string) (*Result, []error) {
	res := &Result{Summaries: make([]*study.Summary, len(names))}
	errs := make([]error, len(names))
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, n := range names {
		if s, ok := m.studies[n]; ok {
			res.Summaries[i], errs[i] = s.sum, s.err
		}
	}
	return res, errs
}

// addStudies adds and starts specs, the studies of `tunerd run`, and
// returns their names.
func (m *manager) addStudies(specs []study.Spec, fresh bool) ([]string, error) {
	names := make([]string, len(specs))
	now := time.Now().UTC()
	for i, spec := range specs {
		names[i] = spec.Name
		e := entry{Name: spec.Name, Origin: api.OriginConfig, State: api.StateActive, Created: now, Spec: spec}
		if _, err := m.add(e, fresh); err != nil {
			return nil, err
		}
	}
	return names, nil
}

// waitStudies waits for the studies called names to end, or for ctx to
// end (every study is then stopped), and returns their results.
func (m *manager) waitStudies(ctx context.Context, names []string) (*Result, []error) {
	for _, s := range m.all() {
		if m.wait(ctx, s) != nil {
			m.close()
			break
		}
	}
	return m.results(names)
}

// errNotServing is the API's answer to a change of studies a `tunerd run`
// daemon was asked for.
var errNotServing = &api.Error{Code: api.CodeUnavailable, Message: "this daemon runs `tunerd run`: it runs its config's studies only; submit studies to `tunerd serve`"}

// errStatus wraps err for the API: errors that are not an *api.Error
// already are internal ones.
func errStatus(err error) *api.Error {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae
	}
	return &api.Error{Code: api.CodeInternal, Message: err.Error()}
}
