package study

import (
	"context"

	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/wire"
)

// Journal is a study's record of its evaluations: those of its earlier
// runs, as they stood when it was opened, and those it appends.
// *journal.Journal (JetStream) is one; tests use one in memory.
type Journal interface {
	// Epoch is the study's generation; tasks carry it.
	Epoch() string
	// Frontier is the first trial number no earlier run evaluated.
	Frontier() int
	// Stored reports whether trial had a result when the journal was
	// opened; Lookup returns it (nil if it was of another generation).
	Stored(trial string) bool
	Lookup(ctx context.Context, trial string) (*journal.Record, error)
	// Append stores a finished evaluation, for dispatch whose evaluators
	// do not store their results themselves. It need not wait for the
	// store: Sync does.
	Append(ctx context.Context, t *wire.Task, r *wire.Reply) error
	// Sync waits until every evaluation appended is stored, and returns
	// the first failure to store one.
	Sync(ctx context.Context) error
}

// Sender delivers a study's tasks to evaluators and returns their replies
// in order, each the reply to its own task.
type Sender interface {
	Send(ctx context.Context, tasks []*wire.Task) ([]*wire.Reply, error)
	Close()
}

// Backend gives a study its journal and its dispatch: NATS and JetStream
// in tunerd (package daemon), memory in tests.
type Backend interface {
	// OpenJournal opens the journal of spec's study, whose fingerprint is
	// fingerprint; fresh discards its earlier records. It fails wrapping
	// journal.ErrChanged when the journal holds records of another
	// fingerprint. A nil Journal and nil error: there is none (the study
	// cannot resume after a crash).
	OpenJournal(ctx context.Context, spec *Spec, fingerprint string, fresh bool) (Journal, error)
	// OpenSender opens the dispatch of spec's tasks (spec.Dispatch) over j
	// (nil: no journal). Dispatch whose evaluators do not store results
	// hands each to record as it arrives.
	OpenSender(ctx context.Context, spec *Spec, j Journal, record func(*wire.Task, *wire.Reply)) (Sender, error)
}
