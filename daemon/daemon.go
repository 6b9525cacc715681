// Package daemon is tunerd's engine: it brings up NATS (an embedded server
// when the config names none), starts the evaluator processes the config
// lists, runs the studies and shuts everything down in order. It owns the
// NATS handles: studies get their journal and dispatch through a backend
// of the daemon's (study.Backend).
package daemon

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/metrics"
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
	// StopTimeout bounds the wait for evaluator processes to drain after
	// SIGTERM before they are killed; default: their longest timeout plus
	// 15s, time for the simulations in flight to finish.
	StopTimeout time.Duration
	// Interrupt, if set, hurries the stop along: the first value received
	// while the evaluators drain abandons their simulations in flight, the
	// second kills them (tunerd sends one per Ctrl-C after the first).
	Interrupt <-chan struct{}
	// Fresh discards the studies' journals and outputs and starts them over
	// instead of resuming them (Run only).
	Fresh bool
	// ParseStudies reads a study document submitted over the API (TOML or
	// JSON): config.ParseStudies. Without it the daemon refuses
	// submissions.
	ParseStudies func(doc []byte) ([]study.Spec, error)
	// EvaluatorLog, if set, takes the logs of the evaluator processes the
	// daemon starts, a line (a JSON event) per Write; nil: they write to
	// tunerd's stderr themselves, and so can still log after it died.
	EvaluatorLog io.Writer
	// Progress, if set, is called with every study's state a few times a
	// second while Run runs, and once more at its end (tunerd run's live
	// view on a terminal).
	Progress func([]api.Study)
}

// progressEvery is how often Options.Progress is called.
const progressEvery = 250 * time.Millisecond

// Result is what a run produced: one summary per study, in config order.
type Result struct {
	Summaries []*study.Summary
}

// ErrStudies is wrapped by Run's error when a study ended failed.
var ErrStudies = errors.New("daemon: study failed")

// daemon is the state of one Run or Serve.
type daemon struct {
	cfg      *Config
	o        Options
	log      zerolog.Logger
	serving  bool // Serve: studies arrive over the API, and are recorded
	spare    *reserve
	embedded *natsserver.Server // nil with an external server
	conn     transport.ConnOptions
	nc       *nats.Conn
	js       jetstream.JetStream // nil: no JetStream
	durable  transport.DurableOptions
	fleet    *fleet
	pools    *pools
	mgr      *manager
	metrics  *metrics.Metrics
	// unhealthy is why the daemon cannot work as it should (its store is
	// full), for /healthz; nil: nothing known.
	unhealthy error
	// Studies run under base; each objective's under a context of their
	// own: when the fleet gives up on the last evaluator of an objective,
	// or the store fills up, they fail with that cause instead of waiting
	// for an answer that cannot come.
	base      context.Context
	mu        sync.Mutex
	objCtx    map[string]context.Context
	objCancel map[string]context.CancelCauseFunc
	closers   []func() // run in reverse order by shutdown
}

// Run runs every study in cfg to a terminal state. The error names the
// first study that ended failed or could not run; a cancelled ctx stops the
// studies (their summaries say "stopped") and returns ctx.Err(). While it
// runs, the control API answers list, get, stop and trials.
func Run(ctx context.Context, cfg *Config, o Options) (*Result, error) {
	d, err := start(ctx, cfg, o, false)
	if err != nil {
		return nil, err
	}
	defer d.shutdown()
	names, err := d.mgr.addStudies(cfg.Studies, o.Fresh)
	if err != nil {
		return nil, err
	}
	if err := d.startAPI(); err != nil {
		return nil, err
	}
	if err := d.startHTTP(); err != nil {
		return nil, err
	}
	if o.Progress != nil {
		stop := d.reportProgress(o.Progress)
		defer stop()
	}
	res, errs := d.mgr.waitStudies(ctx, names)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	return res, outcome(res, errs)
}

