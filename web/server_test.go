package web

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zotune/zotune/api"
)

// get serves one request and returns the response and its body.
func get(t *testing.T, h http.Handler, method, path string) (*http.Response, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(method, path, nil))
	res := rec.Result()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res, string(body)
}

// Every route answers with its status and content type; other methods
// get 405 with the methods allowed, other paths 404.
func TestRoutes(t *testing.T) {
	src := newFake()
	src.studies = append(src.studies, pendingStudy())
	h := newServer(t, src).Handler()
	for _, c := range []struct {
		method, path string
		code         int
		ctype, body  string // content type prefix; a string the body holds
	}{
		{"GET", "/", 200, "text/html; charset=utf-8", "<!doctype html>"},
		{"HEAD", "/", 200, "text/html; charset=utf-8", ""},
		{"GET", "/metrics", 200, "text/plain", `zotune_study_running{study="airfoil-drag"} 1`},
		{"GET", "/healthz", 200, "text/plain", "ok"},
		{"GET", "/api/studies", 200, "application/json", `"studies":[`},
		{"GET", "/api/studies/quartic", 200, "application/json", `"name":"quartic"`},
		{"GET", "/api/studies/nope", 404, "application/json", `"error":"no study \"nope\""`},
		{"GET", "/api/objectives", 200, "application/json", `"objectives":[`},
		{"GET", "/studies/quartic/convergence.svg", 200, "image/svg+xml", "<svg"},
		{"GET", "/studies/wing-flutter/convergence.svg", 200, "image/svg+xml", "No evaluations to plot yet"},
		{"GET", "/studies/nope/convergence.svg", 404, "text/plain", `no study "nope"`},
		{"GET", "/static/style.css", 200, "text/css", ".study"},
		{"GET", "/static/page.js", 200, "text/javascript", "function poll()"},
		{"GET", "/static/nope.js", 404, "text/plain", ""},
		{"GET", "/nope", 404, "text/plain", ""},
		{"GET", "/api/studies/quartic/extra", 404, "text/plain", ""},
	} {
		res, body := get(t, h, c.method, c.path)
		if res.StatusCode != c.code || !strings.HasPrefix(res.Header.Get("Content-Type"), c.ctype) || !strings.Contains(body, c.body) {
			t.Errorf("%s %s: %d %q, want %d %q with %q; body:\n%.300s", c.method, c.path, res.StatusCode,
				res.Header.Get("Content-Type"), c.code, c.ctype, c.body, body)
		}
		if res.Header.Get("X-Content-Type-Options") != "nosniff" || !strings.Contains(res.Header.Get("Content-Security-Policy"), "default-src 'none'") {
			t.Errorf("%s %s: security headers missing: %v", c.method, c.path, res.Header)
		}
	}
	for _, path := range []string{"/", "/metrics", "/healthz", "/api/studies", "/api/studies/quartic", "/api/objectives", "/studies/quartic/convergence.svg", "/static/page.js"} {
		for _, method := range []string{"POST", "PUT", "DELETE", "PATCH"} {
			res, _ := get(t, h, method, path)
			if res.StatusCode != http.StatusMethodNotAllowed || !strings.Contains(res.Header.Get("Allow"), "GET") {
				t.Errorf("%s %s: %d, Allow %q; want 405 allowing GET", method, path, res.StatusCode, res.Header.Get("Allow"))
			}
		}
	}
}

// What changes while a study runs is never cached.
func TestNoStore(t *testing.T) {
	h := newServer(t, newFake()).Handler()
	for _, path := range []string{"/", "/healthz", "/api/studies", "/api/studies/quartic", "/api/objectives", "/studies/quartic/convergence.svg"} {
		if res, _ := get(t, h, "GET", path); res.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control %q, want no-store", path, res.Header.Get("Cache-Control"))
		}
	}
}

