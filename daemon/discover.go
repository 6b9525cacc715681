package daemon

import (
	"context"
	"time"

	"github.com/zotune/zotune/api"
)

// The daemon asks every evaluator on its NATS server for its status every
// discoverEvery, waiting discoverWait for the answers: the slots of an
// objective's evaluators started elsewhere bound its studies' tasks, and
// the page and the metrics show the evaluators and their busy slots.
const (
	discoverEvery = 5 * time.Second
	discoverWait  = 500 * time.Millisecond
)

// discover keeps the evaluators' status current until ctx ends.
func (d *daemon) discover(ctx context.Context) {
	c := api.NewClient(d.nc)
	for {
		es, err := c.Evaluators(ctx, discoverWait)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			d.log.Debug().Err(err).Msg("asking the evaluators for their status")
		} else {
			d.pools.discovered(es)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(discoverEvery):
		}
	}
}