// Serve runs the daemon until ctx ends: the studies of cfg start at once,
// more arrive over the control API, and every one is recorded, so that a
// restarted Serve runs again those that had not finished. When ctx ends
// it drains: the API stops answering, the studies stop sending tasks
// (those in flight finish and are journaled by their evaluators), and it
// returns nil.
func Serve(ctx context.Context, cfg *Config, o Options) error {
	d, err := start(ctx, cfg, o, true)
	if err != nil {
		return err
	}
	defer d.shutdown()
	if err := d.mgr.boot(ctx, cfg.Studies); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}
	if m := d.mgr; m.leases != nil {
		if err := m.follow(d.base); err != nil {
			return fmt.Errorf("daemon: study registry: %w", err)
		}
		go m.claimEvery(d.base)
	}
	if err := d.startAPI(); err != nil {
		return err
	}
	if err := d.startHTTP(); err != nil {
		return err
	}
	d.log.Info().Int("studies", len(d.mgr.all())).Msg("serving; submit studies with `tunerd submit`")
	<-ctx.Done()
	d.log.Info().Msg("shutting down: stopping the studies, draining the evaluators")
	return nil
}

// start brings the daemon up: the data_dir lock, NATS, JetStream, the
// evaluator processes and the study manager. On error, what was started
// is stopped again.
//
// Shutdown order, the reverse of start-up: the API stops answering; the
// studies are cancelled and return; evaluator processes get SIGTERM and
// are waited for; the connection is drained; the embedded server stops;
// the data_dir lock is released.
func start(ctx context.Context, cfg *Config, o Options, serving bool) (_ *daemon, err error) {
	d := &daemon{cfg: cfg, o: o, serving: serving, log: o.Logger.With().Str("component", "daemon").Logger()}
	defer func() {
		if err != nil {
			d.shutdown()
		}
	}()
	if err := os.MkdirAll(cfg.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("daemon: data_dir: %w", err)
	}
	lock, err := lockDataDir(cfg.DataDir)
	if err != nil {
		return nil, err
	}
	d.closers = append(d.closers, func() { lock.Close() })
	d.spare = holdReserve(cfg.DataDir, d.log)
	d.closers = append(d.closers, d.spare.close)
	stopNATS, err := d.connect()
	if err != nil {
		return nil, err
	}
	d.closers = append(d.closers, stopNATS)
	if err := d.jetStream(ctx); err != nil {
		return nil, err
	}
	base, cancel := context.WithCancel(context.Background())
	d.base, d.objCtx, d.objCancel = base, map[string]context.Context{}, map[string]context.CancelCauseFunc{}
	d.closers = append(d.closers, cancel)
	if d.js != nil {
		go watchStore(base, d.embedded, d.js, storeDir(cfg), d.spare, d.storeFailed)
	}
	if d.fleet, err = startEvaluators(cfg, d.conn, o, d.log, d.lost); err != nil {
		return nil, err
	}
	d.closers = append(d.closers, func() { d.fleet.stop(o.StopTimeout, o.Interrupt) })
	if err := d.startStudies(ctx); err != nil {
		return nil, err
	}
	return d, nil
}

// startStudies makes the study manager.
func (d *daemon) startStudies(ctx context.Context) error {
	d.pools = newPools(d.cfg)
	go d.discover(d.base)
	d.metrics = d.newMetrics()
	d.mgr = newManager(d, study.RunOptions{
		DataDir: d.cfg.DataDir, Backend: d.backend(), NoSpace: d.spare.release, Logger: d.o.Logger, Observer: d.metrics,
	})
	if d.serving && d.js != nil {
		// The leases are released after the studies stopped: share adds
		// its closer before the manager's.
		if err := d.share(ctx); err != nil {
			return err
		}
	} else if d.serving {
		d.log.Warn().Msg("no JetStream: submitted studies are not recorded, and a restarted daemon forgets them")
	}
	d.closers = append(d.closers, d.mgr.close)
	return nil
}

