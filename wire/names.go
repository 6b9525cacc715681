package wire

import (
	"fmt"
	"regexp"
)

// Subjects and streams. A task for objective NAME is sent directly on
// SubjectEval + NAME, where its evaluators listen in the queue group
// QueueGroup + NAME. Durable dispatch runs on two kinds of JetStream
// streams:
//
//   - a work queue per objective, ZOTUNE_TASKS_<objective>, on subjects
//     zotune.task.<objective>.<study>.<trial>, consumed by every evaluator
//     of the objective through one shared durable pull consumer
//     ("evaluators"). A task leaves the stream when an evaluator acks it,
//     which it does only after its result is stored;
//   - the journal, ZOTUNE_JOURNAL, on subjects zotune.result.<study>.<trial>
//     (one record per finished evaluation, kept) and zotune.study.<study>
//     (the study's fingerprint).
const (
	SubjectEval   = "zotune.eval."
	QueueGroup    = "zotune-evaluators."
	JournalStream = "ZOTUNE_JOURNAL"
	SubjectResult = "zotune.result."
	SubjectStudy  = "zotune.study."
	SubjectTask   = "zotune.task."
	TaskConsumer  = "evaluators"
)

// EvalSubject returns the subject tasks for an objective are sent on.
func EvalSubject(objective string) string { return SubjectEval + objective }

// TaskStream is the work-queue stream name of an objective.
func TaskStream(objective string) string { return "ZOTUNE_TASKS_" + objective }

// TaskSubject is the subject of one task.
func TaskSubject(objective, study, trial string) string {
	return SubjectTask + objective + "." + study + "." + trial
}

// ResultSubject is the journal subject of one evaluation's record.
func ResultSubject(study, trial string) string { return SubjectResult + study + "." + trial }

// TrialID formats trial number n as it appears in task ids, subjects and
// trials.jsonl.
func TrialID(n int) string { return fmt.Sprintf("%06d", n) }

// Reserved are the names a simulator's command line can use for what the
// evaluator fills in itself ({seed}, {trial}, {study}, {workdir}); no
// parameter may take one.
var Reserved = []string{"seed", "trial", "study", "workdir"}

// nameRE is the rule for study and objective names: they are single NATS
// subject tokens and directory names.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// CheckName reports whether name may name a study or an objective:
// letters, digits, '_' and '-' only.
func CheckName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("wire: empty name")
	case !nameRE.MatchString(name):
		return fmt.Errorf("wire: %q: use only letters, digits, '_' and '-'", name)
	}
	return nil
}
