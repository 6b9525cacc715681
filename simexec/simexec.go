package simexec

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/wire"
)

// Mode says how the simulator process is run.
type Mode string

// Modes.
const (
	ModeExec  Mode = "exec"  // one process per evaluation
	ModeStdio Mode = "stdio" // one long-lived process per slot, a line per request
)

// Answers says how a stdio simulator's answers name their requests.
type Answers string

// Answer protocols.
const (
	AnswersID    Answers = "id"    // each answer echoes its request's id: {"id": ..., "value": ...}
	AnswersPlain Answers = "plain" // a number or an object without id; cannot be proven to belong to its request
)

// DefaultTimeout is the per-evaluation timeout when Options.Timeout is zero.
const DefaultTimeout = 60 * time.Second

// paramsEnvMax is the longest ZOTUNE_PARAMS passed in the environment.
// Linux refuses to start a program given a single environment string over
// 128 KiB ("argument list too long"); larger parameter sets are on stdin
// only.
const paramsEnvMax = 100 << 10

// credentialEnv lists the variables the evaluator takes NATS credentials
// from. They are not passed on to simulators.
var credentialEnv = []string{"NATS_TOKEN", "NATS_USER", "NATS_PASSWORD", "NATS_CREDS"}

// stopGrace is how long Close lets a stdio simulator exit on its own after
// its stdin is closed, before killing it.
const stopGrace = 500 * time.Millisecond

// Options configures a Runner.
type Options struct {
	// Command is the simulator's argv, with placeholders (see the package
	// documentation); required. A Command[0] without a slash is looked up
	// in PATH; a relative one with a slash is taken relative to the current
	// directory, not to the per-evaluation working directory.
	Command []string
	// Mode is ModeExec (the default) or ModeStdio.
	Mode Mode
	// Answers is how a stdio simulator names the request it answers:
	// AnswersID (the default) or AnswersPlain, for stdio mode only.
	Answers Answers
	// Timeout bounds one evaluation; default DefaultTimeout.
	Timeout time.Duration
	// Dir is where per-evaluation (exec) or per-process (stdio) working
	// directories are created; default os.TempDir(). Created if missing.
	Dir string
	// KeepWorkdirs keeps working directories after use; default false.
	KeepWorkdirs bool
	// Env is added to the evaluator's own environment, "KEY=value" each.
	// The inherited environment is passed on without the NATS credentials
	// (NATS_TOKEN, NATS_USER, NATS_PASSWORD, NATS_CREDS, and NATS_URL when
	// it holds a user or password); entries in Env are passed as given.
	Env []string
	// Name is the evaluator name put in replies; default empty (left to
	// transport.Serve to fill in).
	Name string
	// RunAs, if set, is the user simulators run as: a user name, a uid, or
	// uid:gid. Their working directories are given to that user. New
	// fails when the user does not exist, when the evaluator may not
	// switch to it (it needs root, or CAP_SETUID and CAP_SETGID), or when
	// the user cannot enter Dir. Unix only.
	RunAs string
	// NoCgroup keeps simulators out of cgroups even where cgroup v2 could
	// hold them; what they leave running is then found by process group
	// and TokenEnv (see the package documentation). Default false.
	NoCgroup bool
	// Logger receives the runner's events; default disabled.
	Logger zerolog.Logger
}

// Modes and AnswerProtocols list the values of Options.Mode and
// Options.Answers.
var (
	Modes           = []string{string(ModeExec), string(ModeStdio)}
	AnswerProtocols = []string{string(AnswersID), string(AnswersPlain)}
)

