package api

import (
	"context"
	"encoding/json"
	"sort"
	"time"

	"github.com/nats-io/nats.go"
)

// Evaluators gathers the status of every evaluator on the connection's
// server: one request on SubjectEvaluators, every reply within wait.
func (c *Client) Evaluators(ctx context.Context, wait time.Duration) ([]Evaluator, error) {
	inbox := c.nc.NewRespInbox()
	sub, err := c.nc.SubscribeSync(inbox)
	if err != nil {
		return nil, err
	}
	defer sub.Unsubscribe()
	if err := c.nc.PublishRequest(SubjectEvaluators, inbox, nil); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	out := []Evaluator{}
	for {
		msg, err := sub.NextMsgWithContext(ctx)
		if err != nil {
			break
		}
		var e Evaluator
		if json.Unmarshal(msg.Data, &e) == nil {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Objective != out[j].Objective {
			return out[i].Objective < out[j].Objective
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

var _ = nats.ErrTimeout
