package natsserver

import "testing"

// Local clients reach a server listening on every address through the
// loopback address, and a TLS server through tls://.
func TestClientURL(t *testing.T) {
	for _, tc := range []struct {
		host string
		tls  bool
		want string
	}{
		{"127.0.0.1", false, "nats://127.0.0.1:4222"},
		{"0.0.0.0", false, "nats://127.0.0.1:4222"},
		{"::", true, "tls://127.0.0.1:4222"},
		{"::1", false, "nats://[::1]:4222"},
		{"tuner.lan", true, "tls://tuner.lan:4222"},
	} {
		if got := clientURL(tc.host, 4222, tc.tls); got != tc.want {
			t.Errorf("clientURL(%q, tls %v) = %q, want %q", tc.host, tc.tls, got, tc.want)
		}
	}
}
