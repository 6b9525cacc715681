package journal

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/wire"
)

// EnsureStream creates or updates the journal stream, with replicas
// replicas (1 on a single server, 3 on a cluster).
func EnsureStream(ctx context.Context, js jetstream.JetStream, replicas int) (jetstream.Stream, error) {
	s, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        wire.JournalStream,
		Description: "zotune: every finished evaluation, by study and trial",
		Subjects:    []string{wire.SubjectResult + ">", wire.SubjectStudy + ">"},
		Retention:   jetstream.LimitsPolicy,
		Storage:     jetstream.FileStorage,
		Replicas:    max(replicas, 1),
		Duplicates:  10 * time.Minute,
	})
	if err != nil {
		return nil, fmt.Errorf("journal: stream: %w", ReplicasError(err, replicas))
	}
	return s, nil
}

// ErrReplicas is wrapped by ReplicasError: the NATS servers cannot hold
// the replicas asked of a stream or bucket.
var ErrReplicas = errors.New("not enough JetStream servers for nats.replicas")

// JetStream API error codes of a stream or consumer refused for its
// replicas.
const (
	codeNoPeers      jetstream.ErrorCode = 10005 // no suitable peers for placement
	codeNotClustered jetstream.ErrorCode = 10074 // replicas > 1 not supported in non-clustered mode
)

// ReplicasError explains err when it is JetStream refusing a stream, a
// bucket or a consumer of replicas replicas because there are not that
// many servers to hold them: a single server asked for more than one, or
// a cluster with fewer servers online than replicas. Other errors are
// returned as they are. Every place that creates a stream or bucket with
// nats.replicas passes its error through here.
func ReplicasError(err error, replicas int) error {
	var ae *jetstream.APIError
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.ErrorCode {
	case codeNotClustered:
		return fmt.Errorf("%w: nats.replicas = %d, but the NATS server is a single server, not a cluster: set nats.replicas = 1 (%v)", ErrReplicas, replicas, err)
	case codeNoPeers:
		return fmt.Errorf("%w: nats.replicas = %d needs %d JetStream servers of the cluster online, and fewer are: lower nats.replicas to the cluster's size, or bring its servers up (%v)", ErrReplicas, replicas, replicas, err)
	}
	return err
}

// Find returns the first record stored for a trial of a study by its
// generation epoch (see wire.Task.Epoch), or nil if the journal has none.
// Records of other generations are skipped; a record that cannot be read
// is an error wrapping ErrBadRecord.
func Find(ctx context.Context, stream jetstream.Stream, study, trial, epoch string) (*Record, error) {
	subj := wire.ResultSubject(study, trial)
	for seq := uint64(1); ; {
		m, err := stream.GetMsg(ctx, seq, jetstream.WithGetMsgSubject(subj))
		if errors.Is(err, jetstream.ErrMsgNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("journal: lookup %s/%s: %w", study, trial, err)
		}
		rec, err := DecodeRecord(m.Data)
		if err != nil {
			return nil, fmt.Errorf("journal: result %s (stream sequence %d): %w", subj, m.Sequence, err)
		}
		if rec.Task.Epoch == epoch {
			return rec, nil
		}
		seq = m.Sequence + 1
	}
}

// trialsIn lists the trials (the last subject token) with messages on
// filter in stream s.
func trialsIn(ctx context.Context, s jetstream.Stream, filter string) (map[string]bool, error) {
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return nil, fmt.Errorf("journal: listing %s: %w", filter, err)
	}
	out := make(map[string]bool, len(info.State.Subjects))
	for subj := range info.State.Subjects {
		out[subj[strings.LastIndexByte(subj, '.')+1:]] = true
	}
	return out, nil
}

// frontierOf returns one past the highest trial number in the sets.
func frontierOf(sets ...map[string]bool) int {
	frontier := 0
	for _, set := range sets {
		for trial := range set {
			if n, err := strconv.Atoi(trial); err == nil {
				frontier = max(frontier, n+1)
			}
		}
	}
	return frontier
}