// Validate reports whether o is usable, without touching the file system.
func (o *Options) Validate() error {
	if len(o.Command) == 0 || o.Command[0] == "" {
		return errors.New("simexec: no simulator command given")
	}
	if o.Mode != "" && !slices.Contains(Modes, string(o.Mode)) {
		return fmt.Errorf("simexec: unknown mode %q (want %q or %q)", o.Mode, ModeExec, ModeStdio)
	}
	if o.Answers != "" && !slices.Contains(AnswerProtocols, string(o.Answers)) {
		return fmt.Errorf("simexec: unknown answers %q (want %q or %q)", o.Answers, AnswersID, AnswersPlain)
	}
	if err := CheckAnswers(o.Answers, o.Mode); err != nil {
		return fmt.Errorf("simexec: %w", err)
	}
	if o.Timeout < 0 {
		return fmt.Errorf("simexec: negative timeout %v", o.Timeout)
	}
	for _, kv := range o.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("simexec: environment entry %q is not KEY=value", kv)
		}
	}
	if errs := CheckStdioCommand(o.Command, o.Mode); len(errs) > 0 {
		return fmt.Errorf("simexec: %w", errs[0])
	}
	return nil
}

// CheckAnswers reports whether answers suits mode: plain answers are for
// stdio mode only.
func CheckAnswers(answers Answers, mode Mode) error {
	if answers == AnswersPlain && mode != ModeStdio {
		return fmt.Errorf("answers %q is for stdio mode only; in exec mode the answer is the last line of stdout", answers)
	}
	return nil
}

// CheckStdioCommand returns a problem for every placeholder a command of
// mode may not use: in stdio mode one process serves many evaluations, so
// only {workdir} may appear.
func CheckStdioCommand(command []string, mode Mode) []error {
	if mode != ModeStdio {
		return nil
	}
	var errs []error
	for _, arg := range command {
		for _, name := range parseArg(arg).placeholders() {
			if name != phWorkdir {
				errs = append(errs, fmt.Errorf("placeholder {%s} in %q: in stdio mode one process serves many evaluations, so only {workdir} may be used; the process reads params, seed and trial from each request line", name, arg))
			}
		}
	}
	return errs
}

// Runner runs the simulator for tasks; the evaluator serves tasks with it
// (it is a transport.Handler). It is safe for concurrent use; in stdio
// mode it keeps one process per concurrent caller.
type Runner struct {
	mode    Mode
	answers Answers       // stdio: AnswersID or AnswersPlain
	split   bool          // stdio plain answers with causality checks (see proc)
	path    string        // resolved Command[0] when it has no placeholder
	argv    []argTemplate // Command, parsed
	timeout time.Duration
	dir     string
	keep    bool
	env     []string
	name    string
	log     zerolog.Logger
	runAs   *runAs       // nil: the evaluator's own user
	contain *containment // how what simulators start is killed with them

	paramsOnce sync.Once // warns once that ZOTUNE_PARAMS was left out

	mu     sync.Mutex
	closed bool
	idle   []*proc            // stdio: processes waiting for a request
	live   map[*proc]struct{} // stdio: every running process
}

