package daemon

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"time"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/study"
)

// The operations of the control API on the studies of a serving daemon.
// Each returns an *api.Error for what the caller got wrong.

// boot starts a serving daemon's studies: those of the config file, then
// those the registry holds from earlier runs that are still active. A
// study of the config keeps the state the registry has for it (a study
// stopped over the API stays stopped); one no longer in the config is
// dropped from the registry, its outputs and journal kept.
func (m *manager) boot(ctx context.Context, specs []study.Spec) error {
	var entries []*entry
	if m.reg != nil {
		var bad []error
		var err error
		if entries, bad, err = m.reg.load(ctx); err != nil {
			return err
		}
		for _, err := range bad {
			m.log.Error().Err(err).Msg("a recorded study cannot be run; its entry is kept")
		}
	}
	known := map[string]*entry{}
	for _, e := range entries {
		known[e.Name] = e
	}
	now := time.Now().UTC()
	for _, spec := range specs {
		e := entry{Name: spec.Name, Origin: api.OriginConfig, State: api.StateActive, Created: now, Spec: spec, Owner: m.id}
		if k, ok := known[spec.Name]; ok {
			if k.Origin != api.OriginConfig {
				return fmt.Errorf("daemon: study %q of the config file was also submitted over the API; delete that one (tunerd delete %s) or rename one of them", spec.Name, spec.Name)
			}
			e.State, e.Created, e.Driver = k.State, k.Created, k.Driver
			if reflect.DeepEqual(k.Spec, spec) {
				e.Ended = k.Ended // a changed budget may take it further
			}
			delete(known, spec.Name)
		}
		if _, err := m.record(ctx, &e); err != nil {
			return err
		}
		if err := m.addClaim(ctx, e); err != nil {
			return err
		}
	}
	for _, e := range entries {
		if _, ok := known[e.Name]; !ok {
			continue
		}
		if e.Origin == api.OriginConfig && (e.Owner == "" || e.Owner == m.id) {
			m.log.Info().Str("study", e.Name).Msg("study no longer in the config file; its outputs and journal are kept")
			if err := m.reg.remove(ctx, e.Name); err != nil {
				return err
			}
			continue
		}
		if err := m.addClaim(ctx, *e); err != nil {
			return err
		}
	}
	return nil
}

// addClaim adds e to the manager and claims it.
func (m *manager) addClaim(ctx context.Context, e entry) error {
	s, err := m.add(e, false)
	if err != nil {
		return err
	}
	m.claim(ctx, s)
	return nil
}

// record stores e in the registry, if there is one.
// The revision of its entry is returned, 0 without a registry.
func (m *manager) record(ctx context.Context, e *entry) (uint64, error) {
	if m.reg == nil {
		return 0, nil
	}
	return m.reg.put(ctx, e)
}

// create registers and starts the studies of a submitted document. They
// are all checked before any starts. Submitting a study that exists with
// the same definition again changes nothing.
func (m *manager) create(ctx context.Context, specs []study.Spec) ([]api.Study, error) {
	if !m.d.serving {
		return nil, errNotServing
	}
	var fresh []study.Spec
	for i := range specs {
		isNew, err := m.admit(&specs[i])
		if err != nil {
			return nil, err
		}
		if isNew {
			fresh = append(fresh, specs[i])
		}
	}
	now := time.Now().UTC()
	for _, spec := range fresh {
		e := entry{Name: spec.Name, Origin: api.OriginAPI, State: api.StateActive, Created: now, Spec: spec}
		// Added before it is recorded: the registry's watch sees it then
		// as known.
		s, err := m.add(e, false)
		if err != nil {
			return nil, err
		}
		rev, err := m.record(ctx, &e)
		if err != nil {
			m.halt(s)
			m.drop(s)
			return nil, err
		}
		m.mu.Lock()
		s.rev = max(s.rev, rev)
		m.mu.Unlock()
		m.claim(ctx, s)
		m.log.Info().Str("study", spec.Name).Str("objective", spec.Objective).Msg("study submitted")
	}
	out := make([]api.Study, len(specs))
	for i, spec := range specs {
		s, err := m.find(spec.Name)
		if err != nil {
			return nil, err
		}
		out[i] = m.view(s, false)
	}
	return out, nil
}

// admit checks that spec may be created: reports whether it is new, or
// exists with the same definition.
func (m *manager) admit(spec *study.Spec) (bool, error) {
	if s, err := m.find(spec.Name); err == nil {
		if reflect.DeepEqual(s.Spec, *spec) {
			return false, nil
		}
		return false, &api.Error{Code: api.CodeConflict, Message: fmt.Sprintf(
			"study %q exists with another definition; stop and delete it first (tunerd delete %s), or choose another name", spec.Name, spec.Name)}
	}
	if why := m.d.unserved(spec.Objective); why != "" {
		return false, &api.Error{Code: api.CodeBadRequest, Message: fmt.Sprintf("study %q: %s", spec.Name, why)}
	}
	if prev := study.ReadSummary(m.run.DataDir, spec.Name); prev != nil && prev.Fingerprint != study.Fingerprint(spec) {
		return false, &api.Error{Code: api.CodeConflict, Message: fmt.Sprintf(
			"an earlier study named %q with another definition left its evaluations and outputs; "+
				"discard them (tunerd delete %s --journal) or choose another name", spec.Name, spec.Name)}
	}
	return true, nil
}

