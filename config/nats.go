package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/zotune/zotune/internal/tomlcheck"
)

// NATSConfig says which NATS server to use and how to authenticate. The same
// credentials make the embedded server admit clients and let tunerd connect.
// See docs/security.md.
type NATSConfig struct {
	URL      string `toml:"url"`      // server URL(s), comma separated; default "": start an embedded server
	Listen   string `toml:"listen"`   // embedded server's host:port; default "": a free loopback port
	Token    string `toml:"token"`    // default "": none
	Creds    string `toml:"creds"`    // nkeys/JWT credentials file; default "": none
	NKey     string `toml:"nkey"`     // nkey seed file; default "": none
	User     string `toml:"user"`     // default "": none; needs Password
	Password string `toml:"password"` // default "": none; needs User
	// TLSCA is the CA certificate file clients verify the server with
	// (default "": system roots); with the embedded server it also makes
	// the server require client certificates signed by it.
	TLSCA string `toml:"tls_ca"`
	// TLSCert and TLSKey are the client certificate and key presented to an
	// external server, or the embedded server's own, which then serves TLS.
	TLSCert  string `toml:"tls_cert"`
	TLSKey   string `toml:"tls_key"`
	Replicas int    `toml:"replicas"` // JetStream stream replicas: 1 (default) on one server, 3 on a cluster
	// AllowUnauthenticated lets the embedded server listen on an address
	// other hosts reach without requiring credentials; default false: such
	// a config is refused.
	AllowUnauthenticated bool `toml:"allow_unauthenticated"`
}

func defaultNATS() NATSConfig { return NATSConfig{Replicas: 1} }

func (n *NATSConfig) check(ps *tomlcheck.Problems) {
	if n.Replicas < 1 || n.Replicas > 5 {
		ps.Add("nats.replicas", "must be 1 to 5, got %d", n.Replicas)
	}
	if n.URL != "" {
		for u := range strings.SplitSeq(n.URL, ",") {
			if err := checkNATSURL(strings.TrimSpace(u)); err != nil {
				ps.Add("nats.url", "%v", err)
			} else if urlHasCredentials(strings.TrimSpace(u)) {
				ps.Add("nats.url", "holds credentials (before the @): set nats.token or nats.user and nats.password instead, "+
					"which are kept off evaluator command lines and out of messages")
			}
		}
	}
	if n.Listen != "" {
		if err := checkHostPort(n.Listen, -1); err != nil {
			ps.Add("nats.listen", "%v", err)
		}
	}
	together(ps, "nats.user", n.User, "nats.password", n.Password)
	n.checkCredentialKinds(ps)
	together(ps, "nats.tls_cert", n.TLSCert, "nats.tls_key", n.TLSKey)
	n.checkFiles(ps)
	if n.URL == "" {
		n.checkEmbedded(ps)
	} else if n.AllowUnauthenticated {
		ps.Add("nats.allow_unauthenticated", "applies to the embedded server only; with nats.url set, "+
			"the server's own config decides who may connect")
	}
}

func checkNATSURL(s string) error {
	if s == "" {
		return errors.New("empty server URL")
	}
	raw := s
	if !strings.Contains(s, "://") {
		raw = "nats://" + s
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid server URL %q", s)
	}
	if !slices.Contains([]string{"nats", "tls", "ws", "wss"}, u.Scheme) {
		return fmt.Errorf("server URL %q: unknown scheme %q; want nats, tls, ws or wss", s, u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("server URL %q has no host", s)
	}
	return nil
}

// checkHostPort checks a listen address; minPort is the lowest port
// accepted (-1 asks the NATS server for a random one).
func checkHostPort(addr string, minPort int) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port, got %q", addr)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < minPort || p > 65535 {
		return fmt.Errorf("invalid port %q in %q", port, addr)
	}
	return nil
}

// checkCredentialKinds refuses more than one kind of credentials: a client
// presents one, and a server would not say which it checked.
func (n *NATSConfig) checkCredentialKinds(ps *tomlcheck.Problems) {
	var set []string
	for _, k := range []struct{ key, v string }{
		{"nats.token", n.Token}, {"nats.user", n.User}, {"nats.nkey", n.NKey}, {"nats.creds", n.Creds},
	} {
		if k.v != "" {
			set = append(set, k.key)
		}
	}
	for _, key := range set[min(1, len(set)):] {
		ps.Add(key, "cannot be used with %s: set one kind of credentials (token, user/password, nkey or creds)", set[0])
	}
}