// New validates o, resolves the simulator executable and creates o.Dir.
func New(o Options) (*Runner, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	r := &Runner{
		mode:    o.Mode,
		answers: o.Answers,
		timeout: o.Timeout,
		keep:    o.KeepWorkdirs,
		env:     slices.Clip(append(withoutCredentials(os.Environ()), o.Env...)),
		name:    o.Name,
		log:     o.Logger.With().Str("component", "simexec").Logger(),
		live:    make(map[*proc]struct{}),
	}
	if r.mode == "" {
		r.mode = ModeExec
	}
	if r.timeout == 0 {
		r.timeout = DefaultTimeout
	}
	if r.answers == "" {
		r.answers = AnswersID
	}
	r.split = r.answers == AnswersPlain && canCountUnread
	for _, arg := range o.Command {
		r.argv = append(r.argv, parseArg(arg))
	}
	if len(r.argv[0].placeholders()) == 0 {
		path, err := resolveCommand(o.Command[0])
		if err != nil {
			return nil, err
		}
		r.path = path
	}
	r.dir = o.Dir
	if r.dir == "" {
		r.dir = os.TempDir()
	}
	dir, err := filepath.Abs(r.dir)
	if err != nil {
		return nil, fmt.Errorf("simexec: work directory: %w", err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("simexec: work directory: %w", err)
	}
	r.dir = dir
	if r.runAs, err = newRunAs(o.RunAs); err != nil {
		return nil, err
	}
	if err := r.runAs.reach(r.dir); err != nil {
		return nil, err
	}
	if r.answers == AnswersPlain {
		r.warnPlain()
	}
	r.contain = newContainment(o.NoCgroup, r.log)
	r.log.Debug().Str("containment", r.contain.String()).Msg("simulator runner ready")
	return r, nil
}

// Containment says how r kills what its simulators leave running: "cgroup
// DIR: ...", "subreaper (no cgroup: why): ..." or, on systems other than
// Linux, "process group: ...". Worth logging at start.
func (r *Runner) Containment() string { return r.contain.String() }

// makeWorkdir creates a fresh working directory in r.dir, named prefix and
// a random suffix, owned by the user simulators run as.
func (r *Runner) makeWorkdir(prefix string) (string, error) {
	dir, err := os.MkdirTemp(r.dir, prefix)
	if err != nil {
		return "", fmt.Errorf("cannot create a working directory: %w", err)
	}
	if err := r.runAs.chown(dir); err != nil {
		_ = os.Remove(dir)
		return "", fmt.Errorf("cannot give the working directory to the simulator's user: %w", err)
	}
	return dir, nil
}

// warnPlain logs, once at start, what plain answers leave unchecked.
func (r *Runner) warnPlain() {
	checks := "each answer must arrive after the simulator read its whole request, and output written before then fails the request"
	if !r.split {
		checks = "on this system the evaluator cannot tell when the simulator read its request"
	}
	r.log.Warn().Str("answers", string(AnswersPlain)).
		Msgf("plain stdio answers cannot be proven to belong to their request: a line the simulator writes after reading a request, before its answer, is taken as the answer; %s. Echo each request's id in the answer and drop answers = \"plain\" to be safe", checks)
}

// withoutCredentials returns env without the NATS credential variables.
func withoutCredentials(env []string) []string {
	return slices.DeleteFunc(slices.Clone(env), func(kv string) bool {
		k, v, _ := strings.Cut(kv, "=")
		if k == "NATS_URL" {
			return urlHasUserinfo(v)
		}
		return slices.Contains(credentialEnv, k)
	})
}

// urlHasUserinfo reports whether a NATS_URL value (one URL or a
// comma-separated list) carries a user name, token or password.
func urlHasUserinfo(v string) bool {
	for _, u := range strings.Split(v, ",") {
		if _, rest, ok := strings.Cut(u, "://"); ok {
			u = rest
		}
		host, _, _ := strings.Cut(u, "/")
		if strings.Contains(host, "@") {
			return true
		}
	}
	return false
}

// resolveCommand turns name into an absolute path: looked up in PATH when it
// has no slash, else made absolute against the current directory (a relative
// path would otherwise be resolved against the simulator's working directory).
func resolveCommand(name string) (string, error) {
	if !strings.ContainsRune(name, filepath.Separator) && !strings.ContainsRune(name, '/') {
		path, err := exec.LookPath(name)
		if errors.Is(err, exec.ErrDot) {
			err = nil // found via a relative PATH entry; made absolute below
		}
		if err != nil {
			return "", fmt.Errorf("simexec: simulator command: %w", err)
		}
		name = path
	}
	path, err := filepath.Abs(name)
	if err != nil {
		return "", fmt.Errorf("simexec: simulator command: %w", err)
	}
	return path, nil
}

// Handle runs the simulator for t and reports the outcome. It implements
// transport.Handler. A failure is a Reply with Error and Reason set, never a
// value.
func (r *Runner) Handle(ctx context.Context, t *wire.Task) wire.Reply {
	start := time.Now()
	var rep wire.Reply
	if r.isClosed() {
		rep = failure(wire.ReasonStart, "simulator runner is closed", "")
	} else if r.mode == ModeStdio {
		rep = r.handleStdio(ctx, t)
	} else {
		rep = r.handleExec(ctx, t)
	}
	rep.ID = t.ID
	rep.Evaluator = r.name
	rep.Started = start.UTC()
	rep.Seconds = time.Since(start).Seconds()
	ev := r.log.Debug()
	if rep.Error != "" {
		ev = r.log.Warn().Str("reason", string(rep.Reason)).Str("error", rep.Error)
	}
	ev.Str("task", t.ID).Float64("seconds", rep.Seconds).Msg("evaluated")
	return rep
}

func failure(reason wire.Reason, msg, stderr string) wire.Reply {
	return wire.Reply{Error: msg, Reason: reason, Stderr: stderr}
}

func success(res result) wire.Reply {
	return wire.Reply{Value: res.value, Metrics: res.metrics}
}

func (r *Runner) isClosed() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.closed
}