// stop stops a study; it stays stopped, across restarts, until resumed.
func (m *manager) stop(ctx context.Context, name string) (api.Study, error) {
	s, err := m.find(name)
	if err != nil {
		return api.Study{}, err
	}
	if !m.running(s) && m.state(s) == api.StateActive {
		if status := m.ended(s); status != "" {
			return api.Study{}, &api.Error{Code: api.CodeConflict, Message: fmt.Sprintf("study %q has finished (%s)", name, status)}
		}
	}
	m.halt(s)
	if err := m.setState(ctx, s, api.StateStopped); err != nil {
		return api.Study{}, err
	}
	if m.leases != nil {
		m.leases.release(ctx, name)
	}
	m.log.Info().Str("study", name).Msg("study stopped")
	return m.view(s, false), nil
}

// resume runs a stopped study again, or one that ended on an error that
// may be transient; a finished one is refused.
func (m *manager) resume(ctx context.Context, name string) (api.Study, error) {
	if !m.d.serving {
		return api.Study{}, errNotServing
	}
	s, err := m.find(name)
	if err != nil {
		return api.Study{}, err
	}
	if m.running(s) {
		return m.view(s, false), nil
	}
	if status := m.ended(s); status != "" {
		return api.Study{}, &api.Error{Code: api.CodeConflict, Message: fmt.Sprintf(
			"study %q has finished (%s); to run it again, delete it with its journal and submit it anew", name, status)}
	}
	if err := m.setState(ctx, s, api.StateActive); err != nil {
		return api.Study{}, err
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return api.Study{}, errClosed
	}
	if m.leases == nil || m.leases.holds(name) {
		m.start(s, false)
		m.mu.Unlock()
	} else {
		m.mu.Unlock()
		m.claim(ctx, s)
	}
	m.log.Info().Str("study", name).Msg("study resumed")
	return m.view(s, false), nil
}

// setState records the state of s.
func (m *manager) setState(ctx context.Context, s *managed, state string) error {
	m.mu.Lock()
	s.State = state
	m.mu.Unlock()
	if m.reg == nil {
		return nil
	}
	return m.reg.update(ctx, s.Name, func(e *entry) { e.State = state })
}

// state returns the state of s.
func (m *manager) state(s *managed) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return s.State
}

// ended returns the status s finished with, "" if it has not: the
// registry's word, or its summary here.
func (m *manager) ended(s *managed) string {
	m.mu.Lock()
	status := s.Ended
	m.mu.Unlock()
	if status != "" {
		return status
	}
	if sum := m.summary(s); sum != nil && study.Finished(sum, &s.Spec) {
		return sum.Status
	}
	return ""
}

// remove deletes a study from the daemon, stopping it first; with
// withJournal, its journal and outputs too.
func (m *manager) remove(ctx context.Context, name string, withJournal bool) (*api.Deleted, error) {
	if !m.d.serving {
		return nil, errNotServing
	}
	s, err := m.find(name)
	if err != nil {
		return nil, err
	}
	if s.Origin == api.OriginConfig {
		return nil, &api.Error{Code: api.CodeConflict, Message: fmt.Sprintf(
			"study %q is defined in the daemon's config file: remove it there (or stop it: tunerd stop %s)", name, name)}
	}
	m.halt(s)
	if m.reg != nil {
		if err := m.reg.remove(ctx, name); err != nil {
			return nil, err
		}
	}
	if m.leases != nil {
		m.leases.forget(ctx, name)
	}
	m.drop(s)
	m.d.metrics.Forget(name)
	if withJournal {
		if err := m.discard(ctx, s); err != nil {
			return nil, err
		}
	}
	m.log.Info().Str("study", name).Bool("journal", withJournal).Msg("study deleted")
	return &api.Deleted{Study: name, Journal: withJournal}, nil
}

// discard deletes the journal and outputs of s.
func (m *manager) discard(ctx context.Context, s *managed) error {
	if m.d.js != nil {
		if err := journal.Delete(ctx, m.d.js, s.Name, s.Spec.Objective); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(filepath.Join(m.run.DataDir, s.Name)); err != nil {
		return fmt.Errorf("daemon: deleting the outputs of %s: %w", s.Name, err)
	}
	return nil
}

// get returns a study, with its summary.
func (m *manager) get(name string) (api.Study, error) {
	s, err := m.find(name)
	if err != nil {
		return api.Study{}, err
	}
	return m.view(s, true), nil
}

// list returns every study.
func (m *manager) list() []api.Study {
	all := m.all()
	out := make([]api.Study, len(all))
	for i, s := range all {
		out[i] = m.view(s, false)
	}
	return out
}

// errBadName is the API's answer to a request without a study name.
var errBadName = &api.Error{Code: api.CodeBadRequest, Message: `the request names no study: send {"study": "NAME"}`}

// checkName refuses an empty study name.
func checkName(name string) error {
	if strings.TrimSpace(name) == "" {
		return errBadName
	}
	return nil
}
