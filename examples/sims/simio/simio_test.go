package simio

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// A stdio run answers each line with the request's id first, skips blank
// lines, and stops at a bad request with status 2 after the answers
// before it.
func TestRunStdio(t *testing.T) {
	in := "{\"id\":\"s/1\",\"seed\":3,\"params\":{\"x\":2}}\n\n{\"id\":\"s/2\",\"params\":{\"x\":1}}\n{\"params\":null}\n{\"id\":\"s/3\",\"params\":{\"x\":9}}\n"
	var out, errOut bytes.Buffer
	code := Run("t", true, strings.NewReader(in), &out, &errOut, func(string) string { return "" }, func(r Request) (string, error) {
		return `{"value":` + strings.Repeat("1", int(r.Params["x"])) + `,"seed":` + string(rune('0'+Seed(r, nil))) + `}`, nil
	})
	want := "{\"id\":\"s/1\",\"value\":11,\"seed\":3}\n{\"id\":\"s/2\",\"value\":1,\"seed\":0}\n"
	if code != 2 || out.String() != want || !strings.Contains(errOut.String(), "t: bad request: request has no params") {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2, %q", code, out.String(), errOut.String(), want)
	}
}

// An exec run takes the params and seed from the environment when stdin
// has none; an answer's own error is status 1.
func TestRunExec(t *testing.T) {
	env := map[string]string{"ZOTUNE_PARAMS": `{"x":4}`, "ZOTUNE_SEED": "7"}
	var got Request
	var out bytes.Buffer
	code := Run("t", false, strings.NewReader(""), &out, &bytes.Buffer{}, func(k string) string { return env[k] }, func(r Request) (string, error) {
		got = r
		return `{"value":0}`, nil
	})
	if code != 0 || got.Params["x"] != 4 || Seed(got, nil) != 7 || out.String() != "{\"value\":0}\n" {
		t.Errorf("exit %d, request %+v, stdout %q", code, got, out.String())
	}
	seven := int64(8)
	if Seed(got, &seven) != 8 {
		t.Error("an override does not win over the request's seed")
	}
	code = Run("t", false, strings.NewReader(`{"params":{"x":1}}`), &bytes.Buffer{}, &bytes.Buffer{}, func(string) string { return "" },
		func(Request) (string, error) { return "", errors.New("diverged") })
	if code != 1 {
		t.Errorf("a failing answer: exit %d, want 1", code)
	}
}

// A categorical parameter arrives as a string: it goes to Labels, the
// numbers to Params, from stdin and from ZOTUNE_PARAMS alike; a value that
// is neither is a bad request.
func TestLabels(t *testing.T) {
	for _, tc := range []struct{ stdin, env string }{
		{`{"id":"s/1","params":{"scheme":"rk4","steps":12}}`, ""},
		{"", `{"scheme":"rk4","steps":12}`},
	} {
		getenv := func(k string) string { return map[string]string{"ZOTUNE_PARAMS": tc.env}[k] }
		req, err := ReadRequest(strings.NewReader(tc.stdin), getenv)
		if err != nil || req.Labels["scheme"] != "rk4" || req.Params["steps"] != 12 || len(req.Params) != 1 {
			t.Errorf("stdin %q, env %q: %+v, %v", tc.stdin, tc.env, req, err)
		}
	}
	if _, err := ReadRequest(strings.NewReader(`{"params":{"x":true}}`), func(string) string { return "" }); !errors.Is(err, ErrInput) {
		t.Errorf("a boolean parameter: %v, want a bad request", err)
	}
}