// handleExec runs one process for t.
func (r *Runner) handleExec(ctx context.Context, t *wire.Task) wire.Reply {
	if err := ctx.Err(); err != nil {
		return failure(wire.ReasonTimeout, fmt.Sprintf("evaluation abandoned before it started: %v", context.Cause(ctx)), "")
	}
	req, params, err := encodeRequest(t)
	if err != nil {
		return failure(wire.ReasonInput, err.Error(), "")
	}
	workdir, err := r.makeWorkdir("zotune-eval-")
	if err != nil {
		return failure(wire.ReasonStart, err.Error(), "")
	}
	defer r.removeWorkdir(workdir)

	v := &vars{params: t.Params, labels: t.Labels, seed: t.Seed, trial: t.Trial, study: t.Study, workdir: workdir}
	path, args, err := r.expand(v)
	if err != nil {
		return failure(wire.ReasonInput, err.Error(), "")
	}
	env := []string{
		"ZOTUNE_STUDY=" + t.Study,
		"ZOTUNE_TRIAL=" + t.Trial,
		"ZOTUNE_SEED=" + strconv.FormatInt(t.Seed, 10),
		"ZOTUNE_WORKDIR=" + workdir,
	}
	if len(params) <= paramsEnvMax {
		env = append(env, "ZOTUNE_PARAMS="+string(params))
	} else {
		r.paramsOnce.Do(func() {
			r.log.Warn().Int("bytes", len(params)).Int("limit", paramsEnvMax).
				Msg("parameters too large for the environment: ZOTUNE_PARAMS is left out; the simulator finds them on stdin")
		})
	}
	cmd := exec.Command(path, args...)
	cmd.Dir = workdir
	cmd.Env = r.environ(env...)
	return r.runExec(ctx, cmd, req, t.ID)
}

// runExec runs cmd, whose path, arguments, directory and environment are
// set, with req, the request with id, on its stdin, and judges its outcome.
func (r *Runner) runExec(ctx context.Context, cmd *exec.Cmd, req []byte, id string) wire.Reply {
	pp, err := newPipes()
	if err != nil {
		return failure(wire.ReasonStart, fmt.Sprintf("cannot start simulator: %v", err), "")
	}
	runCtx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	cmd.Stdin, cmd.Stdout, cmd.Stderr = pp.stdinR, pp.stdoutW, pp.stderrW
	j, err := r.launch(cmd)
	pp.closeChildEnds()
	if err != nil {
		pp.closeParentEnds()
		return failure(wire.ReasonStart, fmt.Sprintf("cannot start simulator: %v", err), "")
	}
	// The timeout or an abandoned evaluation kills the simulator and all
	// it started; Wait then returns.
	stopKill := context.AfterFunc(runCtx, func() { _ = j.kill(cmd.Process.Pid) })
	defer stopKill()
	stdout, stderr := newTailBuffer(stdoutKeep), newTailBuffer(stderrKeep)
	outPipe := newOutPipe(pp.stdoutR, new(sync.Mutex), func(b []byte) { _, _ = stdout.Write(b) })
	errPipe := newOutPipe(pp.stderrR, new(sync.Mutex), func(b []byte) { _, _ = stderr.Write(b) })
	wrote := make(chan struct{})
	go func() {
		defer close(wrote)
		_, _ = pp.stdinW.Write(req) // a simulator may well not read it all
		_ = pp.stdinW.Close()
	}()

	// Wait returns when the simulator itself exits: its output pipes are
	// files it got directly, not copied by goroutines Wait would wait for.
	_ = cmd.Wait() // judged from ProcessState and the contexts below
	// Whatever the simulator left running is killed as soon as it exits,
	// and what its pipes then hold is taken without waiting for more:
	// output a leftover process writes later never becomes the value.
	j.release()
	_ = pp.stdinW.Close() // ends a write the simulator never read
	<-wrote
	errPipe.finish()
	outPipe.finish()
	return r.execOutcome(ctx, runCtx, cmd.ProcessState, stdout, stderr, id)
}

