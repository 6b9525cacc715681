package transport

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// ConnOptions says how to reach NATS and with which credentials. Empty
// fields are not used.
type ConnOptions struct {
	URL      string // e.g. "nats://127.0.0.1:4222"; required
	Name     string // client name shown by the server
	Token    string
	User     string
	Password string
	Creds    string // nkeys/JWT credentials file
	NKey     string // nkey seed file
	TLSCA    string // CA certificate file to verify the server
	TLSCert  string // client certificate file (with TLSKey)
	TLSKey   string
	// ReconnectWait between reconnect attempts; default 250ms. Reconnection
	// never gives up: a daemon and its evaluators outlive network blips.
	ReconnectWait time.Duration
	// Logger receives disconnects, reconnects and asynchronous errors
	// (slow consumer, permission violations); default: disabled.
	Logger zerolog.Logger
	// InProcess, when set, is a server in this process to connect to
	// through memory rather than a socket (URL is then only for the
	// logs): tunerd and its embedded server. Credentials still apply.
	InProcess nats.InProcessConnProvider
}

// ErrAuth is wrapped by Connect when the server refused the credentials
// (a token, user and password, nkey, creds file or client certificate).
var ErrAuth = errors.New("transport: credentials refused by the NATS server")

// ErrServerCert is wrapped by Connect when the server's TLS certificate
// could not be verified (not signed by the CA given, or for another host).
var ErrServerCert = errors.New("transport: the NATS server's TLS certificate is not trusted")

// Connect dials NATS with o. A refused authentication is reported as ErrAuth
// and a server certificate that cannot be verified as ErrServerCert (neither
// is retried); an unreachable server is reported as is.
func Connect(o ConnOptions) (*nats.Conn, error) {
	if o.URL == "" {
		return nil, errors.New("transport: no NATS url given")
	}
	opts, err := o.options()
	if err != nil {
		return nil, err
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, connectError(o, err)
	}
	return nc, nil
}

// connectError classifies a failed connection: credentials refused, the
// server's certificate not trusted, or anything else. The URL it names is
// redacted.
func connectError(o ConnOptions, err error) error {
	o.URL = RedactURL(o.URL)
	if errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) || errors.Is(err, nats.ErrAuthRevoked) {
		return fmt.Errorf("%w at %s: %v", ErrAuth, o.URL, err)
	}
	// A server that requires a client certificate ends the handshake with
	// an alert when there is none, or none it accepts. With TLS 1.3 the
	// client may finish its side of the handshake first and find the
	// connection closed instead of reading the alert.
	var op *net.OpError
	alert := errors.As(err, &op) && op.Op == "remote error" && strings.Contains(op.Err.Error(), "certificate")
	closed := errors.Is(err, nats.ErrTLS) && strings.Contains(err.Error(), "closed by remote after TLS handshake")
	if alert || closed {
		what := "refused the client certificate " + o.TLSCert
		if o.TLSCert == "" {
			what = "requires a client certificate and none was given"
		}
		return fmt.Errorf("%w at %s: it %s (%v)", ErrAuth, o.URL, what, err)
	}
	var cv *tls.CertificateVerificationError
	if errors.As(err, &cv) {
		ca := "the system's CAs"
		if o.TLSCA != "" {
			ca = o.TLSCA
		}
		return fmt.Errorf("%w at %s, verified with %s: %v", ErrServerCert, o.URL, ca, cv.Err)
	}
	return fmt.Errorf("transport: connect to %s: %w", o.URL, err)
}

// options are the nats.go options for o.
func (o ConnOptions) options() ([]nats.Option, error) {
	wait := o.ReconnectWait
	if wait <= 0 {
		wait = 250 * time.Millisecond
	}
	opts := []nats.Option{
		nats.Name(o.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(wait),
		nats.RetryOnFailedConnect(false),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				o.Logger.Warn().Err(err).Str("component", "nats").Msg("disconnected; reconnecting")
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			o.Logger.Info().Str("component", "nats").Str("url", nc.ConnectedUrlRedacted()).Msg("reconnected")
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			ev := o.Logger.Error().Err(err).Str("component", "nats")
			if sub != nil {
				ev = ev.Str("subject", sub.Subject)
			}
			ev.Msg("asynchronous NATS error")
		}),
	}
	if o.InProcess != nil {
		opts = append(opts, nats.InProcessServer(o.InProcess))
	}
	if o.Token != "" {
		opts = append(opts, nats.Token(o.Token))
	}
	if o.User != "" || o.Password != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.Creds != "" {
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.NKey != "" {
		opt, err := nats.NkeyOptionFromSeed(o.NKey)
		if err != nil {
			return nil, fmt.Errorf("transport: nkey seed file: %w", err)
		}
		opts = append(opts, opt)
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if o.TLSCert != "" || o.TLSKey != "" {
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	return opts, nil
}

// RedactURL hides the credentials in a server URL, or comma-separated
// list of them, for messages: a token (nats://TOKEN@host) or a password
// (nats://user:PASSWORD@host) becomes REDACTED.
func RedactURL(s string) string {
	parts := strings.Split(s, ",")
	for i, p := range parts {
		u, err := url.Parse(strings.TrimSpace(p))
		if err != nil || u.User == nil {
			continue
		}
		if _, ok := u.User.Password(); ok {
			u.User = url.UserPassword(u.User.Username(), "REDACTED")
		} else {
			u.User = url.User("REDACTED")
		}
		parts[i] = u.String()
	}
	return strings.Join(parts, ",")
}
