package daemon

import (
	"sync"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/share"
	"github.com/zotune/zotune/transport"
)

// defaultSlots is the slots of an objective the daemon starts no
// evaluators of (they run elsewhere), until it learns better.
const defaultSlots = 4

// fairShare turns the sharing of slots on; the benchmark turns it off to
// measure what it gains (first come, first served).
var fairShare = true

// pools are the slots of each objective's evaluators, shared fairly by
// the studies of the objective (package share, docs/api.md).
type pools struct {
	mu     sync.Mutex
	pools  map[string]*share.Pool
	config map[string]int // the slots of the evaluators the daemon starts
}

func newPools(cfg *Config) *pools {
	p := &pools{pools: map[string]*share.Pool{}, config: map[string]int{}}
	for _, e := range cfg.Evaluators {
		p.config[e.Objective] += e.Slots * e.Count
	}
	return p
}

// pool returns the pool of objective.
func (p *pools) pool(objective string) *share.Pool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if pl, ok := p.pools[objective]; ok {
		return pl
	}
	n := p.config[objective]
	if n == 0 {
		n = defaultSlots
	}
	if !fairShare {
		n = 0 // unbounded: every task of a batch is queued at once
	}
	pl := share.New(n)
	p.pools[objective] = pl
	return pl
}

// share returns the share of study in its objective's slots.
func (p *pools) share(objective, study string) transport.Slots {
	return p.pool(objective).Study(study)
}

// objectives returns the slots of each objective some study used, and
// the tasks in flight and waiting for one.
func (p *pools) objectives() []api.Objective {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []api.Objective
	for name, pl := range p.pools {
		inFlight, waiting := pl.InFlight()
		out = append(out, api.Objective{Name: name, Slots: pl.Capacity(), InFlight: inFlight, Waiting: waiting})
	}
	for name, n := range p.config {
		if _, ok := p.pools[name]; !ok {
			out = append(out, api.Objective{Name: name, Slots: n})
		}
	}
	return out
}
