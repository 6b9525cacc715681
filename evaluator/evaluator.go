package evaluator

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/zotune/zotune/simexec"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
)

// The evaluator serves tasks with a simulator runner.
var _ transport.Handler = (*simexec.Runner)(nil)

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1 // could not connect, credentials refused, serving failed
	exitUsage = 2 // bad flags or command
)

// drainTimeout bounds the connection drain at shutdown.
const drainTimeout = 10 * time.Second

const usage = `Usage: evaluator --objective NAME [flags] -- COMMAND [ARG...]

Serves objective NAME for zotune: takes evaluation tasks from NATS and
answers each by running the simulator COMMAND, without a shell.

In exec mode (the default) COMMAND runs once per evaluation, in a fresh
working directory. In its arguments {name} is replaced by the value of
parameter name, and {seed}, {trial}, {study} and {workdir} by theirs; the
request also arrives on stdin as one JSON line, led by its id,
  {"id": "demo/000042", "study": "demo", "trial": "000042", "seed": 7, "params": {"x1": 0.25}}
and in the environment as ZOTUNE_SEED, ZOTUNE_TRIAL, ZOTUNE_STUDY,
ZOTUNE_PARAMS and ZOTUNE_WORKDIR. The result is the last non-empty line of
stdout: a number, or a JSON object with a numeric "value" (its other numeric
fields are kept as metrics; an "id", if given, must be the request's). A
non-zero exit, an unparseable last line, NaN or Inf, or a timeout fails the
evaluation, with the tail of stderr.
Since the working directory is fresh, give file arguments as absolute paths.
Whatever the simulator leaves running is killed when it exits: on Linux each
simulator runs in a cgroup v2 of its own where the evaluator may create them,
else in a process group of its own, tagged with ZOTUNE_EVAL_TOKEN, which its
descendants inherit; the "connected" log line says which.
ZOTUNE_PARAMS is left out (with a warning, logged once) when it would exceed
100 KiB, which Linux refuses to pass; the params are on stdin regardless.
The simulator gets the evaluator's environment without the NATS credentials
(NATS_TOKEN, NATS_USER, NATS_PASSWORD, NATS_CREDS, and NATS_URL when it
holds a user or password).

In stdio mode one long-lived COMMAND per slot reads one request line on stdin
per evaluation and answers one line on stdout, in order, and writes nothing
else there (logs go to stderr). The answer is a JSON object echoing the
request's id:
  {"id": "demo/000042", "value": 1.25, "iters": 30}
Only {workdir} may appear in its arguments. An answer without the id, with
another request's, a blank line, or a line no request asked for fails the
evaluation in flight at once and the process is replaced by a fresh one; so
is a process that crashes or times out. With --answers plain a number or an
object without id is accepted too; a warning at start says why that is
unsafe: such an answer cannot be proven to belong to its request.

Serving:
  --objective NAME     objective to serve (required)
  --slots N            simulations run at once (default 1)
  --timeout DUR        limit per evaluation, e.g. 90s or 5m; the simulator
                       and all it started are killed when it runs out (default 60s)
  --mode MODE          exec: one process per evaluation; stdio: one
                       long-lived process per slot (default exec)
  --answers KIND       stdio answers: id, a JSON object echoing the request's
                       id; plain, also a number or an object without id,
                       which cannot be proven to answer its request (default id)
  --name NAME          evaluator name recorded with each result (default HOST-PID)
  --workdir DIR        directory for the working directories (default the
                       system temporary directory)
  --run-as USER        run simulators as USER (a name, a uid, or uid:gid), in
                       working directories given to it; needs root, or
                       CAP_SETUID and CAP_SETGID
  --keep-workdirs      keep working directories after use, for debugging
  --log-level LEVEL    debug, info, warn, error or disabled (default info);
                       logs are JSON on stderr, human-readable on a terminal

Connection:
  --nats URL           NATS server (default $NATS_URL, else nats://127.0.0.1:4222)
  --token TOKEN        authentication token (default $NATS_TOKEN)
  --user USER          user name, with --password (default $NATS_USER)
  --password PASSWORD  password (default $NATS_PASSWORD)
  --nkey FILE          nkey seed file of an nkey user
  --creds FILE         NATS credentials file, JWT and nkey seed (default $NATS_CREDS)
  --tls-ca FILE        CA certificate to verify the server with (default the
                       system's CAs)
  --tls-cert FILE      client certificate, with --tls-key
  --tls-key FILE       client certificate's private key
Give the token and password in the environment rather than as flags: a
command line is visible to every user of the host (ps). See docs/security.md.

  --help               print this help and exit

Examples:
  evaluator --nats nats://tuner.lan:4222 --objective quartic --slots 4 -- \
      /opt/sim/quartic --seed {seed} --x1 {x1} --x2 {x2}
  NATS_TOKEN=s3cret evaluator --objective cfd --mode stdio --slots 8 --timeout 10m -- \
      python3 /opt/cfd/serve.py --scratch {workdir}

SIGINT or SIGTERM drains the evaluator: it takes no more tasks, lets the
simulations in flight run to their end (each within --timeout), delivers
their results, then stops; the log says how many it waits for. A second
SIGINT or SIGTERM abandons those still running: their simulators are
killed and the tuner sends them elsewhere. Exit status: 0 after a signal;
1 on an error: an unreachable server, credentials refused (also when a
reconnect is refused), a server certificate that cannot be verified, or
permission denied on the subjects the objective's tasks and results use;
2 on a usage error.

While it runs, the evaluator answers as the NATS micro service
zotune-evaluator: "nats micro info zotune-evaluator" shows each one's
name, objective, mode and slots, "nats micro stats zotune-evaluator" its
simulations running, finished and failed, and a request on
zotune.evaluators.status gets that status as JSON from every evaluator.
`