// /healthz says 503 and why when the source is unhealthy, and the page
// shows the reason.
func TestUnhealthy(t *testing.T) {
	src := newFake()
	src.unhealthy = errDisk
	h := newServer(t, src).Handler()
	res, body := get(t, h, "GET", "/healthz")
	if res.StatusCode != http.StatusServiceUnavailable || body != "unhealthy: "+errDisk.Error()+"\n" {
		t.Errorf("healthz: %d %q", res.StatusCode, body)
	}
	_, page := get(t, h, "GET", "/")
	if !strings.Contains(page, `<p id="health" class="health" role="alert">tunerd reports a problem: <span data-field="health">`+errDisk.Error()) {
		t.Errorf("the page does not show the problem:\n%s", page)
	}
	src.unhealthy = nil
	if _, page := get(t, h, "GET", "/"); !strings.Contains(page, `role="alert" hidden>`) {
		t.Errorf("a healthy daemon's page shows a problem")
	}
}

// /api/studies is api.List of the source's studies, field for field;
// /api/studies/{name} one of them; /api/objectives the objectives.
func TestJSON(t *testing.T) {
	src := newFake()
	src.studies = append(src.studies, failedStudy(), pendingStudy())
	h := newServer(t, src).Handler()
	_, body := get(t, h, "GET", "/api/studies")
	var list api.List
	if err := json.Unmarshal([]byte(body), &list); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(list.Studies, src.studies) {
		t.Errorf("/api/studies:\n%+v\nwant\n%+v", list.Studies, src.studies)
	}
	for _, want := range src.studies {
		_, body := get(t, h, "GET", "/api/studies/"+want.Name)
		var got api.Study
		if err := json.Unmarshal([]byte(body), &got); err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("/api/studies/%s: %v %+v", want.Name, err, got)
		}
	}
	_, body = get(t, h, "GET", "/api/objectives")
	var objs Objectives
	if err := json.Unmarshal([]byte(body), &objs); err != nil || !reflect.DeepEqual(objs.Objectives, src.objectives) {
		t.Errorf("/api/objectives: %v %s", err, body)
	}

	// No studies is an empty list, not null.
	src.setStudies(nil)
	src.objectives = nil
	if _, body := get(t, h, "GET", "/api/studies"); strings.TrimSpace(body) != `{"studies":[]}` {
		t.Errorf("no studies: %s", body)
	}
	if _, body := get(t, h, "GET", "/api/objectives"); strings.TrimSpace(body) != `{"objectives":[]}` {
		t.Errorf("no objectives: %s", body)
	}
}

