package transport

import (
	"errors"
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// ServerOptions configures an embedded NATS server.
type ServerOptions struct {
	// Listen is host:port; "" means a free port on 127.0.0.1.
	Listen string
	// StoreDir enables JetStream with its store in this directory; "" leaves
	// JetStream off.
	StoreDir string
	// Token, or User and Password, make the server require credentials.
	Token    string
	User     string
	Password string
	// ReadyTimeout bounds the wait for the server to accept connections;
	// default 10s.
	ReadyTimeout time.Duration
}

// Server is an embedded NATS server.
type Server struct {
	*server.Server
}

// StartServer starts an embedded NATS server and waits until it accepts
// connections. The server does not install signal handlers (NoSigs): the
// host program owns SIGINT/SIGTERM. Call Close to shut it down.
func StartServer(o ServerOptions) (*Server, error) {
	host, port := "127.0.0.1", -1
	if o.Listen != "" {
		h, p, err := net.SplitHostPort(o.Listen)
		if err != nil {
			return nil, fmt.Errorf("transport: embedded server listen address %q: %w", o.Listen, err)
		}
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 65535 {
			return nil, fmt.Errorf("transport: embedded server listen address %q: bad port", o.Listen)
		}
		if h != "" {
			host = h
		}
		port = n
		if port == 0 {
			port = -1
		}
	}
	opts := &server.Options{
		Host:                  host,
		Port:                  port,
		NoSigs:                true,
		NoLog:                 true,
		MaxPayload:            8 << 20,
		Authorization:         o.Token,
		Username:              o.User,
		Password:              o.Password,
		JetStream:             o.StoreDir != "",
		StoreDir:              o.StoreDir,
		DisableShortFirstPing: true,
	}
	s, err := server.NewServer(opts)
	if err != nil {
		return nil, fmt.Errorf("transport: embedded server: %w", err)
	}
	go s.Start()
	wait := o.ReadyTimeout
	if wait <= 0 {
		wait = 10 * time.Second
	}
	if !s.ReadyForConnections(wait) {
		s.Shutdown()
		s.WaitForShutdown()
		return nil, errors.New("transport: embedded server not ready for connections after " + wait.String() + " (is the port in use?)")
	}
	return &Server{s}, nil
}

// URL is the client URL of the server, e.g. nats://127.0.0.1:40321.
func (s *Server) URL() string { return s.ClientURL() }

// Close shuts the server down and waits for it to finish.
func (s *Server) Close() {
	s.Shutdown()
	s.WaitForShutdown()
}