// checkFiles checks that the credential and certificate files exist. The
// nkey and creds files of an embedded server are refused by checkEmbedded.
func (n *NATSConfig) checkFiles(ps *tomlcheck.Problems) {
	files := []struct{ key, path string }{
		{"nats.creds", n.Creds}, {"nats.nkey", n.NKey},
		{"nats.tls_ca", n.TLSCA}, {"nats.tls_cert", n.TLSCert}, {"nats.tls_key", n.TLSKey},
	}
	for _, f := range files {
		if f.path == "" || (n.URL == "" && (f.key == "nats.creds" || f.key == "nats.nkey")) {
			continue
		}
		switch fi, err := os.Stat(f.path); {
		case errors.Is(err, os.ErrNotExist):
			ps.Add(f.key, "file %s does not exist", f.path)
		case err != nil:
			ps.Add(f.key, "file %s: %v", f.path, errors.Unwrap(err))
		case fi.IsDir():
			ps.Add(f.key, "%s is a directory, not a file", f.path)
		}
	}
}

// checkEmbedded checks the settings of the embedded server (nats.url
// empty): what it cannot do, and that it does not admit anyone who reaches
// it from another host.
func (n *NATSConfig) checkEmbedded(ps *tomlcheck.Problems) {
	for _, f := range []struct{ key, path string }{{"nats.creds", n.Creds}, {"nats.nkey", n.NKey}} {
		if f.path != "" {
			ps.Add(f.key, "the embedded NATS server (nats.url empty) does not check nkeys/JWT credentials "+
				"(use nats.token or nats.user/nats.password); set nats.url to use a server that does")
		}
	}
	if n.TLSCA != "" && n.TLSCert == "" {
		ps.Add("nats.tls_ca", "with the embedded NATS server (nats.url empty) the CA verifies client certificates, "+
			"so it needs the server's own certificate in nats.tls_cert and nats.tls_key")
	}
	if n.Replicas > 1 {
		ps.Add("nats.replicas", "the embedded NATS server is a single server, so replicas must be 1 (got %d); set nats.url to use a cluster", n.Replicas)
	}
	if !n.AllowUnauthenticated && !LoopbackListen(n.Listen) && !n.embeddedAuth() {
		ps.Add("nats.listen", "%q is reachable from other hosts, and without credentials the embedded NATS server "+
			"would let any of them read and write every study: set nats.token or nats.user and nats.password "+
			"(see docs/security.md), or nats.allow_unauthenticated = true to run open anyway", n.Listen)
	}
}

// embeddedAuth reports whether the embedded server requires credentials:
// a token, a user and password, or a client certificate signed by tls_ca.
func (n *NATSConfig) embeddedAuth() bool {
	return n.Token != "" || n.User != "" || (n.TLSCA != "" && n.TLSCert != "")
}

// OpenEmbedded reports whether the config runs the embedded server on an
// address other hosts reach without requiring credentials, which only
// nats.allow_unauthenticated permits.
func (n *NATSConfig) OpenEmbedded() bool {
	return n.URL == "" && !LoopbackListen(n.Listen) && !n.embeddedAuth()
}

// LoopbackListen reports whether a listen address (host:port) is reachable
// from this host only: empty (the embedded server's default, 127.0.0.1),
// an empty host, "localhost" or a loopback IP address. A host name other
// than localhost counts as reachable from elsewhere, whatever it resolves
// to now.
func LoopbackListen(listen string) bool {
	if listen == "" {
		return true
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return true // reported as a bad address
	}
	if host == "" || strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// urlHasCredentials reports whether a server URL (already checked by
// checkNATSURL) carries a token or user in it.
func urlHasCredentials(s string) bool {
	if !strings.Contains(s, "://") {
		s = "nats://" + s
	}
	u, err := url.Parse(s)
	return err == nil && u.User != nil
}

// together checks that two keys that go together (a user and its
// password, a certificate and its key) are both set or both left out.
func together(ps *tomlcheck.Problems, keyA, a, keyB, b string) {
	switch {
	case a != "" && b == "":
		ps.Add(keyA, "needs %s", keyB)
	case a == "" && b != "":
		ps.Add(keyB, "needs %s", keyA)
	}
}
