package transport

import (
	"errors"
	"fmt"
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
	TLSCA    string // CA certificate file to verify the server
	TLSCert  string // client certificate file (with TLSKey)
	TLSKey   string
	// ReconnectWait between reconnect attempts; default 250ms. Reconnection
	// never gives up: a daemon and its evaluators outlive network blips.
	ReconnectWait time.Duration
	// Logger receives disconnects, reconnects and asynchronous errors
	// (slow consumer, permission violations); default: disabled.
	Logger zerolog.Logger
}

// ErrAuth is wrapped by Connect when the server refused the credentials.
var ErrAuth = errors.New("transport: credentials refused by the NATS server")

// Connect dials NATS with o. A refused authentication is reported as ErrAuth
// (not retried); an unreachable server is reported as is.
func Connect(o ConnOptions) (*nats.Conn, error) {
	if o.URL == "" {
		return nil, errors.New("transport: no NATS url given")
	}
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
	if o.Token != "" {
		opts = append(opts, nats.Token(o.Token))
	}
	if o.User != "" || o.Password != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.Creds != "" {
		opts = append(opts, nats.UserCredentials(o.Creds))
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if o.TLSCert != "" || o.TLSKey != "" {
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		if errors.Is(err, nats.ErrAuthorization) || errors.Is(err, nats.ErrAuthExpired) || errors.Is(err, nats.ErrAuthRevoked) {
			return nil, fmt.Errorf("%w at %s: %v", ErrAuth, o.URL, err)
		}
		return nil, fmt.Errorf("transport: connect to %s: %w", o.URL, err)
	}
	return nc, nil
}
