package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/chart"
	"github.com/zotune/zotune/metrics"
	"github.com/zotune/zotune/web"
)

// source is what the status page and the metrics show of the daemon.
type source struct{ d *daemon }

var _ web.Source = source{}

func (s source) Studies() []api.Study {
	if s.d.mgr == nil {
		return nil
	}
	return s.d.mgr.list()
}

func (s source) Objectives() []api.Objective { return s.d.objectives() }

func (s source) Convergence(study string) (*chart.Convergence, bool) {
	if s.d.mgr == nil {
		return nil, false
	}
	return s.d.mgr.convergence(study)
}

// Healthy reports what keeps the daemon from working: its connection to
// NATS lost, or its store full.
func (s source) Healthy() error {
	if !s.d.nc.IsConnected() {
		return fmt.Errorf("not connected to the NATS server (%s)", s.d.nc.Status())
	}
	s.d.mu.Lock()
	defer s.d.mu.Unlock()
	return s.d.unhealthy
}

// objectives is what the daemon knows of each objective: the slots of
// its evaluators and the tasks of its studies in flight and waiting.
func (d *daemon) objectives() []api.Objective {
	count := map[string]int{}
	for _, e := range d.cfg.Evaluators {
		count[e.Objective] += e.Count
	}
	out := d.pools.objectives(count)
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// startHTTP serves the status page, /metrics and /healthz on
// daemon.http, and writes its URL to data_dir/http.url. A port that
// cannot be had fails a serving daemon; tunerd run goes on without.
func (d *daemon) startHTTP() error {
	if d.cfg.HTTP == "" {
		return nil
	}
	l, err := web.Listen(d.cfg.HTTP)
	if err != nil {
		if d.serving {
			return fmt.Errorf("daemon: daemon.http: %w", err)
		}
		d.log.Warn().Err(err).Msg("no status page or metrics for this run (daemon.http)")
		return nil
	}
	url := web.URL(l.Addr())
	if err := os.WriteFile(filepath.Join(d.cfg.DataDir, "http.url"), []byte(url+"\n"), 0o644); err != nil {
		l.Close()
		return fmt.Errorf("daemon: %w", err)
	}
	srv := web.New(source{d}, d.metrics, d.o.Logger)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ctx, l); err != nil && !errors.Is(err, context.Canceled) {
			d.log.Error().Err(err).Msg("status page and metrics stopped")
		}
	}()
	d.closers = append(d.closers, func() { cancel(); <-done })
	return nil
}

// newMetrics makes the daemon's Prometheus metrics.
func (d *daemon) newMetrics() *metrics.Metrics { return metrics.New(source{d}) }