// config is the parsed command line.
type config struct {
	natsURL      string
	objective    string
	slots        int
	timeout      time.Duration
	mode         string
	answers      string
	name         string
	workdir      string
	runAs        string
	keepWorkdirs bool
	logLevel     string
	token        string
	user         string
	password     string
	creds        string
	nkey         string
	tlsCA        string
	tlsCert      string
	tlsKey       string
	command      []string
}

// newFlagSet binds the flags to c. Defaults that come from the environment
// are applied after parsing, so that they do not show up in the help.
func newFlagSet(c *config) *flag.FlagSet {
	fs := flag.NewFlagSet("evaluator", flag.ContinueOnError)
	fs.SetOutput(io.Discard) // run reports errors and prints the usage itself
	fs.Usage = func() {}
	fs.StringVar(&c.objective, "objective", "", "objective to serve")
	fs.IntVar(&c.slots, "slots", 1, "simulations run at once")
	fs.DurationVar(&c.timeout, "timeout", simexec.DefaultTimeout, "limit per evaluation")
	fs.StringVar(&c.mode, "mode", string(simexec.ModeExec), "exec or stdio")
	fs.StringVar(&c.answers, "answers", string(simexec.AnswersID), "id or plain")
	fs.StringVar(&c.name, "name", "", "evaluator name")
	fs.StringVar(&c.workdir, "workdir", "", "directory for the working directories")
	fs.StringVar(&c.runAs, "run-as", "", "user simulators run as")
	fs.BoolVar(&c.keepWorkdirs, "keep-workdirs", false, "keep working directories")
	fs.StringVar(&c.logLevel, "log-level", "info", "log level")
	fs.StringVar(&c.natsURL, "nats", "", "NATS server URL")
	fs.StringVar(&c.token, "token", "", "authentication token")
	fs.StringVar(&c.user, "user", "", "user name")
	fs.StringVar(&c.password, "password", "", "password")
	fs.StringVar(&c.creds, "creds", "", "credentials file")
	fs.StringVar(&c.nkey, "nkey", "", "nkey seed file")
	fs.StringVar(&c.tlsCA, "tls-ca", "", "CA certificate file")
	fs.StringVar(&c.tlsCert, "tls-cert", "", "client certificate file")
	fs.StringVar(&c.tlsKey, "tls-key", "", "client key file")
	return fs
}

