// Package daemon is tunerd's engine: it brings up NATS (an embedded server
// when the config names none), starts the evaluator processes the config
// lists, runs the studies and shuts everything down in order. It owns the
// NATS handles: studies get their journal and dispatch through a backend
// of the daemon's (study.Backend).
package daemon

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/study"
	"github.com/zotune/zotune/transport"
)

// Options are the parts of a run that do not come from the config.
type Options struct {
	// Evaluator is the argv prefix that starts an evaluator process; the
	// daemon appends the evaluator flags and "-- CMD ARG...". tunerd uses
	// its own executable with the hidden "evaluator" subcommand.
	Evaluator []string
	Logger    zerolog.Logger
	// StopTimeout bounds the wait for evaluator processes to exit after
	// SIGTERM before they are killed; default 10s.
	StopTimeout time.Duration
	// Fresh discards the studies' journals and outputs and starts them over
	// instead of resuming them.
	Fresh bool
}

// Result is what a run produced: one summary per study, in config order.
type Result struct {
	Summaries []*study.Summary
}

// ErrStudies is wrapped by Run's error when a study ended failed.
var ErrStudies = errors.New("daemon: study failed")

// daemon is the state of one Run.
type daemon struct {
	cfg      *Config
	o        Options
	log      zerolog.Logger
	spare    *reserve
	embedded *natsserver.Server // nil with an external server
	conn     transport.ConnOptions
	nc       *nats.Conn
	js       jetstream.JetStream // nil: no JetStream
	durable  transport.DurableOptions
	// Each objective's studies run under a context of their own: when the
	// fleet gives up on the last evaluator of an objective, or the store
	// fills up, they fail with that cause instead of waiting for an answer
	// that cannot come.
	objCtx    map[string]context.Context
	objCancel map[string]context.CancelCauseFunc
}

// Run runs every study in cfg to a terminal state. The error names the
// first study that ended failed or could not run; a cancelled ctx stops the
// studies (their summaries say "stopped") and returns ctx.Err().
//
// Shutdown order, the reverse of start-up: studies are cancelled and
// return (in-flight requests are abandoned); then evaluator processes get
// SIGTERM and are waited for; then the connection is drained; then the
// embedded server stops; then the data_dir lock is released. Deferred
// calls run in that order.
func Run(ctx context.Context, cfg *Config, o Options) (*Result, error) {
	d := &daemon{cfg: cfg, o: o, log: o.Logger.With().Str("component", "daemon").Logger()}
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("daemon: data_dir: %w", err)
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	defer lock.Close()
	d.spare = holdReserve(cfg.DataDir, d.log)
	defer d.spare.close()
	stopNATS, err := d.connect()
	if err != nil {
		return nil, err
	}
	defer stopNATS()
	if err := d.jetStream(ctx); err != nil {
		return nil, err
	}
	sctx, cancelStudies := context.WithCancel(ctx)
	defer cancelStudies()
	defer d.objectives(sctx)()
	if d.js != nil {
		go watchStore(sctx, d.embedded, d.js, storeDir(cfg), d.spare, d.storeFailed)
	}
	fleet, err := startEvaluators(cfg, d.conn, o, d.log, d.lost)
	if err != nil {
		return nil, err
	}
	defer fleet.stop(o.StopTimeout)
	res, errs := d.runStudies()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	return res, outcome(res, errs)
}

// connect starts the embedded server, if the config names none, and
// connects to NATS. The returned func drains the connection and stops the
// server.
func (d *daemon) connect() (stop func(), err error) {
	url := d.cfg.NATS.URL
	if url == "" {
		if d.embedded, err = startEmbedded(d.cfg, d.o.Logger); err != nil {
			return nil, err
		}
		url = d.embedded.URL()
	}
	d.conn = connOptions(d.cfg.NATS, url)
	copts := d.conn
	copts.Logger = d.log
	if d.nc, err = transport.Connect(copts); err != nil {
		if d.embedded != nil {
			d.embedded.Close()
		}
		return nil, fmt.Errorf("daemon: %w", err)
	}
	return func() {
		if err := d.nc.Drain(); err != nil {
			d.nc.Close()
		}
		waitClosed(d.nc, 5*time.Second)
		if d.embedded != nil {
			d.embedded.Close()
			d.log.Debug().Msg("embedded NATS server stopped")
		}
	}, nil
}

// jetStream finds out whether the server offers JetStream, which carries
// the journal and durable dispatch (an external server without it still
// runs direct-dispatch studies, unjournaled), and creates the task queues
// before the evaluators start, so that they find them at once.
func (d *daemon) jetStream(ctx context.Context) error {
	d.durable = transport.DurableOptions{
		Replicas: d.cfg.NATS.Replicas, Heartbeat: d.cfg.Heartbeat, MaxRedeliveries: d.cfg.MaxRedeliveries,
	}
	js, err := jetstream.New(d.nc)
	if err != nil {
		return nil
	}
	actx, cancel := context.WithTimeout(ctx, 10*time.Second)
	_, err = js.AccountInfo(actx)
	cancel()
	if err != nil {
		d.log.Warn().Err(err).Msg("JetStream is not available: no journal, no durable dispatch")
		return nil
	}
	d.js = js
	for _, obj := range durableObjectives(d.cfg) {
		if _, err := transport.EnsureTasks(ctx, js, obj, d.durable); err != nil {
			return fmt.Errorf("daemon: %w", err)
		}
	}
	return nil
}

