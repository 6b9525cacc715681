// Package daemon is tunerd's engine: it brings up NATS (an embedded server
// when the config names none), starts the evaluator processes the config
// lists, runs the studies and shuts everything down in order.
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

// Run runs every study in cfg to a terminal state. The error names the
// first study that ended failed or could not run; a cancelled ctx stops the
// studies (their summaries say "stopped") and returns ctx.Err().
func Run(ctx context.Context, cfg *study.Config, o Options) (*Result, error) {
	log := o.Logger.With().Str("component", "daemon").Logger()
	if err := os.MkdirAll(cfg.Daemon.DataDir, 0o755); err != nil {
		return nil, fmt.Errorf("daemon: data_dir: %w", err)
	}
	lock, err := lockDataDir(cfg.Daemon.DataDir)
	if err != nil {
		return nil, err
	}
	defer lock.Close() // last: the lock is held until everything has stopped
	spare := holdReserve(cfg.Daemon.DataDir, log)
	defer spare.close()

	// Shutdown order, the reverse of start-up: studies are cancelled and
	// return (in-flight requests are abandoned); then evaluator processes
	// get SIGTERM and are waited for; then the connection is drained; then
	// the embedded server stops. Deferred calls run in that order.
	url := cfg.NATS.URL
	var embedded *natsserver.Server
	if url == "" {
		srv, err := startEmbedded(cfg, o.Logger)
		if err != nil {
			return nil, err
		}
		defer func() {
			srv.Close()
			log.Debug().Msg("embedded NATS server stopped")
		}()
		embedded = srv
		url = srv.URL()
	}
	copts := connOptions(cfg.NATS, url)
	tcopts := copts
	tcopts.Logger = log
	nc, err := transport.Connect(tcopts)
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	defer func() {
		if err := nc.Drain(); err != nil {
			nc.Close()
		}
		waitClosed(nc, 5*time.Second)
	}()

	// JetStream carries the journal and durable dispatch. An external
	// server without it still runs direct-dispatch studies, unjournaled.
	durable := transport.DurableOptions{
		Replicas:        cfg.NATS.Replicas,
		Heartbeat:       cfg.Daemon.Heartbeat.Duration,
		MaxRedeliveries: cfg.Daemon.MaxRedeliveries,
	}
	var js jetstream.JetStream
	if j, err := jetstream.New(nc); err == nil {
		actx, cancel := context.WithTimeout(ctx, 10*time.Second)
		_, aerr := j.AccountInfo(actx)
		cancel()
		if aerr == nil {
			js = j
			// Create the task queues before the evaluators start, so they
			// find them at once.
			for _, obj := range durableObjectives(cfg) {
				if _, err := transport.EnsureTasks(ctx, js, obj, durable); err != nil {
					return nil, fmt.Errorf("daemon: %w", err)
				}
			}
		} else {
			log.Warn().Err(aerr).Msg("JetStream is not available: no journal, no durable dispatch")
		}
	}

	res := &Result{Summaries: make([]*study.Summary, len(cfg.Studies))}
	errs := make([]error, len(cfg.Studies))
	sctx, cancelStudies := context.WithCancel(ctx)
	defer cancelStudies()
	// Each objective's studies run under a context of their own: when the
	// fleet gives up on the last evaluator of an objective, they fail with
	// its error instead of waiting for an answer that cannot come. With an
	// external server, evaluators started elsewhere may still serve it.
	objCtx := map[string]context.Context{}
	objCancel := map[string]context.CancelCauseFunc{}
	for _, sc := range cfg.Studies {
		if _, ok := objCtx[sc.Objective]; !ok {
			objCtx[sc.Objective], objCancel[sc.Objective] = context.WithCancelCause(sctx)
		}
	}
	defer func() {
		for _, cancel := range objCancel {
			cancel(context.Canceled)
		}
	}()
	if js != nil {
		// A full store stops the studies with the reason, rather than
		// leaving them to retry an outage that does not end.
		go watchStore(sctx, embedded, js, storeDir(cfg), spare, func(err error) {
			spare.release()
			log.Error().Err(err).Msg("JetStream stopped storing; stopping the studies")
			for _, cancel := range objCancel {
				cancel(err)
			}
		})
	}
	lost := func(objective string, err error) {
		if cfg.NATS.URL != "" {
			log.Error().Str("objective", objective).Msg("the studies of this objective now depend on evaluators started elsewhere")
			return
		}
		if cancel, ok := objCancel[objective]; ok {
			cancel(fmt.Errorf("no evaluator of objective %q is left: %w", objective, err))
		}
	}
	fleet, err := startEvaluators(cfg, copts, o, log, lost)
	if err != nil {
		return nil, err
	}
	defer fleet.stop(o.StopTimeout)

	slots := map[string]int{}
	for _, e := range cfg.Evaluators {
		slots[e.Objective] += e.Slots * e.Count
	}
	timeout := map[string]time.Duration{}
	for _, e := range cfg.Evaluators {
		timeout[e.Objective] = max(timeout[e.Objective], e.Timeout.Duration)
	}

	// An evaluator process that dies unexpectedly is logged by the fleet;
	// tasks it held are retried by the dispatcher.
	var wg sync.WaitGroup
	for i := range cfg.Studies {
		sc := &cfg.Studies[i]
		ro := study.RunOptions{
			DataDir:     cfg.Daemon.DataDir,
			MaxInFlight: slots[sc.Objective],
			JS:          js,
			Durable:     durable,
			Fresh:       o.Fresh,
			NoSpace:     spare.release,
			Logger:      o.Logger,
		}
		if t := timeout[sc.Objective]; t > 0 {
			// Above the evaluator's own timeout, so that it reports a slow
			// simulation itself rather than the dispatcher retrying it.
			ro.Timeout = t + t/2 + 10*time.Second
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			res.Summaries[i], errs[i] = study.Run(objCtx[sc.Objective], sc, nc, ro)
		}()
	}
	wg.Wait()
	if err := ctx.Err(); err != nil {
		return res, err
	}
	var failed []string
	for i, err := range errs {
		if err != nil {
			return res, err
		}
		if s := res.Summaries[i]; s.Status == "failed" {
			failed = append(failed, failure(s))
		}
	}
	if len(failed) > 0 {
		sort.Strings(failed)
		return res, fmt.Errorf("%w: %s", ErrStudies, strings.Join(failed, "; "))
	}
	return res, nil
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
func durableObjectives(cfg *study.Config) []string {
	seen := map[string]bool{}
	var out []string
	for _, sc := range cfg.Studies {
		if sc.Dispatch == "durable" && !seen[sc.Objective] {
			seen[sc.Objective] = true
			out = append(out, sc.Objective)
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