// The page has every study with its figures and plot, every objective,
// and says which study is certified converged.
func TestPage(t *testing.T) {
	src := newFake()
	src.studies = append(src.studies, failedStudy(), pendingStudy())
	_, page := get(t, newServer(t, src).Handler(), "GET", "/")
	for _, s := range src.studies {
		for _, want := range []string{
			`<article class="study" id="study-` + s.Name + `" data-study="` + s.Name + `" data-status="` + s.Status + `"`,
			`<h3 id="study-` + s.Name + `-h">` + s.Name + `</h3>`,
			`<img src="/studies/` + s.Name + `/convergence.svg?v=`,
			`<span class="badge status-` + s.Status + `" data-field="status">` + s.Status + `</span>`,
		} {
			if !strings.Contains(page, want) {
				t.Errorf("the page lacks %s", want)
			}
		}
	}
	for _, want := range []string{
		`<progress id="study-airfoil-drag-bar" value="1834" max="5000"></progress>`,
		`<span data-field="progress">1,834 of 5,000 (36%)</span>`,
		`<dd data-field="evaluations">1,822</dd>`,
		`<dd data-field="failures">12</dd>`,
		`<dd data-field="best">0.0123457</dd>`,
		`<dd data-field="rate">3.9/s</dd>`,
		`<dd data-field="eta">13m 32s</dd>`,
		`<dd data-field="elapsed">7m 50s</dd>`,
		`<dd data-field="escapes">2</dd>`,
		`<dd data-field="grad">0.0213 &gt; ε = 0.001</dd>`,
		`<dd data-field="lambda">-0.00473 ≥ −δ = -0.0316</dd>`,
		`<p class="verdict" data-field="verdict">Not certified yet: the study is running.</p>`,
		`<p class="verdict certified" data-field="verdict">Certified converged: ‖ĝ‖ ≤ ε and λ̂_min ≥ −δ at the final point.</p>`,
		`<dd data-field="grad">0.00087 ≤ ε = 0.001</dd>`,
		`<dd data-field="eta">—</dd>`,
		`<p class="meta" data-field="origin">objective cfd · from api · active · running now</p>`,
		`<p class="meta" data-field="origin">objective quartic · from config · active</p>`,
		`<p class="reason"><span class="label">Reason</span> <span data-field="reason">&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; simulator kept failing`,
		`<dd data-field="grad">—</dd>`, // the failed study: no estimate, no threshold
		`<tr data-objective="cfd">`,
		`<td class="num" data-field="waiting">4</td>`,
		`<span class="count">(4)</span>`,
		`<dd><span data-field="pareto">87 points</span> · <a href="/api/studies/airfoil-drag">the set</a></dd>`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("the page lacks %s", want)
		}
	}
	if n := strings.Count(page, "Pareto front</abbr>"); n != 1 {
		t.Errorf("%d Pareto front rows, want 1 (the study with a front)", n)
	}
	if strings.Contains(page, "<script>alert") {
		t.Error("a study's reason is not escaped")
	}
	if n := strings.Count(page, `<p class="reason" hidden>`); n != 3 {
		t.Errorf("%d reasons hidden, want 3 (the studies without one)", n)
	}

	// No study, no objective: the page says so.
	src.setStudies(nil)
	src.objectives = nil
	_, page = get(t, newServer(t, src).Handler(), "GET", "/")
	if !strings.Contains(page, "No study yet") || !strings.Contains(page, "No objective yet") {
		t.Errorf("an empty daemon's page:\n%s", page)
	}
}

// Names are escaped wherever they appear, whatever they hold.
func TestPageEscapes(t *testing.T) {
	src := newFake()
	bad := convergedStudy()
	bad.Name, bad.Objective = `x"><b>bold</b>`, `o'<i>`
	src.setStudies([]api.Study{bad})
	src.objectives = []api.Objective{{Name: `o'<i>`}}
	h := newServer(t, src).Handler()
	res, page := get(t, h, "GET", "/")
	if res.StatusCode != http.StatusOK {
		t.Fatalf("%d", res.StatusCode)
	}
	for _, raw := range []string{"<b>", "<i>", `x">`} {
		if strings.Contains(page, raw) {
			t.Errorf("the page holds %q unescaped", raw)
		}
	}
	if !strings.Contains(page, `<img src="/studies/x%22%3E%3Cb%3Ebold%3C%2Fb%3E/convergence.svg`) {
		t.Errorf("the plot's address is not escaped:\n%s", page)
	}
}

