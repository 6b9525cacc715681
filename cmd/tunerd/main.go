// Command tunerd is the zotune daemon: it runs zeroth-order optimizers
// that find second-order stationary points of a simulator's output, and
// sends every evaluation over NATS to evaluator processes.
//
//	tunerd run [config.toml]   run every study in the config to the end
//
// See README.md and docs/ for the config file and the outputs.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/config"
	"github.com/zotune/zotune/daemon"
	"github.com/zotune/zotune/evaluator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	interrupts = laterSignals()
	stopProfile := profileCPU(os.Getenv("ZOTUNE_CPUPROFILE"))
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stopProfile()
	stop()
	os.Exit(code)
}

// profileCPU starts a CPU profile of this process into prefix.<pid> when
// prefix is set (ZOTUNE_CPUPROFILE: tunerd and the evaluators it starts
// each write their own; `go tool pprof` reads them) and returns what
// stops it. A profile that cannot be started is reported and skipped.
func profileCPU(prefix string) func() {
	if prefix == "" {
		return func() {}
	}
	f, err := os.Create(fmt.Sprintf("%s.%d", prefix, os.Getpid()))
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "tunerd: ZOTUNE_CPUPROFILE:", err)
		return func() {}
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}
}

// interrupts receives a value for every SIGINT or SIGTERM after the first
// (which cancels the command's context): the daemon hurries its stop with
// them (daemon.Options.Interrupt). nil in tests.
var interrupts <-chan struct{}

// laterSignals returns a channel that receives every SIGINT or SIGTERM
// after the first.
func laterSignals() <-chan struct{} {
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	out := make(chan struct{}, 4)
	go func() {
		<-sigs
		for range sigs {
			select {
			case out <- struct{}{}:
			default:
			}
		}
	}()
	return out
}

const usage = `tunerd — zeroth-order tuning with saddle-point escape, over NATS

Usage:
  tunerd run [flags] [config.toml]   run every [[study]] in the config to a terminal state and exit
  tunerd serve [flags] [config.toml] run as a service: the config's studies, and those submitted
  tunerd submit STUDY.toml…          submit studies to a running daemon
  tunerd status [STUDY]              the daemon's studies (--evaluators: its evaluators)
  tunerd stop STUDY                  stop a study (it stays stopped until resumed)
  tunerd resume STUDY                run a stopped study again from where it stopped
  tunerd delete STUDY [--journal]    remove a submitted study (--journal: and its evaluations)
  tunerd trials STUDY [--format csv] a study's trial history
  tunerd evaluator [flags] -- CMD…   serve an objective (same as the evaluator command)

Each command takes --help. The commands that talk to a daemon find it
through its config file (--config, default ./config.toml) or --nats URL.

Flags of run (before or after the config file):
  --log-level LEVEL   debug, info, warn or error (overrides daemon.log_level)
  --fresh             discard the studies' journaled evaluations and outputs, start over
  --plain             on a terminal too, log lines only: no live view of the studies

A study that was interrupted (Ctrl-C, a crash, kill -9) resumes where it
stopped when the same config is run again: evaluations already finished
are answered from the journal, none runs twice. A study that finished is
not run again. A study whose config changed since is refused (use --fresh,
or a new study name).

The default config is ./config.toml. Exit status: 0 when every study ended
without error, 1 when a study failed or the run could not start, 2 for a
usage or config error, 130 when interrupted.
`

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "-h", "--help", "-help", "help":
		fmt.Fprint(stdout, usage)
		return 0
	case "run":
		return runCmd(ctx, args[1:], stdout, stderr)
	case "evaluator":
		return evaluator.Main(ctx, args[1:], stdout, stderr)
	case "serve":
		return serveCmd(ctx, args[1:], stdout, stderr)
	case "submit", "status", "stop", "resume", "delete", "trials":
		return clientCommands[args[0]](ctx, args[1:], stdout, stderr)
	default:
		fmt.Fprintf(stderr, "tunerd: unknown command %q\n\n%s", args[0], usage)
		return 2
	}
}

func runCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tunerd run", flag.ContinueOnError)
	fs.SetOutput(stderr)
	level := fs.String("log-level", "", "log level: debug, info, warn, error (default: daemon.log_level)")
	fresh := fs.Bool("fresh", false, "discard the studies' earlier evaluations and outputs and start them over")
	plain := fs.Bool("plain", false, "log lines only, no live view, even on a terminal")
	fs.Usage = func() { fmt.Fprint(stderr, usage) }
	files, err := parseInterspersed(fs, args)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	cfg, log, code := loadConfig(files, *level, stderr)
	if cfg == nil {
		return code
	}
	if len(cfg.Studies) == 0 {
		// Valid for a daemon that takes studies over its API, but run
		// would have nothing to do.
		fmt.Fprintf(stderr, "tunerd: %v\n", &config.Error{File: files0(files), Key: "study", Msg: "no [[study]] to run; add one (see docs/config.md), or use tunerd serve and submit studies"})
		return 2
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "tunerd: cannot find own executable to start evaluators: %v\n", err)
		return 1
	}
	opts := daemon.Options{Evaluator: []string{self, "evaluator"}, Fresh: *fresh, Interrupt: interrupts}
	if term := terminal(stderr); term != nil && !*plain {
		var view *progress
		view, log, opts.EvaluatorLog = liveView(term, log)
		opts.Progress = view.show
	}
	opts.Logger = log
	start := time.Now()
	res, err := daemon.Run(ctx, daemonConfig(cfg), opts)
	if res != nil {
		printSummaries(stdout, res.Summaries, cfg.Daemon.DataDir)
	}
	switch {
	case errors.Is(err, context.Canceled):
		fmt.Fprintf(stderr, "tunerd: interrupted after %s; studies stopped, summaries written\n", time.Since(start).Round(time.Millisecond))
		return 130
	case err != nil:
		fmt.Fprintf(stderr, "tunerd: %v\n", err)
		return 1
	}
	return 0
}

// clientCommands are the commands that talk to a running daemon.
var clientCommands = map[string]func(ctx context.Context, args []string, stdout, stderr io.Writer) int{
	"submit": submitCmd, "status": statusCmd, "stop": stopCmd, "resume": resumeCmd, "delete": deleteCmd, "trials": trialsCmd,
}

// files0 is the config file a command reads: the one given, or the default.
func files0(files []string) string {
	if len(files) == 1 {
		return files[0]
	}
	return "config.toml"
}

// parseInterspersed parses flags that come before or after the positional
// arguments (run --fresh cfg.toml, run cfg.toml --fresh) and returns the
// positional ones. After "--" everything is positional.
func parseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// newLogger logs JSON to w, or human-readable lines when w is a terminal.
func newLogger(w io.Writer, level string) (zerolog.Logger, error) {
	if level == "" {
		level = "info"
	}
	lv, err := zerolog.ParseLevel(level)
	if err != nil {
		return zerolog.Nop(), fmt.Errorf("bad log level %q", level)
	}
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			w = zerolog.ConsoleWriter{Out: f, TimeFormat: "15:04:05"}
		}
	}
	return zerolog.New(w).Level(lv).With().Timestamp().Logger(), nil
}
