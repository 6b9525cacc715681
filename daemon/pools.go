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
	// seen is what the evaluators answered when last asked, by objective.
	seen map[string][]api.Evaluator
}

func newPools(cfg *Config) *pools {
	p := &pools{pools: map[string]*share.Pool{}, config: map[string]int{}, seen: map[string][]api.Evaluator{}}
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
	pl := share.New(p.capacity(objective))
	p.pools[objective] = pl
	return pl
}

// capacity is the slots of objective: those of the evaluators the daemon
// starts, or of all that answered if more (some run elsewhere), or
// defaultSlots when the daemon knows of none. p.mu is held.
func (p *pools) capacity(objective string) int {
	n := p.config[objective]
	seen := 0
	for _, e := range p.seen[objective] {
		seen += e.Slots
	}
	n = max(n, seen)
	if n == 0 {
		n = defaultSlots
	}
	if !fairShare {
		n = 0 // unbounded: every task of a batch is queued at once
	}
	return n
}

// discovered records the evaluators that answered, and sizes the pools
// by them.
func (p *pools) discovered(es []api.Evaluator) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seen = map[string][]api.Evaluator{}
	for _, e := range es {
		p.seen[e.Objective] = append(p.seen[e.Objective], e)
	}
	for name, pl := range p.pools {
		pl.SetCapacity(p.capacity(name))
	}
}

// share returns the share of study in its objective's slots.
func (p *pools) share(objective, study string) transport.Slots {
	return p.pool(objective).Study(study)
}

// objectives returns, for each objective known (used by a study, served
// by an evaluator the daemon starts or that answered), its evaluators,
// slots and busy slots, and the tasks in flight and waiting for a slot.
func (p *pools) objectives(started map[string]int) []api.Objective {
	p.mu.Lock()
	defer p.mu.Unlock()
	names := map[string]bool{}
	for _, m := range []map[string]int{p.config, started} {
		for n := range m {
			names[n] = true
		}
	}
	for n := range p.pools {
		names[n] = true
	}
	for n := range p.seen {
		names[n] = true
	}
	var out []api.Objective
	for name := range names {
		o := api.Objective{Name: name, Slots: p.capacity(name), Evaluators: max(started[name], len(p.seen[name]))}
		for _, e := range p.seen[name] {
			o.Busy += e.Busy
		}
		if pl, ok := p.pools[name]; ok {
			o.InFlight, o.Waiting = pl.InFlight()
		}
		out = append(out, o)
	}
	return out
}
