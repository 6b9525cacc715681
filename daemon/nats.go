package daemon

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/transport"
)

// storeDir is where the embedded server keeps its JetStream store.
func storeDir(cfg *Config) string { return filepath.Join(cfg.DataDir, "jetstream") }

// startEmbedded starts the embedded NATS server of cfg, with its store in
// data_dir, and writes its client URL to data_dir/nats.url. The server's
// warnings and errors (clients refused for bad credentials, say) go to
// logger with component "nats-server".
func startEmbedded(cfg *Config, logger zerolog.Logger) (*natsserver.Server, error) {
	n := cfg.NATS
	srv, err := natsserver.Start(natsserver.Options{
		Listen:   n.Listen,
		StoreDir: storeDir(cfg),
		Token:    n.Token,
		User:     n.User,
		Password: n.Password,
		TLSCert:  n.TLSCert,
		TLSKey:   n.TLSKey,
		TLSCA:    n.TLSCA,
		Logger:   logger,
	})
	if err != nil {
		return nil, fmt.Errorf("daemon: %w", err)
	}
	log := logger.With().Str("component", "daemon").Logger()
	urlFile := filepath.Join(cfg.DataDir, "nats.url")
	if err := os.WriteFile(urlFile, []byte(srv.URL()+"\n"), 0o644); err != nil {
		srv.Close()
		return nil, fmt.Errorf("daemon: %w", err)
	}
	log.Info().Str("url", srv.URL()).Str("url_file", urlFile).Msg("embedded NATS server started")
	warnOpen(n, log)
	return srv, nil
}

// warnOpen warns when the embedded server admits anyone who reaches it
// from another host, which the config allows only with
// nats.allow_unauthenticated.
func warnOpen(n NATS, log zerolog.Logger) {
	if n.Open {
		log.Warn().Str("listen", n.Listen).Msg("the embedded NATS server listens on " + n.Listen +
			" without credentials (nats.allow_unauthenticated): any host that reaches the port can read and write every study; " +
			"set nats.token or nats.user and nats.password (see docs/security.md)")
	}
}

// ConnOptions are the connection options of tunerd and the evaluators it
// starts for the server at url. The embedded server's own certificate
// (nats.tls_cert) is trusted when no CA is given: it is then its own root.
func ConnOptions(n NATS, url string) transport.ConnOptions {
	c := transport.ConnOptions{
		URL: url, Name: "tunerd", Token: n.Token, User: n.User, Password: n.Password,
		Creds: n.Creds, NKey: n.NKey, TLSCA: n.TLSCA, TLSCert: n.TLSCert, TLSKey: n.TLSKey,
	}
	if n.URL == "" && c.TLSCA == "" {
		c.TLSCA = n.TLSCert
	}
	return c
}
