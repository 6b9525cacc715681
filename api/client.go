package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/nats-io/nats.go"
)

// Error is the reply of a request that failed. micro also puts it in the
// reply's headers, Nats-Service-Error-Code and Nats-Service-Error.
type Error struct {
	Code    int    `json:"code"`
	Message string `json:"error"`
}

func (e *Error) Error() string { return e.Message }

// Codes of an Error, as in HTTP.
const (
	CodeBadRequest  = 400 // the request or the study document is invalid
	CodeNotFound    = 404 // no such study
	CodeConflict    = 409 // a study of that name exists with another definition
	CodeInternal    = 500 // the daemon failed to do it
	CodeUnavailable = 503 // the daemon is shutting down, or runs `tunerd run`
)

// ErrNoDaemon is returned when no tunerd answers on the connection.
var ErrNoDaemon = errors.New("api: no tunerd answers on this NATS server; is `tunerd serve` running, and is this its server?")

// Client calls the service over a NATS connection.
type Client struct {
	nc *nats.Conn
}

// NewClient returns a client over nc.
func NewClient(nc *nats.Conn) *Client { return &Client{nc: nc} }

// Create submits a study document (TOML or JSON; one study, or several as
// a config file's [[study]] array) and returns the studies it started.
func (c *Client) Create(ctx context.Context, doc []byte) ([]Study, error) {
	var out Created
	err := c.call(ctx, SubjectCreate, doc, &out)
	return out.Studies, err
}

// List returns every study of the daemon.
func (c *Client) List(ctx context.Context) ([]Study, error) {
	var out List
	err := c.call(ctx, SubjectList, nil, &out)
	return out.Studies, err
}

// Get returns the study called name, with its summary.
func (c *Client) Get(ctx context.Context, name string) (*Study, error) {
	return c.study(ctx, SubjectGet, name)
}

// Stop stops the study called name; it stays stopped, across restarts of
// the daemon, until resumed.
func (c *Client) Stop(ctx context.Context, name string) (*Study, error) {
	return c.study(ctx, SubjectStop, name)
}

// Resume runs a stopped study again from where it stopped; a study that
// failed for a transient cause is retried.
func (c *Client) Resume(ctx context.Context, name string) (*Study, error) {
	return c.study(ctx, SubjectResume, name)
}

// Delete removes the study called name; with journal, its recorded
// evaluations and outputs too.
func (c *Client) Delete(ctx context.Context, name string, journal bool) (*Deleted, error) {
	var out Deleted
	err := c.call(ctx, SubjectDelete, mustJSON(Delete{Study: name, Journal: journal}), &out)
	return &out, err
}

// Trials returns a page of the study's trial history.
func (c *Client) Trials(ctx context.Context, req TrialsRequest) (*Trials, error) {
	var out Trials
	err := c.call(ctx, SubjectTrials, mustJSON(req), &out)
	return &out, err
}

func (c *Client) study(ctx context.Context, subject, name string) (*Study, error) {
	var out Study
	if err := c.call(ctx, subject, mustJSON(Ref{Study: name}), &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// call sends a request and decodes its reply into out, or returns the
// service's *Error.
func (c *Client) call(ctx context.Context, subject string, body []byte, out any) error {
	msg, err := c.nc.RequestMsgWithContext(ctx, &nats.Msg{Subject: subject, Data: body})
	if errors.Is(err, nats.ErrNoResponders) {
		return ErrNoDaemon
	}
	if err != nil {
		return fmt.Errorf("api: %s: %w", subject, err)
	}
	if code := msg.Header.Get("Nats-Service-Error-Code"); code != "" {
		e := &Error{Message: msg.Header.Get("Nats-Service-Error")}
		e.Code, _ = strconv.Atoi(code)
		_ = json.Unmarshal(msg.Data, e) // the body, when it parses, has the same
		return e
	}
	if err := json.Unmarshal(msg.Data, out); err != nil {
		return fmt.Errorf("api: %s: bad reply: %w", subject, err)
	}
	return nil
}

// mustJSON encodes a request type, which cannot fail.
func mustJSON(v any) []byte {
	data, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return data
}
