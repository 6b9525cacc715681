package transport

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
	"github.com/zotune/zotune/wire"
)

// inbox receives the replies of a dispatcher's requests on one wildcard
// subscription, each request on a subject of its own under it. Unlike a
// plain NATS request, which takes the first message on its reply subject,
// a request here waits for the reply that names its task: a reply for
// another task, a malformed one or a duplicate is logged and dropped, and a
// reply to an earlier, abandoned attempt goes nowhere, as its subject is
// forgotten.
type inbox struct {
	nc     *nats.Conn
	prefix string // "<inbox>." ; each request adds a token
	log    zerolog.Logger

	mu      sync.Mutex
	sub     *nats.Subscription
	waiting map[string]chan *nats.Msg // token → the request waiting on it
}

func newInbox(nc *nats.Conn, log zerolog.Logger) *inbox {
	return &inbox{nc: nc, prefix: nc.NewInbox() + ".", log: log, waiting: map[string]chan *nats.Msg{}}
}

// subscribe makes sure the wildcard subscription exists.
func (in *inbox) subscribe() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.sub != nil {
		return nil
	}
	sub, err := in.nc.Subscribe(in.prefix+"*", func(m *nats.Msg) {
		in.mu.Lock()
		ch, ok := in.waiting[strings.TrimPrefix(m.Subject, in.prefix)]
		in.mu.Unlock()
		if !ok {
			return // a late reply to an attempt given up on
		}
		select {
		case ch <- m:
		default: // the request has a reply in hand already; drop extras
		}
	})
	if err != nil {
		return fmt.Errorf("transport: subscribing to replies: %w", err)
	}
	in.sub = sub
	return nil
}

// request publishes data on subject and waits, until ctx ends, for a reply
// that decodes and names task id. Other messages on its reply subject are
// logged and dropped.
func (in *inbox) request(ctx context.Context, subject, id string, data []byte) (*wire.Reply, error) {
	if err := in.subscribe(); err != nil {
		return nil, err
	}
	token := nats.NewInbox()[len(nats.InboxPrefix):]
	ch := make(chan *nats.Msg, 8)
	in.mu.Lock()
	in.waiting[token] = ch
	in.mu.Unlock()
	defer func() {
		in.mu.Lock()
		delete(in.waiting, token)
		in.mu.Unlock()
	}()
	if err := in.nc.PublishRequest(subject, in.prefix+token, data); err != nil {
		return nil, err
	}
	var refused error
	for {
		select {
		case <-ctx.Done():
			if refused != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("%w; the only replies named another task or did not decode: %v", ctx.Err(), refused)
			}
			return nil, ctx.Err()
		case m := <-ch:
			if len(m.Data) == 0 && m.Header.Get("Status") == "503" {
				return nil, nats.ErrNoResponders // nobody listens on subject
			}
			rep, err := wire.DecodeReply(m.Data)
			if errors.Is(err, wire.ErrBusy) {
				return nil, err
			}
			if err == nil && rep.ID != id {
				err = fmt.Errorf("transport: reply for task %q, expected %q", rep.ID, id)
			}
			if err != nil {
				refused = err
				in.log.Warn().Str("task", id).Err(err).Msg("reply refused; still waiting for the task's own")
				continue
			}
			return rep, nil
		}
	}
}

// close ends the subscription.
func (in *inbox) close() {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.sub != nil {
		_ = in.sub.Unsubscribe()
		in.sub = nil
	}
}
