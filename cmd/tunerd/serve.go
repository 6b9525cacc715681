package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/config"
	"github.com/zotune/zotune/daemon"
	"github.com/zotune/zotune/study"
)

const serveUsage = `Usage: tunerd serve [flags] [config.toml]

Runs the daemon as a service until SIGINT or SIGTERM: the studies of the
config file start at once, and more are submitted over the control API
(tunerd submit, or any NATS client: see docs/api.md). Every study is
recorded, so a restarted daemon (after a signal, a crash or kill -9) runs
again every study that had not finished, resuming where it stopped. On
SIGTERM it drains: no new evaluation starts, those in flight finish and
are journaled, and it exits 0.
  --log-level LEVEL   debug, info, warn or error (overrides daemon.log_level)
`

func serveCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tunerd serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	level := fs.String("log-level", "", "log level: debug, info, warn, error (default: daemon.log_level)")
	fs.Usage = func() { fmt.Fprint(stderr, serveUsage) }
	files, err := parseInterspersed(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	cfg, log, code := loadConfig(files, *level, stderr)
	if cfg == nil {
		return code
	}
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(stderr, "tunerd: cannot find own executable to start evaluators: %v\n", err)
		return 1
	}
	parse := func(doc []byte) ([]study.Spec, error) { return config.ParseStudies(doc, "") }
	err = daemon.Serve(ctx, daemonConfig(cfg), daemon.Options{Evaluator: []string{self, "evaluator"}, Logger: log, ParseStudies: parse, Interrupt: interrupts})
	if err != nil {
		fmt.Fprintf(stderr, "tunerd: %v\n", err)
		return 1
	}
	fmt.Fprintln(stderr, "tunerd: stopped; unfinished studies resume when it starts again")
	return 0
}

// loadConfig reads the one config file a command takes (default
// ./config.toml) and makes its logger; a nil config means the command
// ends with code, the error printed.
func loadConfig(files []string, level string, stderr io.Writer) (*config.Config, zerolog.Logger, int) {
	if len(files) > 1 {
		fmt.Fprintf(stderr, "tunerd: one config file, got %d: %s\n", len(files), strings.Join(files, " "))
		return nil, zerolog.Nop(), 2
	}
	path := "config.toml"
	if len(files) == 1 {
		path = files[0]
	}
	cfg, err := config.Load(path)
	if err != nil {
		fmt.Fprintf(stderr, "tunerd: %v\n", err)
		return nil, zerolog.Nop(), 2
	}
	if level != "" {
		cfg.Daemon.LogLevel = level
	}
	log, err := newLogger(stderr, cfg.Daemon.LogLevel)
	if err != nil {
		fmt.Fprintf(stderr, "tunerd: %v\n", err)
		return nil, zerolog.Nop(), 2
	}
	return cfg, log, 0
}
