package daemon

import (
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/zotune/zotune/api"
)

// With several daemons on one NATS server, the API's shared subjects go to
// any of them. A request about a study driven by another daemon is passed
// on to that daemon's own subject (api.DaemonSubject), and its reply
// relayed as it is: the daemon that drives a study has its live state and
// its outputs. A daemon that does not answer (it died; its lease has not
// lapsed yet) is answered for by the one asked, from the registry.

// forwardTimeout bounds a request passed on to another daemon: well under
// the API client's own wait (tunerd's --timeout, 10 s by default), so that
// a daemon that died is answered for from the registry in time.
const forwardTimeout = 3 * time.Second

// listWait bounds the wait for another daemon's list.
const listWait = 2 * time.Second

// routed answers a request about one study with local, unless another
// daemon drives the study: that daemon answers it then.
func (s *service) routed(endpoint string, local micro.HandlerFunc) micro.HandlerFunc {
	return func(req micro.Request) {
		if !s.forward(req, endpoint) {
			local(req)
		}
	}
}

// forward passes req on to the daemon that drives its study, and reports
// whether that daemon answered.
func (s *service) forward(req micro.Request, endpoint string) bool {
	var ref struct {
		Study string `json:"study"`
	}
	if json.Unmarshal(req.Data(), &ref) != nil || ref.Study == "" {
		return false
	}
	target := s.m.target(ref.Study, endpoint)
	if target == "" || target == s.m.id {
		return false
	}
	msg, err := s.nc.RequestMsg(&nats.Msg{Subject: api.DaemonSubject(target, endpoint), Data: req.Data()}, forwardTimeout)
	if err != nil {
		if !errors.Is(err, nats.ErrNoResponders) {
			s.m.log.Warn().Str("study", ref.Study).Str("daemon", target).Err(err).Msg("the daemon driving the study did not answer; answering here")
		}
		return false
	}
	if err := req.Respond(msg.Data, micro.WithHeaders(micro.Headers(msg.Header))); err != nil {
		s.m.log.Warn().Err(err).Msg("relaying an answer of another daemon")
	}
	return true
}

// target is the daemon to answer a request of endpoint about the study
// called name: its lease holder; with none, for what reads or deletes its
// outputs, the daemon that drove it last. "": this one.
func (m *manager) target(name, endpoint string) string {
	if h := m.leases.holder(name); h != "" {
		return h
	}
	switch endpoint {
	case "get", "trials", "delete":
		s, err := m.find(name)
		if err != nil {
			return ""
		}
		m.mu.Lock()
		defer m.mu.Unlock()
		return s.Driver
	}
	return ""
}

// listAll is the shared list: every study, each as the daemon that drives
// it (or drove it last) sees it, when that daemon answers within listWait.
func (s *service) listAll(micro.Request) (any, error) {
	views := s.m.list()
	byDaemon := map[string][]int{}
	for i, v := range views {
		if v.Daemon != "" && v.Daemon != s.m.id {
			byDaemon[v.Daemon] = append(byDaemon[v.Daemon], i)
		}
	}
	theirs := make(map[string]map[string]api.Study, len(byDaemon))
	var mu sync.Mutex
	var wg sync.WaitGroup
	for id := range byDaemon { // at once: a daemon that does not answer delays the list once
		wg.Go(func() {
			l := s.remoteList(id)
			mu.Lock()
			defer mu.Unlock()
			theirs[id] = l
		})
	}
	wg.Wait()
	for id, idx := range byDaemon {
		for _, i := range idx {
			if v, ok := theirs[id][views[i].Name]; ok {
				views[i] = v
			}
		}
	}
	return api.List{Studies: views}, nil
}

// remoteList returns the studies of daemon id's own list, by name; none
// when it does not answer.
func (s *service) remoteList(id string) map[string]api.Study {
	msg, err := s.nc.Request(api.DaemonSubject(id, "list"), nil, listWait)
	if err != nil {
		return nil
	}
	var l api.List
	if json.Unmarshal(msg.Data, &l) != nil {
		return nil
	}
	out := make(map[string]api.Study, len(l.Studies))
	for _, v := range l.Studies {
		out[v.Name] = v
	}
	return out
}
