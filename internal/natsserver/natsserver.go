// Package natsserver starts the NATS server tunerd embeds when its config
// names none: JetStream on, its store under data_dir, loopback by default,
// with the credentials and TLS of the config, logging through zerolog. Only
// tunerd and tests link it; a program that only runs simulators does not.
package natsserver

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/rs/zerolog"
	"github.com/zotune/zotune/wire"
)

// Options configures an embedded NATS server.
type Options struct {
	// Listen is host:port; "" means a free port on 127.0.0.1, and so does
	// an empty host or port 0.
	Listen string
	// StoreDir enables JetStream with its store in this directory; "" leaves
	// JetStream off.
	StoreDir string
	// Token, or User and Password, make the server require credentials.
	Token    string
	User     string
	Password string
	// TLSCert and TLSKey make the server serve TLS (only) with this
	// certificate; TLSCA then makes it require client certificates signed
	// by this CA.
	TLSCert string
	TLSKey  string
	TLSCA   string
	// Logger receives the server's warnings and errors (a client refused
	// for bad credentials, say) with component "nats-server", and its
	// notices at debug level; default: disabled.
	Logger zerolog.Logger
	// ReadyTimeout bounds the wait for the server to accept connections;
	// default 10s.
	ReadyTimeout time.Duration
}

// Server is an embedded NATS server.
type Server struct {
	*server.Server
	url string
}

// Start starts an embedded NATS server and waits until it accepts
// connections. The server does not install signal handlers (NoSigs): the
// host program owns SIGINT/SIGTERM. Call Close to shut it down.
func Start(o Options) (*Server, error) {
	host, port, err := listenAddr(o.Listen)
	if err != nil {
		return nil, err
	}
	opts := &server.Options{
		Host:                  host,
		Port:                  port,
		NoSigs:                true,
		NoLog:                 true,
		MaxPayload:            wire.MaxPayload,
		Authorization:         o.Token,
		Username:              o.User,
		Password:              o.Password,
		JetStream:             o.StoreDir != "",
		StoreDir:              o.StoreDir,
		DisableShortFirstPing: true,
	}
	if o.TLSCert != "" || o.TLSKey != "" || o.TLSCA != "" {
		tc, err := server.GenTLSConfig(&server.TLSConfigOpts{
			CertFile: o.TLSCert, KeyFile: o.TLSKey, CaFile: o.TLSCA, Verify: o.TLSCA != "",
		})
		if err != nil {
			return nil, fmt.Errorf("natsserver: embedded server TLS: %w", err)
		}
		opts.TLSConfig, opts.TLS, opts.TLSVerify, opts.TLSTimeout = tc, true, o.TLSCA != "", 5
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("natsserver: embedded server: %w", err)
	}
	s.SetLogger(serverLog{o.Logger.With().Str("component", "nats-server").Logger()}, false, false)
	go s.Start()
	wait := o.ReadyTimeout
	if wait <= 0 {
		wait = 10 * time.Second
	}
	if !s.ReadyForConnections(wait) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, errors.New("natsserver: embedded server not ready for connections after " + wait.String() + " (is the port in use?)")
	}
	port = s.Addr().(*net.TCPAddr).Port
	return &Server{Server: s, url: clientURL(host, port, opts.TLSConfig != nil)}, nil
}

// listenAddr splits a listen address into the server's host and port.
func listenAddr(listen string) (string, int, error) {
	host, port := "127.0.0.1", -1
	if listen == "" {
		return host, port, nil
	}
	h, p, err := net.SplitHostPort(listen)
	if err != nil {
		return "", 0, fmt.Errorf("natsserver: embedded server listen address %q: %w", listen, err)
	}
	n, err := strconv.Atoi(p)
	if err != nil || n < 0 || n > 65535 {
		return "", 0, fmt.Errorf("natsserver: embedded server listen address %q: bad port", listen)
	}
	if h != "" {
		host = h
	}
	if n != 0 {
		port = n
	}
	return host, port, nil
}

// clientURL is the URL local clients reach the server at: its listen host,
// or 127.0.0.1 when it listens on every address. A TLS server's
// certificate must name that host.
func clientURL(host string, port int, tls bool) string {
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	scheme := "nats"
	if tls {
		scheme = "tls"
	}
	return scheme + "://" + net.JoinHostPort(host, strconv.Itoa(port))
}

// URL is the client URL of the server, e.g. nats://127.0.0.1:40321, or
// tls://127.0.0.1:40321 when it serves TLS.
func (s *Server) URL() string { return s.url }

// Close shuts the server down and waits for it to finish.
func (s *Server) Close() {
	s.Shutdown()
	s.WaitForShutdown()
}

// serverLog forwards the embedded server's log to zerolog: warnings and
// errors at their levels, notices at debug level. A fatal error is logged
// as an error: the server does not exit the program.
type serverLog struct{ log zerolog.Logger }

func (l serverLog) Noticef(format string, v ...any) { l.log.Debug().Msgf(format, v...) }
func (l serverLog) Warnf(format string, v ...any)   { l.log.Warn().Msgf(format, v...) }
func (l serverLog) Fatalf(format string, v ...any)  { l.log.Error().Msgf(format, v...) }
func (l serverLog) Errorf(format string, v ...any)  { l.log.Error().Msgf(format, v...) }
func (l serverLog) Debugf(format string, v ...any)  {}
func (l serverLog) Tracef(format string, v ...any)  {}