// parseArgs parses the command line; flag.ErrHelp means help was asked for.
func parseArgs(args []string) (*config, error) {
	c := new(config)
	fs := newFlagSet(c)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.command = fs.Args()
	envDefault(&c.natsURL, "NATS_URL")
	envDefault(&c.token, "NATS_TOKEN")
	envDefault(&c.user, "NATS_USER")
	envDefault(&c.password, "NATS_PASSWORD")
	envDefault(&c.creds, "NATS_CREDS")
	if c.natsURL == "" {
		c.natsURL = nats.DefaultURL
	}
	if c.name == "" {
		host, err := os.Hostname()
		if err != nil || host == "" {
			host = "evaluator"
		}
		c.name = fmt.Sprintf("%s-%d", host, os.Getpid())
	}

	switch {
	case c.objective == "":
		return nil, errors.New("--objective is required")
	case wire.CheckName(c.objective) != nil:
		return nil, fmt.Errorf("--objective %q: use only letters, digits, '_' and '-', as a study's objective does", c.objective)
	case len(c.command) == 0:
		return nil, errors.New("no simulator command given after the flags (evaluator [flags] -- COMMAND [ARG...])")
	case c.slots < 1:
		return nil, fmt.Errorf("--slots must be at least 1, not %d", c.slots)
	case c.timeout <= 0:
		return nil, fmt.Errorf("--timeout must be positive, not %v", c.timeout)
	case (c.tlsCert == "") != (c.tlsKey == ""):
		return nil, errors.New("--tls-cert and --tls-key go together")
	}
	if _, err := zerolog.ParseLevel(c.logLevel); err != nil || c.logLevel == "" {
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn, error or disabled", c.logLevel)
	}
	return c, nil
}

func envDefault(v *string, key string) {
	if *v == "" {
		*v = os.Getenv(key)
	}
}

// newLogger logs JSON to w, or human-readable lines when w is a terminal.
func newLogger(w io.Writer, level string) zerolog.Logger {
	lvl, _ := zerolog.ParseLevel(level) // validated by parseArgs
	if f, ok := w.(*os.File); ok {
		if fi, err := f.Stat(); err == nil && fi.Mode()&os.ModeCharDevice != 0 {
			w = zerolog.ConsoleWriter{Out: f, TimeFormat: time.TimeOnly}
		}
	}
	return zerolog.New(w).Level(lvl).With().Timestamp().Logger()
}

// Main is the evaluator program: it parses args (the command line without
// the program name), serves until ctx is cancelled and returns the exit
// status. Help goes to stdout, errors and logs to stderr.
//
// When ctx is cancelled (the first SIGINT or SIGTERM) the evaluator
// drains: it takes no more tasks, lets the simulations in flight run to
// their end and delivers their results, then stops. A SIGINT or SIGTERM
// that arrives after ctx was cancelled abandons the simulations still
// running: they are killed, their results not delivered (the tuner sends
// them again).
//
// The exit status is 0 after ctx is cancelled; 1 when it could not
// connect, the credentials were refused (at start or on a reconnect), the
// server denied a subject the objective needs or serving failed; 2 on a
// usage error.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return run(ctx, notifySignals, args, stdout, stderr)
}

