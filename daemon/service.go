package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/study"
)

// maxDocument bounds a submitted study document.
const maxDocument = 1 << 20

// requestTimeout bounds the registry and journal work of one request.
const requestTimeout = 30 * time.Second

// service is the control API (package api) as a micro service on the
// daemon's connection.
type service struct {
	nc    *nats.Conn
	m     *manager
	parse func(doc []byte) ([]study.Spec, error) // Options.ParseStudies
	svc   micro.Service
}

// startService registers the control API's endpoints on nc.
func startService(nc *nats.Conn, m *manager, parse func([]byte) ([]study.Spec, error)) (*service, error) {
	s := &service{nc: nc, m: m, parse: parse}
	svc, err := micro.AddService(nc, micro.Config{
		Name:        api.Service,
		Version:     api.Version,
		Description: "zotune: create, list, watch and stop tuning studies (docs/api.md)",
	})
	if err != nil {
		return nil, err
	}
	s.svc = svc
	for _, ep := range []struct {
		name, subject string
		h             func(micro.Request) (any, error)
	}{
		{"create", api.SubjectCreate, s.create},
		{"list", api.SubjectList, s.list},
		{"get", api.SubjectGet, s.get},
		{"stop", api.SubjectStop, s.stop},
		{"resume", api.SubjectResume, s.resume},
		{"delete", api.SubjectDelete, s.delete},
		{"trials", api.SubjectTrials, s.trials},
	} {
		if err := s.add(ep.name, ep.subject, ep.h); err != nil {
			_ = svc.Stop()
			return nil, err
		}
	}
	return s, nil
}

// add registers endpoint name on subject, answered by h; with leases, also
// on this daemon's own subject, where h answers without passing the
// request on (see routed).
func (s *service) add(name, subject string, h func(micro.Request) (any, error)) error {
	local := s.handler(h)
	if s.m.leases == nil {
		return s.svc.AddEndpoint(name, local, micro.WithEndpointSubject(subject))
	}
	shared := s.routed(name, local)
	if name == "list" {
		shared = s.handler(s.listAll)
	}
	if err := s.svc.AddEndpoint(name, shared, micro.WithEndpointSubject(subject)); err != nil {
		return err
	}
	return s.svc.AddEndpoint("daemon-"+name, local, micro.WithEndpointSubject(api.DaemonSubject(s.m.id, name)))
}

// close stops answering requests.
func (s *service) close() {
	if err := s.svc.Stop(); err != nil {
		s.m.log.Warn().Err(err).Msg("stopping the API service")
	}
}

// handler answers a request with h's result as JSON, or its error as an
// api.Error, in the headers micro sets and in the body.
func (s *service) handler(h func(micro.Request) (any, error)) micro.HandlerFunc {
	return func(req micro.Request) {
		out, err := h(req)
		if err != nil {
			ae := errStatus(err)
			if ae.Code >= api.CodeInternal {
				s.m.log.Error().Str("subject", req.Subject()).Err(err).Msg("API request failed")
			}
			body, _ := json.Marshal(ae)
			_ = req.Error(strconv.Itoa(ae.Code), ae.Message, body)
			return
		}
		_ = req.RespondJSON(out)
	}
}

func (s *service) create(req micro.Request) (any, error) {
	if len(req.Data()) > maxDocument {
		return nil, &api.Error{Code: api.CodeBadRequest, Message: "study document larger than 1 MiB"}
	}
	specs, err := s.parse(req.Data())
	if err != nil {
		return nil, &api.Error{Code: api.CodeBadRequest, Message: err.Error()}
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	studies, err := s.m.create(ctx, specs)
	return api.Created{Studies: studies}, err
}

func (s *service) list(micro.Request) (any, error) {
	return api.List{Studies: s.m.list()}, nil
}

func (s *service) get(req micro.Request) (any, error) {
	return onStudy(req, func(_ context.Context, name string) (any, error) { return s.m.get(name) })
}

func (s *service) stop(req micro.Request) (any, error) {
	return onStudy(req, func(ctx context.Context, name string) (any, error) { return s.m.stop(ctx, name) })
}

func (s *service) resume(req micro.Request) (any, error) {
	return onStudy(req, func(ctx context.Context, name string) (any, error) { return s.m.resume(ctx, name) })
}

// onStudy answers a request that names a study (api.Ref) with do.
func onStudy(req micro.Request, do func(ctx context.Context, name string) (any, error)) (any, error) {
	var ref api.Ref
	if err := decode(req, &ref); err != nil {
		return nil, err
	}
	if err := checkName(ref.Study); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	return do(ctx, ref.Study)
}

func (s *service) delete(req micro.Request) (any, error) {
	var d api.Delete
	if err := decode(req, &d); err != nil {
		return nil, err
	}
	if err := checkName(d.Study); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	return s.m.remove(ctx, d.Study, d.Journal)
}

func (s *service) trials(req micro.Request) (any, error) {
	var tr api.TrialsRequest
	if err := decode(req, &tr); err != nil {
		return nil, err
	}
	if err := checkName(tr.Study); err != nil {
		return nil, err
	}
	return s.m.trials(tr)
}

// decode decodes a JSON request strictly: unknown fields are refused.
func decode(req micro.Request, v any) error {
	dec := json.NewDecoder(bytes.NewReader(req.Data()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return &api.Error{Code: api.CodeBadRequest, Message: "bad request: " + err.Error()}
	}
	return nil
}
