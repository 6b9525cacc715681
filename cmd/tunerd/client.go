package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/config"
	"github.com/zotune/zotune/daemon"
	"github.com/zotune/zotune/transport"
)

// clientFlags are the flags of the commands that talk to a running
// daemon: where its NATS server is, with which credentials, and how long
// to wait for an answer.
type clientFlags struct {
	conn    transport.ConnOptions
	config  string
	timeout time.Duration
}

func (c *clientFlags) bind(fs *flag.FlagSet) {
	c.conn.Flags(fs)
	fs.StringVar(&c.config, "config", "", "the daemon's config file")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "how long to wait for the daemon")
}

const clientHelp = `Finding the daemon: --nats URL (or $NATS_URL) names its NATS server;
otherwise the daemon's config file is read (--config FILE, default
./config.toml): its nats.url, or for an embedded server the URL the daemon
wrote to data_dir/nats.url, and its credentials.
  --nats URL          NATS server URL (default $NATS_URL)
  --config FILE       the daemon's config file (default ./config.toml)
  --token, --user, --password, --creds FILE, --nkey FILE,
  --tls-ca FILE, --tls-cert FILE, --tls-key FILE
                      credentials, as the evaluator takes them (default
                      $NATS_TOKEN, $NATS_USER, $NATS_PASSWORD, $NATS_CREDS,
                      then the config file's)
  --timeout DUR       how long to wait for the daemon (default 10s)
`

// connect finds the daemon's NATS server and connects to it.
func (c *clientFlags) connect() (*nats.Conn, error) {
	c.conn.Env()
	if err := c.conn.CheckFlags(); err != nil {
		return nil, err
	}
	o := c.conn
	if o.URL == "" {
		var err error
		if o, err = c.fromConfig(); err != nil {
			return nil, err
		}
	}
	o.Name = "tunerd-client"
	nc, err := transport.Connect(o)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the daemon's NATS server: %w", err)
	}
	return nc, nil
}

// fromConfig reads how to reach the daemon from its config file; the
// credentials given as flags or in the environment take precedence.
func (c *clientFlags) fromConfig() (transport.ConnOptions, error) {
	path := c.config
	if path == "" {
		path = "config.toml"
		if _, err := os.Stat(path); err != nil {
			return c.conn, errors.New("no daemon to talk to: give --nats URL (or set NATS_URL), or --config with the daemon's config file")
		}
	}
	cfg, err := config.Load(path)
	if err != nil {
		return c.conn, err
	}
	n := daemonConfig(cfg).NATS
	url := n.URL
	if url == "" {
		file := filepath.Join(cfg.Daemon.DataDir, "nats.url")
		data, err := os.ReadFile(file)
		if err != nil {
			return c.conn, fmt.Errorf("the daemon of %s runs an embedded NATS server, whose URL it writes to %s when it starts: %w; is the daemon running?", path, file, err)
		}
		url = strings.TrimSpace(string(data))
	}
	o := daemon.ConnOptions(n, url)
	for v, flagged := range map[*string]string{
		&o.Token: c.conn.Token, &o.User: c.conn.User, &o.Password: c.conn.Password, &o.Creds: c.conn.Creds,
		&o.NKey: c.conn.NKey, &o.TLSCA: c.conn.TLSCA, &o.TLSCert: c.conn.TLSCert, &o.TLSKey: c.conn.TLSKey,
	} {
		if flagged != "" {
			*v = flagged
		}
	}
	return o, nil
}

// clientCommand is the shape of the commands that talk to a daemon: parse
// the flags, connect, call, print. It returns the exit status.
type clientCommand struct {
	name  string // for messages: "tunerd status"
	usage string
	args  []string
	flags func(fs *flag.FlagSet)
	// positional checks the positional arguments; "" if fine.
	positional func(args []string) string
	call       func(ctx context.Context, c *api.Client, nc *nats.Conn, args []string) error
}

func (cc clientCommand) run(ctx context.Context, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet(cc.name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, cc.usage+"\n"+clientHelp) }
	var cf clientFlags
	cf.bind(fs)
	if cc.flags != nil {
		cc.flags(fs)
	}
	args, err := parseInterspersed(fs, cc.args)
	if errors.Is(err, flag.ErrHelp) {
		return 0
	}
	if err != nil {
		return 2
	}
	if why := cc.positional(args); why != "" {
		fmt.Fprintf(stderr, "%s: %s\n\n%s", cc.name, why, cc.usage)
		return 2
	}
	nc, err := cf.connect()
	if err != nil {
		fmt.Fprintf(stderr, "%s: %v\n", cc.name, err)
		return 1
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, cf.timeout)
	defer cancel()
	if err := cc.call(ctx, api.NewClient(nc), nc, args); err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			err = fmt.Errorf("no answer within %s (--timeout): %w", cf.timeout, err)
		}
		fmt.Fprintf(stderr, "%s: %v\n", cc.name, err)
		return 1
	}
	return 0
}

// exactly returns a positional check for n arguments named what.
func exactly(n int, what string) func([]string) string {
	return func(args []string) string {
		if len(args) != n {
			return fmt.Sprintf("want %s, got %d argument(s)", what, len(args))
		}
		return ""
	}
}