// objectives makes a context per objective under ctx, and returns the func
// that cancels them all.
func (d *daemon) objectives(ctx context.Context) (cancelAll func()) {
	d.objCtx = map[string]context.Context{}
	d.objCancel = map[string]context.CancelCauseFunc{}
	for _, s := range d.cfg.Studies {
		if _, ok := d.objCtx[s.Objective]; !ok {
			d.objCtx[s.Objective], d.objCancel[s.Objective] = context.WithCancelCause(ctx)
		}
	}
	return func() {
		for _, cancel := range d.objCancel {
			cancel(context.Canceled)
		}
	}
}

// storeFailed stops every study with the reason JetStream stopped storing,
// rather than leave them to retry an outage that does not end.
func (d *daemon) storeFailed(err error) {
	d.spare.release()
	d.log.Error().Err(err).Msg("JetStream stopped storing; stopping the studies")
	for _, cancel := range d.objCancel {
		cancel(err)
	}
}

// lost is the fleet's report that no evaluator of objective is left. With
// an external server, evaluators started elsewhere may still serve it.
func (d *daemon) lost(objective string, err error) {
	if d.cfg.NATS.URL != "" {
		d.log.Error().Str("objective", objective).Msg("the studies of this objective now depend on evaluators started elsewhere")
		return
	}
	if cancel, ok := d.objCancel[objective]; ok {
		cancel(fmt.Errorf("no evaluator of objective %q is left: %w", objective, err))
	}
}

// runStudies runs every study at once and waits for them all. An
// evaluator process that dies unexpectedly is logged by the fleet; tasks
// it held are retried by the dispatch.
func (d *daemon) runStudies() (*Result, []error) {
	res := &Result{Summaries: make([]*study.Summary, len(d.cfg.Studies))}
	errs := make([]error, len(d.cfg.Studies))
	ro := study.RunOptions{DataDir: d.cfg.DataDir, Backend: d.backend(), Fresh: d.o.Fresh, NoSpace: d.spare.release, Logger: d.o.Logger}
	var wg sync.WaitGroup
	for i := range d.cfg.Studies {
		spec := &d.cfg.Studies[i]
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.Summaries[i], errs[i] = study.Run(d.objCtx[spec.Objective], spec, ro)
		}()
	}
	wg.Wait()
	return res, errs
}

// backend is the studies' journal and dispatch over the daemon's
// connection, direct dispatch bounded by the slots of the objective's
// evaluators.
func (d *daemon) backend() *natsBackend {
	b := &natsBackend{nc: d.nc, js: d.js, durable: d.durable, inFlight: map[string]int{}, timeout: map[string]time.Duration{}, log: d.o.Logger}
	for _, e := range d.cfg.Evaluators {
		b.inFlight[e.Objective] += e.Slots * e.Count
		b.timeout[e.Objective] = max(b.timeout[e.Objective], e.Timeout)
	}
	return b
}

// outcome is Run's error: the first study that could not run, or every
// study that ended failed.
func outcome(res *Result, errs []error) error {
	var failed []string
	for i, err := range errs {
		if err != nil {
			return err
		}
		if s := res.Summaries[i]; s.Status == "failed" {
			failed = append(failed, failure(s))
		}
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		return fmt.Errorf("%w: %s", ErrStudies, strings.Join(failed, "; "))
	}
	return nil
}

// failure says on one line why a study failed: the reason, the last
// failed evaluation with the end of its stderr, and whether it failed in
// an earlier run (and was therefore not run again).
func failure(s *study.Summary) string {
	line := fmt.Sprintf("%s (%s", s.Study, strings.Join(strings.Fields(s.Reason), " "))
	if f := s.FailureLine(); f != "" {
		line += "; " + f
	}
	line += ")"
	if s.Earlier {
		line += " (finished earlier; run with --fresh to start again)"
	}
	return line
}

// durableObjectives lists the objectives of the durable studies.
func durableObjectives(cfg *Config) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range cfg.Studies {
		if s.Dispatch != "direct" && !seen[s.Objective] {
			seen[s.Objective] = true
			out = append(out, s.Objective)
		}
	}
	return out
}

// waitClosed waits for a draining connection to close, up to d.
func waitClosed(nc *nats.Conn, d time.Duration) {
	deadline := time.Now().Add(d)
	for !nc.IsClosed() && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	nc.Close()
}
