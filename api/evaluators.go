package api

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go"
)

// Evaluators asks every evaluator on the connection's account for its
// status: it publishes one request on SubjectEvaluators, which each
// evaluator answers, and gathers the replies until wait has passed. When
// no evaluator listens at all the server says so at once, and Evaluators
// returns without waiting. The evaluators are returned sorted by
// objective, then name; none is an empty list, not an error. A reply that
// is not an Evaluator (no id, name or objective, or not JSON) is left out.
// If ctx ends before wait has passed, Evaluators returns ctx's error.
func (c *Client) Evaluators(ctx context.Context, wait time.Duration) ([]Evaluator, error) {
	inbox := c.nc.NewInbox()
	sub, err := c.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, fmt.Errorf("api: %s: %w", SubjectEvaluators, err)
	}
	defer func() { _ = sub.Unsubscribe() }()
	if err := c.nc.PublishRequest(SubjectEvaluators, inbox, nil); err != nil {
		return nil, fmt.Errorf("api: %s: %w", SubjectEvaluators, err)
	}
	gather, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	out := []Evaluator{}
	for {
		msg, err := sub.NextMsgWithContext(gather)
		switch {
		case ctx.Err() != nil:
			return nil, fmt.Errorf("api: %s: %w", SubjectEvaluators, ctx.Err())
		case gather.Err() != nil:
			sortEvaluators(out)
			return out, nil
		case errors.Is(err, nats.ErrNoResponders):
			return out, nil // the server's answer when nobody listens
		case err != nil:
			return nil, fmt.Errorf("api: %s: %w", SubjectEvaluators, err)
		}
		if e, ok := decodeEvaluator(msg.Data); ok {
			out = append(out, e)
		}
	}
}

// decodeEvaluator reads one status reply; ok is false for anything but an
// Evaluator that names itself.
func decodeEvaluator(data []byte) (e Evaluator, ok bool) {
	if err := json.Unmarshal(data, &e); err != nil {
		return Evaluator{}, false
	}
	return e, e.ID != "" && e.Name != "" && e.Objective != ""
}

func sortEvaluators(es []Evaluator) {
	slices.SortFunc(es, func(a, b Evaluator) int {
		return cmp.Or(cmp.Compare(a.Objective, b.Objective), cmp.Compare(a.Name, b.Name), cmp.Compare(a.ID, b.ID))
	})
}