// execOutcome judges an exec-mode run of the request with id that ended
// in ps, having written stdout and stderr.
func (r *Runner) execOutcome(ctx, runCtx context.Context, ps *os.ProcessState, stdout, stderr *tailBuffer, id string) wire.Reply {
	switch {
	case ps != nil && ps.Success():
		out, total := stdout.Tail()
		res, reason, err := parseOutput(out, total, id)
		if err != nil {
			return failure(reason, err.Error(), stderr.String())
		}
		return success(res)
	case ctx.Err() != nil:
		return failure(wire.ReasonTimeout, fmt.Sprintf("evaluation abandoned: %v; simulator killed", context.Cause(ctx)), stderr.String())
	case runCtx.Err() != nil:
		return failure(wire.ReasonTimeout, fmt.Sprintf("simulator timed out: it and all it started were killed after %s", seconds(r.timeout)), stderr.String())
	case ps == nil:
		return failure(wire.ReasonExit, "simulator did not report an exit status", stderr.String())
	default:
		return failure(wire.ReasonExit, "simulator "+exitMessage(ps), stderr.String())
	}
}

// environ returns the simulator's environment with extra appended (later
// entries win).
func (r *Runner) environ(extra ...string) []string {
	return append(slices.Clip(r.env), extra...)
}

// expand renders the command for v.
func (r *Runner) expand(v *vars) (string, []string, error) {
	args := make([]string, len(r.argv)-1)
	for i, t := range r.argv[1:] {
		a, err := t.expand(v)
		if err != nil {
			return "", nil, err
		}
		args[i] = a
	}
	path := r.path
	if path == "" {
		p, err := r.argv[0].expand(v)
		if err != nil {
			return "", nil, err
		}
		if path, err = resolveCommand(p); err != nil {
			return "", nil, err
		}
	}
	return path, args, nil
}

func (r *Runner) removeWorkdir(dir string) {
	if r.keep {
		r.log.Debug().Str("workdir", dir).Msg("kept working directory")
		return
	}
	if err := os.RemoveAll(dir); err != nil {
		r.log.Warn().Err(err).Str("workdir", dir).Msg("removing working directory")
	}
}

// Close stops the stdio simulators, killing all they started, waits for
// them to exit and removes the Runner's cgroup. Handle fails after Close.
// Exec-mode evaluations in flight are stopped by cancelling their
// contexts, not by Close.
func (r *Runner) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	procs := make([]*proc, 0, len(r.live))
	for p := range r.live {
		procs = append(procs, p)
	}
	r.idle = nil
	r.mu.Unlock()

	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r.stop(p, stopGrace)
		}()
	}
	wg.Wait()
	r.contain.close()
	return nil
}

// seconds formats d as "60s", "1.5s", "0.25s".
func seconds(d time.Duration) string { return strconv.FormatFloat(d.Seconds(), 'g', -1, 64) + "s" }