// The formatting the page and its script share.
func TestFormat(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{fmtNum(nil), "—"},
		{fmtNum(ptr(0.0123457)), "0.0123457"},
		{fmtNum(ptr(1234567)), "1.23457e+06"},
		{fmtNum(ptr(2.5e-7)), "2.5e-07"},
		{fmtNum(ptr(-0.5)), "-0.5"},
		{fmtCount(0), "0"},
		{fmtCount(999), "999"},
		{fmtCount(1000), "1,000"},
		{fmtCount(1234567), "1,234,567"},
		{fmtCount(-12345), "-12,345"},
		{fmtRate(0), "—"},
		{fmtRate(12.345), "12.3/s"},
		{fmtRate(0.5), "30/min"},
		{fmtRate(0.001), "3.6/h"},
		{fmtDuration(nil), "—"},
		{fmtDuration(ptr(-1)), "—"},
		{fmtDuration(ptr(0.4)), "0s"},
		{fmtDuration(ptr(59.5)), "1m 00s"},
		{fmtDuration(ptr(3599)), "59m 59s"},
		{fmtDuration(ptr(7500)), "2h 05m"},
		{fmtDuration(ptr(3*86400 + 4*3600 + 59)), "3d 04h"},
		{fmtProgress(api.Study{Spent: 5, MaxEvaluations: 0}), "5"},
		{fmtProgress(api.Study{Spent: 1999, MaxEvaluations: 2000}), "1,999 of 2,000 (99%)"},
		{fmtGrad(studyView{Study: api.Study{GradNorm: ptr(1e-5)}, Epsilon: ptr(1e-3)}), "1e-05 ≤ ε = 0.001"},
		{fmtGrad(studyView{Study: api.Study{GradNorm: ptr(0.001)}, Epsilon: ptr(1e-3)}), "0.001 ≤ ε = 0.001"},
		{fmtGrad(studyView{Study: api.Study{GradNorm: ptr(0.5)}}), "0.5"},
		{fmtGrad(studyView{Epsilon: ptr(1e-3)}), "— (ε = 0.001)"},
		{fmtLambda(studyView{Study: api.Study{LambdaMin: ptr(-0.5)}, Delta: ptr(0.01)}), "-0.5 < −δ = -0.01"},
		{fmtLambda(studyView{Study: api.Study{LambdaMin: ptr(-0.01)}, Delta: ptr(0.01)}), "-0.01 ≥ −δ = -0.01"},
		{verdict("converged"), verdicts["converged"]},
		{verdict("something new"), "Not certified."},
	} {
		if c.got != c.want {
			t.Errorf("got %q, want %q", c.got, c.want)
		}
	}
}

// Listen on port 0 tells the port it got; Serve answers there until its
// context ends, then returns nil and the port is closed.
func TestServe(t *testing.T) {
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := URL(l.Addr())
	if !strings.HasPrefix(url, "http://127.0.0.1:") || strings.HasSuffix(url, ":0/") {
		t.Fatalf("URL = %q", url)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var serveErr error
	go func() {
		defer close(done)
		serveErr = newServer(t, newFake()).Serve(ctx, l)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	res, err := http.Get(url + "healthz")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || string(body) != "ok" {
		t.Fatalf("healthz: %d %q", res.StatusCode, body)
	}

	// The address is taken: a second Listen says so.
	if _, err := Listen(l.Addr().String()); err == nil || !strings.HasPrefix(err.Error(), "web: ") {
		t.Errorf("Listen on a taken address: %v", err)
	}

	cancel()
	select {
	case <-done:
		if serveErr != nil {
			t.Errorf("Serve after cancel: %v", serveErr)
		}
	case <-time.After(ShutdownTimeout + 10*time.Second):
		t.Fatal("Serve did not return after its context ended")
	}
	if c, err := net.Dial("tcp", l.Addr().String()); err == nil {
		c.Close()
		t.Error("the port still accepts connections after Serve returned")
	}
}

// Serve on a listener that fails returns the error.
func TestServeError(t *testing.T) {
	l, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l.Close()
	err = newServer(t, newFake()).Serve(context.Background(), l)
	if err == nil || !errors.Is(err, net.ErrClosed) || !strings.HasPrefix(err.Error(), "web: ") {
		t.Errorf("Serve on a closed listener: %v", err)
	}
}

func TestURL(t *testing.T) {
	for _, c := range []struct {
		addr net.Addr
		want string
	}{
		{&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 8080}, "http://127.0.0.1:8080/"},
		{&net.TCPAddr{IP: net.IPv4zero, Port: 8080}, "http://127.0.0.1:8080/"},
		{&net.TCPAddr{IP: net.IPv6unspecified, Port: 9}, "http://127.0.0.1:9/"},
		{&net.TCPAddr{IP: net.IPv6loopback, Port: 9}, "http://[::1]:9/"},
		{&net.TCPAddr{IP: net.IPv4(10, 1, 2, 3), Port: 80}, "http://10.1.2.3:80/"},
	} {
		if got := URL(c.addr); got != c.want {
			t.Errorf("URL(%v) = %q, want %q", c.addr, got, c.want)
		}
	}
}
