// Package web is tunerd's HTTP face: the status page, a read-only JSON
// view of the studies, each study's convergence plot as SVG, the
// Prometheus metrics and a health check. See docs/metrics.md.
//
// The page is rendered on the server (it is complete without JavaScript)
// and a small script, embedded like the page's template and stylesheet,
// keeps it current by polling /api/studies. Nothing is fetched from
// elsewhere.
//
// Routes, all GET (and HEAD):
//
//	/                                  the status page
//	/metrics                           Prometheus metrics (package metrics)
//	/healthz                           200 "ok", or 503 with the reason
//	/api/studies                       api.List as JSON
//	/api/studies/{name}                api.Study as JSON; 404 if unknown
//	/api/objectives                    Objectives as JSON
//	/studies/{name}/convergence.svg    the study's plot; 404 if unknown
//	/static/...                        the page's stylesheet and script
package web
