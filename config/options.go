package config

import (
	"github.com/zotune/zotune/daemon"
	"github.com/zotune/zotune/study"
)

// Options returns what the daemon runs for c: its settings, evaluators and
// studies, typed.
func (c *Config) Options() *daemon.Config {
	n := c.NATS
	d := &daemon.Config{
		DataDir:  c.Daemon.DataDir,
		LogLevel: c.Daemon.LogLevel,
		NATS: daemon.NATS{
			URL: n.URL, Listen: n.Listen, Token: n.Token, User: n.User, Password: n.Password,
			Creds: n.Creds, NKey: n.NKey, TLSCA: n.TLSCA, TLSCert: n.TLSCert, TLSKey: n.TLSKey,
			Replicas: n.Replicas, Open: n.OpenEmbedded(),
		},
		Heartbeat:       c.Daemon.Heartbeat.Duration,
		MaxRedeliveries: c.Daemon.MaxRedeliveries,
	}
	for _, e := range c.Evaluators {
		d.Evaluators = append(d.Evaluators, daemon.Evaluator{
			Objective: e.Objective, Command: e.Command, Mode: e.Mode, Answers: e.Answers, Slots: e.Slots,
			Timeout: e.Timeout.Duration, Count: e.Count, Dir: e.Dir, RunAs: e.RunAs,
		})
	}
	d.Studies = c.Specs()
	return d
}

// Specs returns the definitions of c's studies.
func (c *Config) Specs() []study.Spec {
	specs := make([]study.Spec, len(c.Studies))
	for i := range c.Studies {
		specs[i] = c.Studies[i].Spec()
	}
	return specs
}
