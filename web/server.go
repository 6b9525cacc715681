package web

import (
	"bytes"
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	stdlog "log"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/chart"
	"github.com/zotune/zotune/metrics"
)

// Source is what the server shows: the daemon's studies and objectives
// (as for the metrics), each study's convergence plot, and its health.
// Its methods are called from request goroutines and must be safe for
// concurrent use.
type Source interface {
	metrics.Source
	// Convergence returns what the study's plot shows so far; ok is false
	// for a study the daemon does not have. A known study with nothing to
	// draw yet returns nil (or no points) and true.
	Convergence(study string) (c *chart.Convergence, ok bool)
	// Healthy returns nil when the daemon works as it should, or what is
	// wrong: /healthz answers 503 with it, and the page shows it.
	Healthy() error
}

// Objectives is /api/objectives: what the daemon knows of each objective,
// its evaluators and its tasks.
type Objectives struct {
	Objectives []api.Objective `json:"objectives"`
}

// Server serves the status page, the JSON views, the plots, the metrics
// and the health check.
type Server struct {
	src     Source
	metrics http.Handler
	log     zerolog.Logger
	page    *template.Template
	handler http.Handler
}

// ShutdownTimeout bounds how long Serve waits, once its context ends, for
// requests in progress to finish.
const ShutdownTimeout = 5 * time.Second

//go:embed assets
var assets embed.FS

// New returns a server of src's studies whose /metrics is m's handler.
func New(src Source, m *metrics.Metrics, log zerolog.Logger) *Server {
	s := &Server{
		src:     src,
		metrics: m.Handler(),
		log:     log.With().Str("component", "web").Logger(),
		page:    template.Must(template.New("page.html").Funcs(pageFuncs).ParseFS(assets, "assets/page.html")),
	}
	static, err := fs.Sub(assets, "assets/static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", s.servePage)
	mux.Handle("GET /metrics", s.metrics)
	mux.HandleFunc("GET /healthz", s.serveHealth)
	mux.HandleFunc("GET /api/studies", s.serveStudies)
	mux.HandleFunc("GET /api/studies/{name}", s.serveStudy)
	mux.HandleFunc("GET /api/objectives", s.serveObjectives)
	mux.HandleFunc("GET /studies/{name}/convergence.svg", s.servePlot)
	mux.Handle("GET /static/", http.StripPrefix("/static/", noCache(http.FileServerFS(static))))
	s.handler = secure(mux)
	return s
}

// Handler returns the server's routes.
func (s *Server) Handler() http.Handler { return s.handler }

// Listen opens addr ("host:port"; port 0 picks a free one) for Serve, so
// that a bind error is reported before anything starts and the address
// actually bound can be told (see URL).
func Listen(addr string) (net.Listener, error) {
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("web: %w", err)
	}
	return l, nil
}

// URL is the status page's address on a listener's address: an
// unspecified host (0.0.0.0 or ::) is given as loopback, the address
// that reaches it from the same machine.
func URL(a net.Addr) string {
	host, port, err := net.SplitHostPort(a.String())
	if err != nil {
		return "http://" + a.String() + "/"
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsUnspecified() {
		host = "127.0.0.1" // Go's listeners on :: take IPv4 too
	}
	return "http://" + net.JoinHostPort(host, port) + "/"
}

// Serve serves the server's routes on l until ctx ends, then shuts down:
// it stops accepting, waits up to ShutdownTimeout for requests in
// progress, and closes l. It returns nil after a shutdown ctx asked for,
// or the error that stopped it serving.
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	hs := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          stdlog.New(logWriter{s.log}, "", 0),
	}
	s.log.Info().Str("url", URL(l.Addr())).Msg("status page and metrics")
	done := make(chan error, 1)
	go func() { done <- hs.Serve(l) }()
	select {
	case err := <-done:
		return fmt.Errorf("web: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), ShutdownTimeout)
	defer cancel()
	err := hs.Shutdown(sctx)
	if errors.Is(err, context.DeadlineExceeded) {
		err = hs.Close()
	}
	if serr := <-done; !errors.Is(serr, http.ErrServerClosed) && err == nil {
		err = serr
	}
	if err != nil {
		return fmt.Errorf("web: shutdown: %w", err)
	}
	return nil
}

// logWriter logs what net/http reports (a failed accept, a bad request
// it could not answer) as warnings.
type logWriter struct{ log zerolog.Logger }

func (w logWriter) Write(p []byte) (int, error) {
	w.log.Warn().Msg(strings.TrimSpace(string(p)))
	return len(p), nil
}

// secure adds the headers every response carries: the page loads its own
// assets only, is never framed, and nothing is sniffed or sent as a
// referrer.
func secure(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		hd.Set("X-Frame-Options", "DENY")
		h.ServeHTTP(w, r)
	})
}

// noCache makes clients revalidate the page's assets, so a new tunerd's
// page never runs an old script.
func noCache(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-cache")
		h.ServeHTTP(w, r)
	})
}

func (s *Server) serveHealth(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	if err := s.src.Healthy(); err != nil {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, "unhealthy: %v\n", err)
		return
	}
	fmt.Fprint(w, "ok")
}

func (s *Server) serveStudies(w http.ResponseWriter, _ *http.Request) {
	studies := s.src.Studies()
	if studies == nil {
		studies = []api.Study{}
	}
	s.writeJSON(w, http.StatusOK, api.List{Studies: studies})
}

func (s *Server) serveStudy(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	for _, st := range s.src.Studies() {
		if st.Name == name {
			s.writeJSON(w, http.StatusOK, st)
			return
		}
	}
	s.writeJSON(w, http.StatusNotFound, apiError{fmt.Sprintf("no study %q", name)})
}

func (s *Server) serveObjectives(w http.ResponseWriter, _ *http.Request) {
	objectives := s.src.Objectives()
	if objectives == nil {
		objectives = []api.Objective{}
	}
	s.writeJSON(w, http.StatusOK, Objectives{Objectives: objectives})
}

// apiError is the body of a JSON route's error.
type apiError struct {
	Error string `json:"error"`
}

func (s *Server) writeJSON(w http.ResponseWriter, code int, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		s.log.Error().Err(err).Msg("encoding a reply")
		http.Error(w, "web: cannot encode the reply", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	w.Write(append(data, '\n'))
}

// servePlot draws the study's convergence plot as SVG; a study with
// nothing to draw yet gets a placeholder that says so.
func (s *Server) servePlot(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("name")
	c, ok := s.src.Convergence(name)
	if !ok {
		http.Error(w, fmt.Sprintf("no study %q", name), http.StatusNotFound)
		return
	}
	var buf bytes.Buffer
	if c == nil || len(c.Points) == 0 {
		buf.Write(placeholderSVG)
	} else if err := c.WriteSVG(&buf); err != nil {
		s.log.Error().Err(err).Str("study", name).Msg("drawing the convergence plot")
		http.Error(w, "web: cannot draw the plot", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("Cache-Control", "no-store")
	// Opened on its own, the SVG is a document: it may style itself and
	// do nothing else.
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	w.Write(buf.Bytes())
}

// placeholderSVG stands for the plot of a study that has none yet.
var placeholderSVG = mustRead("assets/placeholder.svg")

func mustRead(name string) []byte {
	data, err := assets.ReadFile(name)
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	return data
}

func (s *Server) servePage(w http.ResponseWriter, _ *http.Request) {
	var buf bytes.Buffer
	if err := s.page.Execute(&buf, s.pageData(time.Now())); err != nil {
		s.log.Error().Err(err).Msg("rendering the status page")
		http.Error(w, "web: cannot render the page", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Write(buf.Bytes())
}
