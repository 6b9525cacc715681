package transport_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/transport"
)

// The embedded server serves TLS with its certificate; clients verify it
// with the CA that signed it (or the certificate itself). With a client CA
// it admits only clients with a certificate that CA signed.
func TestEmbeddedTLS(t *testing.T) {
	ca, other := testutil.NewCA(t, "ca"), testutil.NewCA(t, "other")
	cert, key := ca.Issue(t, "server", "127.0.0.1")
	clientCert, clientKey := ca.Issue(t, "client")
	otherCert, otherKey := other.Issue(t, "stranger")

	srv := startServer(t, natsserver.Options{TLSCert: cert, TLSKey: key})
	if !strings.HasPrefix(srv.URL(), "tls://127.0.0.1:") {
		t.Errorf("URL %q, want tls://127.0.0.1:PORT", srv.URL())
	}
	for _, tc := range []struct {
		name string
		o    transport.ConnOptions
		want error
	}{
		{"CA", transport.ConnOptions{TLSCA: ca.File}, nil},
		{"certificate as its own root", transport.ConnOptions{TLSCA: cert}, nil},
		{"other CA", transport.ConnOptions{TLSCA: other.File}, transport.ErrServerCert},
		{"system CAs", transport.ConnOptions{}, transport.ErrServerCert},
	} {
		tc.o.URL = srv.URL()
		checkConnect(t, "server TLS, "+tc.name, tc.o, tc.want)
	}

	verify := startServer(t, natsserver.Options{TLSCert: cert, TLSKey: key, TLSCA: ca.File})
	for _, tc := range []struct {
		name string
		o    transport.ConnOptions
		want error
	}{
		{"client certificate", transport.ConnOptions{TLSCA: ca.File, TLSCert: clientCert, TLSKey: clientKey}, nil},
		{"no client certificate", transport.ConnOptions{TLSCA: ca.File}, transport.ErrAuth},
		{"client certificate of another CA", transport.ConnOptions{TLSCA: ca.File, TLSCert: otherCert, TLSKey: otherKey}, transport.ErrAuth},
	} {
		tc.o.URL = verify.URL()
		checkConnect(t, "client certificates, "+tc.name, tc.o, tc.want)
	}
}

func checkConnect(t *testing.T, name string, o transport.ConnOptions, want error) {
	t.Helper()
	nc, err := transport.Connect(o)
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: %v", name, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: got %v, want %v", name, err, want)
	}
	if nc != nil {
		nc.Close()
	}
}

// A client refused for bad credentials leaves a line in the embedded
// server's log, at error level, with the client's address.
func TestEmbeddedServerLogsRefusedClient(t *testing.T) {
	var buf testutil.SyncBuffer
	srv := startServer(t, natsserver.Options{Token: "right", Logger: zerolog.New(&buf)})
	if _, err := transport.Connect(transport.ConnOptions{URL: srv.URL(), Token: "wrong"}); !errors.Is(err, transport.ErrAuth) {
		t.Fatalf("want ErrAuth, got %v", err)
	}
	for _, line := range strings.Split(buf.String(), "\n") {
		if strings.Contains(line, `"level":"error"`) && strings.Contains(line, `"component":"nats-server"`) &&
			strings.Contains(line, "127.0.0.1:") && strings.Contains(line, "authentication error") {
			return
		}
	}
	t.Errorf("no error line naming the refused client in the server's log:\n%s", buf.String())
}

// Messages name a server without its token or password.
func TestRedactURL(t *testing.T) {
	for in, want := range map[string]string{
		"nats://h:4222":                         "nats://h:4222",
		"nats://s3cret@h:4222":                  "nats://REDACTED@h:4222",
		"tls://alice:pa55@h:4222,nats://k:4222": "tls://alice:REDACTED@h:4222,nats://k:4222",
	} {
		if got := transport.RedactURL(in); got != want {
			t.Errorf("RedactURL(%q) = %q, want %q", in, got, want)
		}
	}
	srv := startServer(t, natsserver.Options{Token: "right"})
	url := strings.Replace(srv.URL(), "nats://", "nats://wr0ng-t0ken@", 1)
	if _, err := transport.Connect(transport.ConnOptions{URL: url}); !errors.Is(err, transport.ErrAuth) || strings.Contains(err.Error(), "wr0ng-t0ken") {
		t.Errorf("connecting with a wrong token in the URL: %v; want ErrAuth without the token", err)
	}
}
