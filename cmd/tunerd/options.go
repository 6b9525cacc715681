package main

import (
	"github.com/zotune/zotune/config"
	"github.com/zotune/zotune/daemon"
)

// daemonConfig returns what the daemon runs for the config file c: its
// settings, evaluators and studies, typed.
func daemonConfig(c *config.Config) *daemon.Config {
	n := c.NATS
	d := &daemon.Config{
		DataDir:  c.Daemon.DataDir,
		LogLevel: c.Daemon.LogLevel,
		HTTP:     c.Daemon.HTTP,
		NATS: daemon.NATS{
			URL: n.URL, Listen: n.Listen, Token: n.Token, User: n.User, Password: n.Password,
			Creds: n.Creds, NKey: n.NKey, TLSCA: n.TLSCA, TLSCert: n.TLSCert, TLSKey: n.TLSKey,
			Replicas: n.Replicas, Open: n.OpenEmbedded(),
		},
		Heartbeat:       c.Daemon.Heartbeat.Duration,
		MaxRedeliveries: c.Daemon.MaxRedeliveries,
		Lease:           daemon.LeaseOptions{Heartbeat: c.Daemon.LeaseHeartbeat.Duration, TTL: c.Daemon.LeaseTTL.Duration},
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