// run is Main, with the second signal taken from signals.
func run(ctx context.Context, signals signalsFunc, args []string, stdout, stderr io.Writer) int {
	c, err := parseArgs(args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprint(stdout, usage)
		return exitOK
	}
	if err != nil {
		fmt.Fprintf(stderr, "evaluator: %v\nRun 'evaluator --help' for usage.\n", err)
		return exitUsage
	}
	root := newLogger(stderr, c.logLevel).With().Str("evaluator", c.name).Logger()
	log := root.With().Str("component", "evaluator").Logger()
	runner, err := c.runner(root)
	if err != nil {
		fmt.Fprintf(stderr, "evaluator: %v\nRun 'evaluator --help' for usage.\n", err)
		return exitUsage
	}
	nc, err := transport.Connect(c.conn(root))
	if err != nil {
		_ = runner.Close()
		fmt.Fprintf(stderr, "evaluator: %v%s\n", err, connHint(err))
		return exitError
	}
	log.Info().Str("url", nc.ConnectedUrlRedacted()).Str("objective", c.objective).Str("mode", c.mode).
		Int("slots", c.slots).Strs("command", c.command).Str("containment", runner.Containment()).Msg("connected")
	fatal, serveErr := serve(ctx, c, nc, newMonitor(c, runner), signals, root)

	// Stop order: Serve has returned, so no task is taken any more and
	// those in flight ended: finished and delivered after a drain, or
	// abandoned, their exec simulators killed through their contexts. The
	// service has stopped. Then stop the stdio simulators, then drain the
	// connection.
	if err := runner.Close(); err != nil {
		log.Warn().Err(err).Msg("stopping simulators")
	}
	drainConn(nc, log)
	switch {
	case fatal != nil:
		fmt.Fprintf(stderr, "evaluator: %v%s\n", fatal, connHint(fatal))
		return exitError
	case serveErr != nil && ctx.Err() == nil:
		fmt.Fprintf(stderr, "evaluator: %v\n", serveErr)
		return exitError
	}
	log.Info().Msg("stopped")
	return exitOK
}

// runner is the simulator runner of c.
func (c *config) runner(log zerolog.Logger) (*simexec.Runner, error) {
	return simexec.New(simexec.Options{
		Command: c.command, Mode: simexec.Mode(c.mode), Answers: simexec.Answers(c.answers), Timeout: c.timeout,
		Dir: c.workdir, RunAs: c.runAs, KeepWorkdirs: c.keepWorkdirs, Name: c.name, Logger: log,
	})
}

// conn is how c reaches NATS.
func (c *config) conn(log zerolog.Logger) transport.ConnOptions {
	return transport.ConnOptions{
		URL: c.natsURL, Name: "zotune evaluator " + c.name, Token: c.token, User: c.user, Password: c.password,
		Creds: c.creds, NKey: c.nkey, TLSCA: c.tlsCA, TLSCert: c.tlsCert, TLSKey: c.tlsKey, Logger: log,
	}
}

// serve serves c's objective with m (the runner, counted) and its micro
// service until the work ends: drained after ctx ends, abandoned on the
// next signal, or cut short when the connection is lost for good (nats.go
// gives up and closes it when the server refuses the credentials on a
// reconnect, and a permissions violation on the subjects tasks come on
// leaves the evaluator deaf). fatal is why serving ended early, nil after
// a signal; serveErr is Serve's own error.
func serve(ctx context.Context, c *config, nc *nats.Conn, m *monitor, signals signalsFunc, log zerolog.Logger) (fatal, serveErr error) {
	// work is the context the tasks run under: ctx's end only drains them.
	work, stop := context.WithCancelCause(context.WithoutCancel(ctx))
	watchConn(nc, c.natsURL, c.objective, stop, log.With().Str("component", "evaluator").Logger())
	if err := m.register(nc); err != nil {
		log.Warn().Str("component", "evaluator").Err(err).Msg("serving without the evaluator service")
	}
	defer m.stop(log)
	watching := make(chan struct{})
	go func() {
		defer close(watching)
		watchStop(ctx, work, stop, nc, m, signals, log.With().Str("component", "evaluator").Logger())
	}()
	defer func() {
		stop(nil)
		<-watching
	}()
	serveErr = transport.Serve(work, nc, transport.ServeOptions{
		Objective: c.objective,
		Slots:     c.slots,
		Name:      c.name,
		Logger:    log,
		Ready:     func() { log.Info().Str("component", "evaluator").Str("objective", c.objective).Msg("ready") },
		Drain:     ctx.Done(),
	}, m)
	if ctx.Err() != nil {
		return nil, serveErr // stopped by a signal
	}
	return context.Cause(work), serveErr
}

