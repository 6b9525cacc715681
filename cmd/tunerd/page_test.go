package main

import (
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/testutil"
)

var screenshot = flag.String("screenshot", "", "TestStatusPageInBrowser also saves a screenshot of the page to this PNG file (go test ./cmd/tunerd -run StatusPage -screenshot $PWD/docs/img/status.png)")

// The status page of a real tunerd serve, loaded in headless Chromium:
// every study is on it, each with its plot loaded, while one runs and
// after the other converged.
func TestStatusPageInBrowser(t *testing.T) {
	browser := testutil.Browser(t)
	ref, _ := reference(t)
	env := []string{"FLAKY_SLEEP=0.05"}
	cfg := writeConfig(t, strings.Replace(daemonCfg, `http = ""`, `http = "127.0.0.1:0"`, 1)+flakyEvaluator(4, 1))
	dir := filepath.Dir(cfg)
	crash := filepath.Join(dir, "crash.json")
	long := filepath.Join(dir, "long.toml")
	longDoc := "name = \"long\"\nobjective = \"flaky\"\nepsilon = 1e-9\nmax_evaluations = 100000\n" + strings.ReplaceAll(quarticParams, "study.param", "param")
	for path, doc := range map[string]string{crash: crashJSON, long: longDoc} {
		if err := os.WriteFile(path, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	startServe(t, cfg, env...)
	tunerdOK(t, "submit", "--config", cfg, crash, long)
	testutil.WaitFor(t, 2*time.Minute, "the crash study to end", func() bool {
		s := studies(t, cfg)["crash"]
		return s.Status == ref.Status
	})
	raw, err := os.ReadFile(filepath.Join(dir, "out", "http.url"))
	if err != nil {
		t.Fatal(err)
	}
	url := strings.TrimSpace(string(raw))
	dom := string(testutil.Headless(t, browser, "--virtual-time-budget=8000", "--dump-dom", url))
	for _, name := range []string{"crash", "long"} {
		article := regexp.MustCompile(`(?s)<article [^>]*data-study="` + name + `".*?</article>`).FindString(dom)
		if article == "" {
			t.Errorf("study %s is not on the page:\n%s", name, dom)
			continue
		}
		if !strings.Contains(article, `data-plot="loaded"`) {
			t.Errorf("study %s: its plot did not load:\n%s", name, article)
		}
	}
	if !strings.Contains(dom, "Certified converged") {
		t.Errorf("the page does not certify the converged study:\n%s", dom)
	}
	if *screenshot != "" {
		testutil.Headless(t, browser, "--virtual-time-budget=8000", "--window-size=1280,1700", "--screenshot="+*screenshot, url)
		t.Logf("screenshot written to %s", *screenshot)
	}
}