// reportProgress calls report with the studies' states every
// progressEvery until the returned func is called, which reports once
// more.
func (d *daemon) reportProgress(report func([]api.Study)) (stop func()) {
	done := make(chan struct{})
	stopped := make(chan struct{})
	go func() {
		defer close(stopped)
		tick := time.NewTicker(progressEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				report(d.mgr.list())
			}
		}
	}()
	return func() {
		close(done)
		<-stopped
		report(d.mgr.list())
	}
}

// startAPI starts answering the control API, once the studies the daemon
// starts with are known.
func (d *daemon) startAPI() error {
	parse := d.o.ParseStudies
	if parse == nil {
		parse = func([]byte) ([]study.Spec, error) { return nil, errNotServing }
	}
	svc, err := startService(d.nc, d.mgr, parse)
	if err != nil {
		return fmt.Errorf("daemon: control API: %w", err)
	}
	d.closers = append(d.closers, svc.close)
	return nil
}

// shutdown stops what start started, in reverse order.
func (d *daemon) shutdown() {
	for i := len(d.closers) - 1; i >= 0; i-- {
		d.closers[i]()
	}
	d.closers = nil
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
	d.conn = ConnOptions(d.cfg.NATS, url)
	copts := d.conn
	copts.Logger = d.log
	if d.embedded != nil && d.cfg.NATS.TLSCert == "" && d.cfg.NATS.TLSCA == "" {
		// Through memory: no socket reads and writes for the daemon's own
		// messages (docs/benchmarks.md, "Overhead").
		copts.InProcess = d.embedded
	}
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
	// Journal records are published asynchronously (journal.Append); one
	// whose acknowledgement does not come within the timeout is published
	// again, synchronously (journal.Journal.Sync).
	js, err := jetstream.New(d.nc, jetstream.WithPublishAsyncTimeout(10*time.Second))
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

// objective returns the context the studies of objective run under.
func (d *daemon) objective(name string) context.Context {
	d.mu.Lock()
	defer d.mu.Unlock()
	if ctx, ok := d.objCtx[name]; ok {
		return ctx
	}
	ctx, cancel := context.WithCancelCause(d.base)
	d.objCtx[name], d.objCancel[name] = ctx, cancel
	return ctx
}

// unserved says why a study of objective cannot run here, "" if it can:
// with the embedded server only the evaluators the daemon starts answer.
func (d *daemon) unserved(objective string) string {
	if d.cfg.NATS.URL != "" {
		return ""
	}
	var served []string
	for _, e := range d.cfg.Evaluators {
		if e.Objective == objective {
			return ""
		}
		served = append(served, strconv.Quote(e.Objective))
	}
	return fmt.Sprintf("no evaluator of this daemon serves objective %q (served: %s); add an [[evaluator]] for it to the daemon's config, or run the daemon on a NATS server (nats.url) that evaluators started elsewhere join",
		objective, cmp.Or(strings.Join(slices.Compact(served), ", "), "none"))
}

// storeFailed stops every study with the reason JetStream stopped storing,
// rather than leave them to retry an outage that does not end.
func (d *daemon) storeFailed(err error) {
	d.spare.release()
	d.log.Error().Err(err).Msg("JetStream stopped storing; stopping the studies")
	d.mu.Lock()
	defer d.mu.Unlock()
	d.unhealthy = fmt.Errorf("JetStream stopped storing: %w", err)
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
	d.objective(objective) // so that studies of it submitted later fail at once too
	d.mu.Lock()
	cancel := d.objCancel[objective]
	d.mu.Unlock()
	cancel(fmt.Errorf("no evaluator of objective %q is left: %w", objective, err))
}

// backend is the studies' journal and dispatch over the daemon's
// connection, each study's tasks in flight bounded by its share of the
// slots of its objective's evaluators.
func (d *daemon) backend() *natsBackend {
	b := &natsBackend{nc: d.nc, js: d.js, durable: d.durable, pools: d.pools, timeout: map[string]time.Duration{}, log: d.o.Logger}
	for _, e := range d.cfg.Evaluators {
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
