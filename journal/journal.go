// Package journal is the durable record of a study's evaluations: every
// finished evaluation (task and reply, success or failure) is stored in
// the JetStream journal stream under its study and trial, and a restarted
// study replays its deterministic run against it, so no finished
// simulation runs twice and nothing that arrived while tunerd was down is
// lost. With the embedded server the stream lives under data_dir; on an
// external NATS it lives there, replicated when the cluster has replicas.
//
// A study's fingerprint (the config fields that determine its run) is
// stored beside its records; a study whose config changed incompatibly is
// refused rather than fed answers to questions it never asked.
package journal

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
)

// ErrChanged is returned by Open when the journal holds records of a study
// of the same name with a different fingerprint.
var ErrChanged = errors.New("journal: the study's config changed since its journal was written")

// Journal is one study's view of the journal stream.
type Journal struct {
	js     jetstream.JetStream
	stream jetstream.Stream
	study  string
	epoch  string
	// frontier is one past the highest trial number with a record when
	// the journal was opened: every trial from it on runs live.
	frontier int
}

// Options for Open.
type Options struct {
	Durable transport.DurableOptions
	// Fresh discards the study's earlier records (and its queued tasks for
	// Objective) instead of resuming from them.
	Fresh     bool
	Objective string
}

// Open ensures the journal stream and checks the study's fingerprint:
// stored if new, compared if present.
func Open(ctx context.Context, js jetstream.JetStream, study, fingerprint string, o Options) (*Journal, error) {
	s, err := transport.EnsureJournal(ctx, js, o.Durable)
	if err != nil {
		return nil, err
	}
	j := &Journal{js: js, stream: s, study: study}
	if o.Fresh {
		if err := j.purge(ctx, o); err != nil {
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
	if j.frontier, err = Frontier(ctx, s, wire.ResultSubject(study, "*")); err != nil {
		return nil, err
	}
	return j, nil
}

// Frontier returns one past the highest trial number among the subjects
// of stream s that match filter (whose last token is a trial id), or 0
// when none does.
func Frontier(ctx context.Context, s jetstream.Stream, filter string) (int, error) {
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return 0, fmt.Errorf("journal: listing %s: %w", filter, err)
	}
	frontier := 0
	for subj := range info.State.Subjects {
		if n, err := strconv.Atoi(subj[strings.LastIndexByte(subj, '.')+1:]); err == nil {
			frontier = max(frontier, n+1)
		}
	}
	return frontier, nil
}

// Frontier is one past the highest trial number the journal held a record
// of when it was opened: trials from it on have not been evaluated before.
func (j *Journal) Frontier() int { return j.frontier }

func (j *Journal) purge(ctx context.Context, o Options) error {
	for _, subj := range []string{wire.ResultSubject(j.study, "*"), wire.SubjectStudy + j.study} {
		if err := j.stream.Purge(ctx, jetstream.WithPurgeSubject(subj)); err != nil {
			return fmt.Errorf("journal: discarding records of %s: %w", j.study, err)
		}
	}
	if o.Objective == "" {
		return nil
	}
	ts, err := j.js.Stream(ctx, wire.TaskStream(o.Objective))
	if errors.Is(err, jetstream.ErrStreamNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("journal: task queue of %s: %w", o.Objective, err)
	}
	if err := ts.Purge(ctx, jetstream.WithPurgeSubject(wire.TaskSubject(o.Objective, j.study, "*"))); err != nil {
		return fmt.Errorf("journal: discarding queued tasks of %s: %w", j.study, err)
	}
	return nil
}

// Epoch is the study's journal generation; tasks carry it (Task.Epoch).
func (j *Journal) Epoch() string { return j.epoch }

// Lookup returns the record of a trial, or nil if it has none: the first
// one stored by this generation of the study (Epoch), as the durable queue
// reads it. Records of earlier generations (an evaluator that finished an
// old task after a fresh start) are skipped. A record that cannot be read
// is an error wrapping transport.ErrBadRecord.
func (j *Journal) Lookup(ctx context.Context, trial string) (*transport.Record, error) {
	return transport.LookupEpoch(ctx, j.stream, j.study, trial, j.epoch)
}

// Append stores a finished evaluation.
func (j *Journal) Append(ctx context.Context, t *wire.Task, r *wire.Reply) error {
	return transport.PublishRecord(ctx, j.js, t, r)
}