// connHint says which flags to check when the connection failed on
// credentials or the server's certificate.
func connHint(err error) string {
	switch {
	case errors.Is(err, transport.ErrAuth):
		return " (check --token, --user/--password, --nkey, --creds, --tls-cert/--tls-key)"
	case errors.Is(err, transport.ErrServerCert):
		return " (check --tls-ca, and that the certificate names the host in --nats)"
	}
	return ""
}

// errPermission is wrapped by the error that ends serving when the server
// denies the evaluator a subject it needs.
var errPermission = errors.New("permission denied")

// watchConn calls stop with the reason when nc closes for good or the
// server denies it a subject the objective's tasks or results travel on.
// A subject of the evaluator service denied only gets a warning, once.
// The handlers set by transport.Connect keep running.
func watchConn(nc *nats.Conn, url, objective string, stop context.CancelCauseFunc, log zerolog.Logger) {
	url = transport.RedactURL(url)
	closed := func(nc *nats.Conn) {
		err := nc.LastError()
		switch {
		case errors.Is(err, nats.ErrAuthorization), errors.Is(err, nats.ErrAuthExpired),
			errors.Is(err, nats.ErrAuthRevoked), errors.Is(err, nats.ErrAccountAuthExpired):
			stop(fmt.Errorf("%w at %s after reconnecting: %v", transport.ErrAuth, url, err))
		case err != nil:
			stop(fmt.Errorf("connection to the NATS server at %s closed: %v", url, err))
		default:
			stop(fmt.Errorf("connection to the NATS server at %s closed", url))
		}
	}
	prevClosed := nc.ClosedHandler()
	nc.SetClosedHandler(func(nc *nats.Conn) {
		if prevClosed != nil {
			prevClosed(nc)
		}
		closed(nc)
	})
	prevErr := nc.ErrorHandler()
	var warned sync.Once
	nc.SetErrorHandler(func(nc *nats.Conn, sub *nats.Subscription, err error) {
		if prevErr != nil {
			prevErr(nc, sub, err)
		}
		switch {
		case !errors.Is(err, nats.ErrPermissionViolation):
		case needed(err.Error(), objective):
			stop(fmt.Errorf("%w by the NATS server at %s: %v; the evaluator's user needs to subscribe to %s and use the objective's JetStream subjects",
				errPermission, url, err, wire.EvalSubject(objective)))
		case strings.Contains(err.Error(), `"$SRV.`) || strings.Contains(err.Error(), `"`+wire.SubjectEvaluators+`"`):
			warned.Do(func() {
				log.Warn().Err(err).Msgf("the NATS server denies the subjects of the %s service: nats micro and %s do not see this evaluator, which serves its tasks regardless (see docs/security.md)",
					wire.EvaluatorService, wire.SubjectEvaluators)
			})
		}
	})
	if nc.IsClosed() {
		closed(nc)
	}
}

// needed reports whether a permissions violation message names a subject
// the evaluator cannot serve objective without: the direct task subject,
// the JetStream API of the objective's durable task stream, its task
// subjects, or the result subjects.
func needed(msg, objective string) bool {
	for _, s := range []string{
		`"` + wire.EvalSubject(objective) + `"`,
		wire.SubjectTask + objective + ".",
		"." + wire.TaskStream(objective) + ".",
		"." + wire.TaskStream(objective) + `"`,
		`"` + wire.SubjectResult,
	} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}
