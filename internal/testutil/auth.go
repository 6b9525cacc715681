package testutil

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nkeys"
)

// NKeyUser makes an nkey user: its public key, for the server's
// authorization block, and its seed, in a file for the client.
func NKeyUser(tb testing.TB) (public, seedFile string) {
	tb.Helper()
	kp, err := nkeys.CreateUser()
	if err != nil {
		tb.Fatal(err)
	}
	public = mustString(tb)(kp.PublicKey())
	seed, err := kp.Seed()
	if err != nil {
		tb.Fatal(err)
	}
	seedFile = filepath.Join(tb.TempDir(), "user.nk")
	if err := os.WriteFile(seedFile, seed, 0o600); err != nil {
		tb.Fatal(err)
	}
	return public, seedFile
}

// Operator is a NATS operator with one account that may use JetStream
// without limits, for servers in operator (JWT) mode.
type Operator struct {
	// Config is the server configuration that trusts the operator and
	// knows the account (a memory resolver, preloaded).
	Config  string
	account nkeys.KeyPair
}

// NewOperator makes an operator and its account.
func NewOperator(tb testing.TB) *Operator {
	tb.Helper()
	okp, err := nkeys.CreateOperator()
	if err != nil {
		tb.Fatal(err)
	}
	oc := jwt.NewOperatorClaims(mustString(tb)(okp.PublicKey()))
	oc.Name = "zotune-test"
	ojwt := mustString(tb)(oc.Encode(okp))

	// JetStream needs the system account; the tests' account may use it
	// without limits.
	_, spub, sjwt := newAccount(tb, okp, "SYS", func(*jwt.AccountClaims) {})
	akp, apub, ajwt := newAccount(tb, okp, "zotune", func(ac *jwt.AccountClaims) {
		ac.Limits.JetStreamLimits = jwt.JetStreamLimits{MemoryStorage: -1, DiskStorage: -1, Streams: -1, Consumer: -1}
	})
	return &Operator{
		Config: fmt.Sprintf("operator: %q\nsystem_account: %s\nresolver: MEMORY\nresolver_preload: {\n  %s: %q\n  %s: %q\n}\n",
			ojwt, spub, spub, sjwt, apub, ajwt),
		account: akp,
	}
}

// newAccount makes an account signed by the operator okp.
func newAccount(tb testing.TB, okp nkeys.KeyPair, name string, set func(*jwt.AccountClaims)) (kp nkeys.KeyPair, public, token string) {
	tb.Helper()
	kp, err := nkeys.CreateAccount()
	if err != nil {
		tb.Fatal(err)
	}
	public = mustString(tb)(kp.PublicKey())
	ac := jwt.NewAccountClaims(public)
	ac.Name = name
	set(ac)
	return kp, public, mustString(tb)(ac.Encode(okp))
}

// UserCreds makes a user of the operator's account and writes its
// credentials file (JWT and seed).
func (o *Operator) UserCreds(tb testing.TB, name string) string {
	tb.Helper()
	ukp, err := nkeys.CreateUser()
	if err != nil {
		tb.Fatal(err)
	}
	uc := jwt.NewUserClaims(mustString(tb)(ukp.PublicKey()))
	uc.Name = name
	ujwt := mustString(tb)(uc.Encode(o.account))
	seed, err := ukp.Seed()
	if err != nil {
		tb.Fatal(err)
	}
	creds, err := jwt.FormatUserConfig(ujwt, seed)
	if err != nil {
		tb.Fatal(err)
	}
	file := filepath.Join(tb.TempDir(), name+".creds")
	if err := os.WriteFile(file, creds, 0o600); err != nil {
		tb.Fatal(err)
	}
	return file
}

// mustString returns a function that fails the test on a non-nil error
// and otherwise returns the string.
func mustString(tb testing.TB) func(string, error) string {
	return func(s string, err error) string {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
		return s
	}
}
