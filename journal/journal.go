// Package journal is the durable record of a study's evaluations: every
// finished evaluation (task and reply, success or failure) is stored in
// the JetStream journal stream under its study and trial, and a restarted
// study replays its deterministic run against it, so no finished
// simulation runs twice and nothing that arrived while tunerd was down is
// lost. With the embedded server the stream lives under data_dir; on an
// external NATS it lives there, replicated when the cluster has replicas.
//
// The package holds the records and their encoding, the stream, lookups,
// the study's generations (epochs), its fingerprint (what its config
// decides), and a watch feed of the results evaluators store. A study
// whose fingerprint changed is refused rather than fed answers to
// questions it never asked.
package journal

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/wire"
)

// ErrChanged is returned by Open when the journal holds records of a study
// of the same name with a different fingerprint.
var ErrChanged = errors.New("journal: the study's config changed since its journal was written")

// Journal is one study's view of the journal stream, and of its tasks
// still queued, as they stood when it was opened.
type Journal struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	study  string
	epoch  string
	// watchFrom is the stream sequence Watch starts at: the first one
	// after the journal took stock.
	watchFrom uint64
	// stored and queued are the trials that had a result, or a task in the
	// work queue, when the journal was opened. Read-only after Open.
	stored, queued map[string]bool
	// frontier is one past the highest trial number stored or queued when
	// the journal was opened: every trial from it on runs live.
	frontier int

	mu      sync.Mutex
	pending []pendingRecord // appended, not yet acknowledged
}

// Options for Open.
type Options struct {
	// Replicas of the journal stream: 1 (default) on a single server, 3
	// on a cluster.
	Replicas int
	// Objective is the study's objective: its work queue holds the
	// study's queued tasks.
	Objective string
	// Fresh discards the study's earlier records (and its queued tasks)
	// instead of resuming from them.
	Fresh bool
}

// Open ensures the journal stream, checks the study's fingerprint (stored
// if new, compared if present) and takes stock of the study's results and
// queued tasks.
func Open(ctx context.Context, js jetstream.JetStream, study, fingerprint string, o Options) (*Journal, error) {
	s, err := EnsureStream(ctx, js, o.Replicas)
	if err != nil {
		return nil, err
	}
	j := &Journal{js: js, stream: s, study: study}
	if o.Fresh {
		if err := purge(ctx, j.js, j.stream, j.study, o.Objective); err != nil {
			return nil, err
		}
	}
	// The study record is "<fingerprint> <epoch>". The epoch is new for
	// every fresh start; it keeps message ids of a new generation from
	// being taken for duplicates of the old one.
	subj := wire.SubjectStudy + study
	m, err := s.GetLastMsgForSubject(ctx, subj)
	switch {
	case err == nil:
		got, epoch, _ := strings.Cut(string(m.Data), " ")
		if got != fingerprint {
			return nil, fmt.Errorf("%w (study %q: journal has %s, config has %s)", ErrChanged, study, got, fingerprint)
		}
		j.epoch = epoch
	case errors.Is(err, jetstream.ErrMsgNotFound):
		j.epoch = strconv.FormatInt(time.Now().UnixNano(), 36)
		if _, err := js.Publish(ctx, subj, []byte(fingerprint+" "+j.epoch)); err != nil {
			return nil, fmt.Errorf("journal: storing fingerprint of %s: %w", study, err)
		}
	default:
		return nil, fmt.Errorf("journal: reading fingerprint of %s: %w", study, err)
	}
	if err := j.takeStock(ctx, o.Objective); err != nil {
		return nil, err
	}
	return j, nil
}

// takeStock fixes where Watch starts, then lists the study's queued tasks,
// then its stored results: a task acked before the first look had its
// result stored before it, so it shows in the second; a result stored
// after the second look has a sequence Watch delivers.
func (j *Journal) takeStock(ctx context.Context, objective string) error {
	info, err := j.stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("journal: %s: %w", j.study, err)
	}
	j.watchFrom = info.State.LastSeq + 1
	j.queued = map[string]bool{}
	if objective != "" {
		ts, err := j.js.Stream(ctx, wire.TaskStream(objective))
		switch {
		case err == nil:
			if j.queued, err = trialsIn(ctx, ts, wire.TaskSubject(objective, j.study, "*")); err != nil {
				return err
			}
		case !errors.Is(err, jetstream.ErrStreamNotFound):
			return fmt.Errorf("journal: task queue of %s: %w", objective, err)
		}
	}
	if j.stored, err = trialsIn(ctx, j.stream, wire.ResultSubject(j.study, "*")); err != nil {
		return err
	}
	j.frontier = frontierOf(j.stored, j.queued)
	return nil
}

// Frontier is one past the highest trial number that had a result or a
// queued task when the journal was opened: trials from it on were never
// evaluated before.
func (j *Journal) Frontier() int { return j.frontier }

