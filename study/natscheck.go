package study

import (
	"errors"
	"net"
	"net/url"
	"os"
	"strings"
)

// checkCredentialKinds refuses more than one kind of credentials: a client
// presents one, and a server would not say which it checked.
func (n *NATSConfig) checkCredentialKinds(ps *problemList) {
	var set []string
	for _, k := range []struct{ key, v string }{
		{"nats.token", n.Token}, {"nats.user", n.User}, {"nats.nkey", n.NKey}, {"nats.creds", n.Creds},
	} {
		if k.v != "" {
			set = append(set, k.key)
		}
	}
	for _, key := range set[min(1, len(set)):] {
		ps.add(key, "cannot be used with %s: set one kind of credentials (token, user/password, nkey or creds)", set[0])
	}
}

// checkFiles checks that the credential and certificate files exist. The
// nkey and creds files of an embedded server are refused by checkEmbedded.
func (n *NATSConfig) checkFiles(ps *problemList) {
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
			ps.add(f.key, "file %s does not exist", f.path)
		case err != nil:
			ps.add(f.key, "file %s: %v", f.path, errors.Unwrap(err))
		case fi.IsDir():
			ps.add(f.key, "%s is a directory, not a file", f.path)
		}
	}
}

// checkEmbedded checks the settings of the embedded server (nats.url
// empty): what it cannot do, and that it does not admit anyone who reaches
// it from another host.
func (n *NATSConfig) checkEmbedded(ps *problemList) {
	for _, f := range []struct{ key, path string }{{"nats.creds", n.Creds}, {"nats.nkey", n.NKey}} {
		if f.path != "" {
			ps.add(f.key, "the embedded NATS server (nats.url empty) does not check nkeys/JWT credentials "+
				"(use nats.token or nats.user/nats.password); set nats.url to use a server that does")
		}
	}
	if n.TLSCA != "" && n.TLSCert == "" {
		ps.add("nats.tls_ca", "with the embedded NATS server (nats.url empty) the CA verifies client certificates, "+
			"so it needs the server's own certificate in nats.tls_cert and nats.tls_key")
	}
	if n.Replicas > 1 {
		ps.add("nats.replicas", "the embedded NATS server is a single server, so replicas must be 1 (got %d); set nats.url to use a cluster", n.Replicas)
	}
	if !n.AllowUnauthenticated && !LoopbackListen(n.Listen) && !n.embeddedAuth() {
		ps.add("nats.listen", "%q is reachable from other hosts, and without credentials the embedded NATS server "+
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
