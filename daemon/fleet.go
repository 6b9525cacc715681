package daemon

import (
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/study"
	"github.com/zotune/zotune/transport"
)

// maxRestarts is how often an evaluator process that exits on its own is
// started again before the daemon gives up on it.
const maxRestarts = 5

// fleet is the evaluator processes a config lists, started by the daemon.
type fleet struct {
	log      zerolog.Logger
	mu       sync.Mutex
	stopping bool
	procs    []*proc
	wg       sync.WaitGroup
}

// proc is one evaluator child process, restarted if it exits on its own.
type proc struct {
	name     string
	argv     []string
	env      []string
	stderr   io.Writer
	cmd      *exec.Cmd
	restarts int
}

func startEvaluators(cfg *study.Config, c transport.ConnOptions, o Options, log zerolog.Logger) (*fleet, error) {
	f := &fleet{log: log.With().Str("component", "fleet").Logger()}
	if len(cfg.Evaluators) == 0 {
		return f, nil
	}
	if len(o.Evaluator) == 0 {
		return nil, fmt.Errorf("daemon: the config lists evaluators but no evaluator program is set")
	}
	stderr := io.Writer(os.Stderr)
	level := cfg.Daemon.LogLevel
	if level == "" {
		level = "info"
	}
	for i, e := range cfg.Evaluators {
		for k := 0; k < e.Count; k++ {
			name := fmt.Sprintf("%s-%d", e.Objective, i)
			if e.Count > 1 {
				name = fmt.Sprintf("%s-%d.%d", e.Objective, i, k)
			}
			argv := append([]string(nil), o.Evaluator...)
			argv = append(argv,
				"--nats", c.URL,
				"--objective", e.Objective,
				"--slots", strconv.Itoa(e.Slots),
				"--timeout", e.Timeout.String(),
				"--mode", e.Mode,
				"--name", name,
				"--log-level", level,
			)
			if e.Dir != "" {
				argv = append(argv, "--workdir", e.Dir)
			}
			for _, kv := range [][2]string{{"--user", c.User}, {"--password", c.Password}, {"--creds", c.Creds},
				{"--tls-ca", c.TLSCA}, {"--tls-cert", c.TLSCert}, {"--tls-key", c.TLSKey}} {
				if kv[1] != "" {
					argv = append(argv, kv[0], kv[1])
				}
			}
			argv = append(argv, "--")
			argv = append(argv, e.Command...)
			env := os.Environ()
			if c.Token != "" {
				env = append(env, "NATS_TOKEN="+c.Token) // not on the command line, where ps shows it
			}
			p := &proc{name: name, argv: argv, env: env, stderr: stderr}
			if err := f.start(p); err != nil {
				f.stop(time.Second)
				return nil, err
			}
			f.procs = append(f.procs, p)
		}
	}
	return f, nil
}

// start launches p in its own process group, so that a Ctrl-C at the
// terminal reaches only tunerd, which then stops the evaluators in order.
// Pdeathsig ends the evaluator if the daemon dies without stopping it.
func (f *fleet) start(p *proc) error {
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Env = p.env
	cmd.Stdout = p.stderr
	cmd.Stderr = p.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("daemon: starting evaluator %s: %w", p.name, err)
	}
	p.cmd = cmd
	f.log.Info().Str("evaluator", p.name).Int("pid", cmd.Process.Pid).Msg("evaluator started")
	f.wg.Add(1)
	go f.watch(p, cmd)
	return nil
}

// watch waits for the process and restarts it if it exited on its own.
func (f *fleet) watch(p *proc, cmd *exec.Cmd) {
	defer f.wg.Done()
	err := cmd.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopping {
		return
	}
	if p.restarts >= maxRestarts {
		f.log.Error().Str("evaluator", p.name).Err(err).Msgf("evaluator exited %d times; not restarting it", p.restarts+1)
		return
	}
	p.restarts++
	f.log.Warn().Str("evaluator", p.name).Err(err).Int("restart", p.restarts).Msg("evaluator exited; restarting it")
	if err := f.start(p); err != nil {
		f.log.Error().Err(err).Msg("restarting evaluator")
	}
}

// stop sends SIGTERM to every evaluator's process group, waits up to d for
// them to exit, then kills what is left.
func (f *fleet) stop(d time.Duration) {
	if d <= 0 {
		d = 10 * time.Second
	}
	f.mu.Lock()
	f.stopping = true
	procs := append([]*proc(nil), f.procs...)
	f.mu.Unlock()
	for _, p := range procs {
		if p.cmd != nil && p.cmd.Process != nil {
			_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGTERM)
		}
	}
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(d):
		f.log.Warn().Dur("waited", d).Msg("evaluators did not stop; killing them")
		for _, p := range procs {
			if p.cmd != nil && p.cmd.Process != nil {
				_ = syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
			}
		}
		<-done
	}
}