// Stored reports whether trial had a result when the journal was opened.
func (j *Journal) Stored(trial string) bool { return j.stored[trial] }

// Queued reports whether trial had a task in the work queue when the
// journal was opened: an earlier run sent it, and its result is still to
// come.
func (j *Journal) Queued(trial string) bool { return j.queued[trial] }

// Resumed reports how many results and queued tasks the journal found of
// an earlier run.
func (j *Journal) Resumed() (stored, queued int) { return len(j.stored), len(j.queued) }

// Delete discards every record of study, and its tasks still queued for
// objective: what a fresh start of the study discards, for a study that is
// deleted. A journal stream that does not exist has nothing to discard.
func Delete(ctx context.Context, js jetstream.JetStream, study, objective string) error {
	stream, err := js.Stream(ctx, wire.JournalStream)
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal: %w", err)
	}
	return purge(ctx, js, stream, study, objective)
}

// purge discards the records of study in stream, and its tasks queued
// for objective ("": none).
func purge(ctx context.Context, js jetstream.JetStream, stream jetstream.Stream, study, objective string) error {
	for _, subj := range []string{wire.ResultSubject(study, "*"), wire.SubjectStudy + study} {
		if err := stream.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
			return fmt.Errorf("journal: discarding records of %s: %w", study, err)
		}
	}
	if objective == "" {
		return nil
	}
	ts, err := js.Stream(ctx, wire.TaskStream(objective))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal: task queue of %s: %w", objective, err)
	}
	if err := ts.Purge(ctx, jetstream.WithPurgeSubject(wire.TaskSubject(objective, study, "*"))); err != nil {
		return fmt.Errorf("journal: discarding queued tasks of %s: %w", study, err)
	}
	return nil
}

// Epoch is the study's journal generation; tasks carry it (Task.Epoch).
func (j *Journal) Epoch() string { return j.epoch }

// Lookup returns the record of a trial, or nil if it has none: the first
// one stored by this generation of the study (Epoch). Records of earlier
// generations (an evaluator that finished an old task after a fresh start)
// are skipped. A record that cannot be read is an error wrapping
// ErrBadRecord.
func (j *Journal) Lookup(ctx context.Context, trial string) (*Record, error) {
	return Find(ctx, j.stream, j.study, trial, j.epoch)
}

// maxPending bounds the records Append has published and not yet seen
// acknowledged; past it Append waits for them first.
const maxPending = 1024

// Append publishes a finished evaluation (as Store does) without waiting
// for the server's acknowledgement; Sync waits for it. Appending costs the
// caller no round trip, so that a dispatcher that records each result as
// it arrives is not slowed by the journal.
func (j *Journal) Append(ctx context.Context, t *wire.Task, r *wire.Reply) error {
	data, err := encodeRecord(t, r)
	if err != nil {
		return err
	}
	j.mu.Lock()
	full := len(j.pending) >= maxPending
	j.mu.Unlock()
	if full {
		if err := j.Sync(ctx); err != nil {
			return err
		}
	}
	f, err := j.js.PublishAsync(wire.ResultSubject(t.Study, t.Trial), data, jetstream.WithMsgID(msgID(t)))
	if err != nil {
		return fmt.Errorf("journal: storing result of %s: %w", t.ID, err)
	}
	j.mu.Lock()
	j.pending = append(j.pending, pendingRecord{t: t, data: data, ack: f})
	j.mu.Unlock()
	return nil
}

// pendingRecord is a record published and not yet known stored.
type pendingRecord struct {
	t    *wire.Task
	data []byte
	ack  jetstream.PubAckFuture
}

// Sync waits until every record appended so far is stored, and returns
// the first failure among them. A record whose asynchronous publication
// failed (its server connection was lost, say, a cluster node died) is
// published again, waiting for the acknowledgement, before Sync gives up
// on it; the message id makes a second copy harmless. Sync stops at the
// first record that fails again, and when ctx ends.
func (j *Journal) Sync(ctx context.Context) error {
	j.mu.Lock()
	pending := j.pending
	j.pending = nil
	j.mu.Unlock()
	var failed []pendingRecord
	for _, p := range pending {
		select {
		case <-p.ack.Ok():
		case <-p.ack.Err():
			failed = append(failed, p)
		case <-ctx.Done():
			return fmt.Errorf("journal: waiting for results to be stored: %w", ctx.Err())
		}
	}
	for _, p := range failed {
		if _, err := j.js.Publish(ctx, wire.ResultSubject(p.t.Study, p.t.Trial), p.data, jetstream.WithMsgID(msgID(p.t))); err != nil {
			return fmt.Errorf("journal: storing result of %s: %w", p.t.ID, err)
		}
	}
	return nil
}
