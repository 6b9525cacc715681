package transport

import (
	"errors"
	"flag"
	"os"
)

// Flags binds the command-line flags that say how to reach NATS to o:
// --nats, --token, --user, --password, --creds, --nkey, --tls-ca,
// --tls-cert and --tls-key. Environment defaults are applied by Env after
// parsing, so that they do not show in the help.
func (o *ConnOptions) Flags(fs *flag.FlagSet) {
	fs.StringVar(&o.URL, "nats", "", "NATS server URL")
	fs.StringVar(&o.Token, "token", "", "authentication token")
	fs.StringVar(&o.User, "user", "", "user name")
	fs.StringVar(&o.Password, "password", "", "password")
	fs.StringVar(&o.Creds, "creds", "", "credentials file")
	fs.StringVar(&o.NKey, "nkey", "", "nkey seed file")
	fs.StringVar(&o.TLSCA, "tls-ca", "", "CA certificate file")
	fs.StringVar(&o.TLSCert, "tls-cert", "", "client certificate file")
	fs.StringVar(&o.TLSKey, "tls-key", "", "client key file")
}

// Env fills the settings the flags left empty from the environment:
// NATS_URL, NATS_TOKEN, NATS_USER, NATS_PASSWORD and NATS_CREDS.
func (o *ConnOptions) Env() {
	for v, key := range map[*string]string{
		&o.URL: "NATS_URL", &o.Token: "NATS_TOKEN", &o.User: "NATS_USER",
		&o.Password: "NATS_PASSWORD", &o.Creds: "NATS_CREDS",
	} {
		if *v == "" {
			*v = os.Getenv(key)
		}
	}
}

// CheckFlags reports settings that cannot work together.
func (o *ConnOptions) CheckFlags() error {
	if (o.TLSCert == "") != (o.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	return nil
}
