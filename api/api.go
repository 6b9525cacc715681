// Package api is the contract of tunerd's control API: the NATS subjects
// of the "zotune" service, the JSON of its requests and replies, and a
// Client. The service is a nats.go micro service, so `nats micro ls`,
// `nats micro info zotune` and `nats micro stats zotune` discover it, and
// any NATS client in any language can use it with plain JSON requests:
// see docs/api.md. The daemon serves it (package daemon); `tunerd submit`,
// `status`, `stop` and `trials` use the Client.
package api

import (
	"encoding/json"
	"time"

	"github.com/zotune/zotune/study"
)

// Service is the micro service name the daemon registers; Version is the
// version of this contract (semantic: a new field is a minor change).
const (
	Service = "zotune"
	Version = "1.0.0"
)

// The subjects of the service's endpoints. Every request and reply is
// JSON, except Create's request: a study definition as TOML or JSON.
const (
	SubjectCreate = "zotune.api.studies.create" // body: study document → Created
	SubjectList   = "zotune.api.studies.list"   // body: empty → List
	SubjectGet    = "zotune.api.studies.get"    // Ref → Study, with its summary
	SubjectStop   = "zotune.api.studies.stop"   // Ref → Study
	SubjectResume = "zotune.api.studies.resume" // Ref → Study
	SubjectDelete = "zotune.api.studies.delete" // Delete → Deleted
	SubjectTrials = "zotune.api.studies.trials" // TrialsRequest → Trials
)

// DaemonSubject is the subject of endpoint (create, list, get, stop,
// resume, delete, trials) on the daemon whose id is id alone: the shared
// subjects above go to any daemon of the service, which passes a request
// about a study driven by another daemon on to that one here. Its list
// holds that daemon's own picture of each study.
func DaemonSubject(id, endpoint string) string { return "zotune.api.daemon." + id + "." + endpoint }

// Origins of a study: its daemon's config file, or a Create request.
const (
	OriginConfig = "config"
	OriginAPI    = "api"
)

// States of a study in the daemon: active studies run until they end
// (and are resumed when the daemon restarts); stopped ones were stopped
// over the API and wait for a Resume.
const (
	StateActive  = "active"
	StateStopped = "stopped"
)

// Study is a study as the daemon reports it: where it came from, whether
// it runs, and its progress.
type Study struct {
	Name      string `json:"name"`
	Objective string `json:"objective"`
	Origin    string `json:"origin"` // OriginConfig or OriginAPI
	State     string `json:"state"`  // StateActive or StateStopped
	// Status is the summary's (running, converged, target, budget,
	// stopped, failed), or "pending" before the study's first summary.
	Status  string `json:"status"`
	Reason  string `json:"reason,omitempty"`
	Running bool   `json:"running"` // the daemon is running it now
	// Daemon is the id of the daemon that drives the study (holds its
	// lease) or drove it last, whose data_dir holds its outputs; "" under
	// `tunerd run`. With several daemons on one NATS server, a request
	// about a study is answered by the daemon that drives it (see
	// docs/failover.md).
	Daemon string `json:"daemon,omitempty"`
	// Evaluations and Failures are those of the summary; Spent, their sum,
	// is what the budget MaxEvaluations counts.
	Evaluations    int `json:"evaluations"`
	Failures       int `json:"failures"`
	Spent          int `json:"spent"`
	MaxEvaluations int `json:"max_evaluations"`
	// Best is the best value seen (with samples > 1, the least mean over
	// a point's samples: study.Summary.Best); GradNorm and LambdaMin the last
	// estimates of ‖∇f‖ and λ_min (the final certificate once ended).
	Best      *float64 `json:"best"`
	GradNorm  *float64 `json:"grad_norm"`
	LambdaMin *float64 `json:"lambda_min"`
	Escapes   int      `json:"escapes"`
	// Pareto is the size of a multi-objective study's non-dominated set
	// (study.Summary.Pareto, in Get's summary); 0 for one objective.
	Pareto int `json:"pareto"`
	// Rate is evaluations per second run by this daemon process (those
	// answered from the journal on resume left out); ETASeconds the time
	// the rest of the budget takes at that rate, nil when unknown or ended.
	// The study may converge sooner.
	Rate        float64   `json:"rate"`
	ETASeconds  *float64  `json:"eta_seconds"`
	WallSeconds float64   `json:"wall_seconds"`
	Created     time.Time `json:"created"`
	// Summary is the study's summary.json, in Get's reply only.
	Summary *study.Summary `json:"summary,omitempty"`
}

// Ref names a study.
type Ref struct {
	Study string `json:"study"`
}

// Created is Create's reply: the studies the document defined, now
// registered and started.
type Created struct {
	Studies []Study `json:"studies"`
}

// List is List's reply: every study of the daemon, in creation order.
type List struct {
	Studies []Study `json:"studies"`
}

// Delete asks to remove a study from the daemon, stopping it first. With
// Journal, its journal (every recorded evaluation) and its output folder
// are deleted too; without, they stay, and a study of the same name
// created later resumes from that journal if its definition is the same.
type Delete struct {
	Study   string `json:"study"`
	Journal bool   `json:"journal"`
}

// Deleted is Delete's reply.
type Deleted struct {
	Study   string `json:"study"`
	Journal bool   `json:"journal"` // the journal and outputs were deleted
}

// TrialsRequest asks for a page of a study's trial history: Limit lines
// of trials.jsonl from line Offset (0-based); Limit 0 means
// DefaultTrialsLimit, and at most MaxTrialsLimit are returned.
type TrialsRequest struct {
	Study  string `json:"study"`
	Offset int    `json:"offset"`
	Limit  int    `json:"limit"`
}

// Page sizes of Trials.
const (
	DefaultTrialsLimit = 1000
	MaxTrialsLimit     = 10000
)

// Trials is a page of a study's trial history: each element a line of its
// trials.jsonl (study.Trial), Total the lines there are, and Next the
// offset of the next page, nil after the last.
type Trials struct {
	Study  string            `json:"study"`
	Offset int               `json:"offset"`
	Total  int               `json:"total"`
	Trials []json.RawMessage `json:"trials"`
	Next   *int              `json:"next"`
}
