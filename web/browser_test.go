package web

import (
	"flag"
	"fmt"
	"html"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/internal/testutil"
)

var screenshot = flag.String("screenshot", "", "TestBrowser also saves a screenshot of the status page to this PNG file (docs/img/status.png: go test ./web -run Browser -screenshot ../docs/img/status.png)")

// afterStart is what the source reports once the page was served: the
// running study moved on, so the page's script has to rewrite its text
// and fetch its plot again. Status and state stay, or the page reloads.
func afterStart() ([]api.Study, []api.Objective) {
	s := runningStudy()
	s.Evaluations, s.Failures, s.Spent = 12016, 13, 12029
	s.MaxEvaluations = 20000
	s.Best, s.GradNorm, s.LambdaMin = ptr(0.0119), ptr(2.13e-05), nil
	s.Escapes, s.Rate, s.ETASeconds, s.WallSeconds = 3, 0.42, ptr(7000), 4000.4
	s.Pareto = 1234 // the script writes "1,234 points" as the server does
	s.Reason = "resumed after a restart"
	return []api.Study{s, convergedStudy()}, []api.Objective{
		{Name: "cfd", Evaluators: 4, Slots: 16, Busy: 16, InFlight: 16, Waiting: 1234},
		{Name: "quartic", Evaluators: 1, Slots: 4},
	}
}

// The status page in a real browser: every study is there with its plot
// loaded, and once the source changes the script rewrites the page to the
// very text the server renders for the new state.
func TestBrowser(t *testing.T) {
	bin := testutil.Browser(t)
	src := newFake()
	h := newServer(t, src).Handler()
	studies, objectives := afterStart()

	var mu sync.Mutex
	plots := map[string]int{} // plot requests answered, by URL
	var once sync.Once
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, code: http.StatusOK}
		h.ServeHTTP(rec, r)
		if strings.HasSuffix(r.URL.Path, "/convergence.svg") && rec.code == http.StatusOK {
			mu.Lock()
			plots[r.URL.RequestURI()]++
			mu.Unlock()
		}
		if r.URL.Path == "/" {
			once.Do(func() {
				src.mu.Lock()
				src.studies, src.objectives = studies, objectives
				src.mu.Unlock()
			})
		}
	}))
	t.Cleanup(ts.Close)

	dom := string(testutil.Headless(t, bin, "--virtual-time-budget=10000", "--dump-dom", ts.URL+"/"))
	_, want := get(t, h, "GET", "/")

	if m := regexp.MustCompile(`<body[^>]*data-polls="(\d+)"`).FindStringSubmatch(dom); m == nil {
		t.Fatalf("the page's script never completed a poll:\n%s", dom)
	}
	if !strings.Contains(dom, `id="live" class="live" role="status" aria-live="polite">Live: updated`) {
		t.Errorf("the page does not say it is live:\n%s", dom)
	}
	got, exp := articles(dom), articles(want)
	for _, s := range studies {
		g, ok := got[s.Name]
		if !ok {
			t.Errorf("study %s is not on the page", s.Name)
			continue
		}
		if g.fields == nil || !equalFields(g.fields, exp[s.Name].fields) {
			t.Errorf("study %s: the script shows\n%v\nthe server renders\n%v", s.Name, g.fields, exp[s.Name].fields)
		}
		if g.plot != "loaded" {
			t.Errorf("study %s: plot %q, want loaded", s.Name, g.plot)
		}
		if g.progress != exp[s.Name].progress {
			t.Errorf("study %s: %s, want %s", s.Name, g.progress, exp[s.Name].progress)
		}
		if g.reasonHidden != (s.Reason == "") {
			t.Errorf("study %s: reason hidden %v with reason %q", s.Name, g.reasonHidden, s.Reason)
		}
		mu.Lock()
		n := plots[plotURL(s)]
		mu.Unlock()
		if n == 0 {
			t.Errorf("study %s: its current plot %s was never fetched (fetched: %v)", s.Name, plotURL(s), plots)
		}
	}
	if len(got) != len(studies) {
		t.Errorf("%d studies on the page, want %d", len(got), len(studies))
	}
	for _, o := range objectives {
		g, w := row(dom, o.Name), row(want, o.Name)
		if g == nil || !equalFields(g, w) {
			t.Errorf("objective %s: the script shows %v, the server renders %v", o.Name, g, w)
		}
	}

	if *screenshot != "" {
		shoot(t, bin, *screenshot)
	}
}

// shoot saves a screenshot of the page of newFake's studies to path.
func shoot(t *testing.T, bin, path string) {
	path, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(newServer(t, newFake()).Handler())
	t.Cleanup(ts.Close)
	testutil.Headless(t, bin, "--virtual-time-budget=6000", "--window-size=1280,1600", "--screenshot="+path, ts.URL+"/")
	if fi, err := os.Stat(path); err != nil || fi.Size() < 10000 {
		t.Fatalf("screenshot %s: %v", path, err)
	}
	t.Logf("screenshot written to %s", path)
}

// statusRecorder notes the status code a handler wrote.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.code = code
	r.ResponseWriter.WriteHeader(code)
}

// article is what the page shows of one study.
type article struct {
	fields       map[string]string // text by data-field
	plot         string            // the img's data-plot
	progress     string            // the progress element
	reasonHidden bool
}

var (
	reArticle  = regexp.MustCompile(`(?s)<article [^>]*data-study="([^"]*)".*?</article>`)
	reField    = regexp.MustCompile(`data-field="([a-z_]+)"[^>]*>([^<]*)<`)
	rePlot     = regexp.MustCompile(`<img [^>]*data-plot="([a-z]*)"`)
	reProgress = regexp.MustCompile(`<progress [^>]*>`)
	reAttr     = regexp.MustCompile(`([a-z-]+)="([^"]*)"`)
)

// articles finds the studies of a page, by name. It reads the markup of
// page.html as the server writes it and as Chromium serializes it.
func articles(page string) map[string]article {
	out := map[string]article{}
	for _, m := range reArticle.FindAllStringSubmatch(page, -1) {
		a := article{fields: fields(m[0]), reasonHidden: strings.Contains(m[0], `<p class="reason" hidden`)}
		if p := rePlot.FindStringSubmatch(m[0]); p != nil {
			a.plot = p[1]
		}
		a.progress = attrs(reProgress.FindString(m[0]))
		out[html.UnescapeString(m[1])] = a
	}
	return out
}

// row is the text of an objective's table row, by data-field.
func row(page, name string) map[string]string {
	re := regexp.MustCompile(`(?s)<tr data-objective="` + regexp.QuoteMeta(html.EscapeString(name)) + `">.*?</tr>`)
	m := re.FindString(page)
	if m == "" {
		return nil
	}
	return fields(m)
}

func fields(s string) map[string]string {
	out := map[string]string{}
	for _, f := range reField.FindAllStringSubmatch(s, -1) {
		out[f[1]] = html.UnescapeString(f[2])
	}
	return out
}

// attrs is an element's attributes in a canonical order.
func attrs(tag string) string {
	var b strings.Builder
	for _, a := range reAttr.FindAllStringSubmatch(tag, -1) {
		fmt.Fprintf(&b, "%s=%q ", a[1], a[2])
	}
	return b.String()
}

func equalFields(a, b map[string]string) bool {
	if len(a) != len(b) || len(a) == 0 {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
