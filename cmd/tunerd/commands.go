package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/nats-io/nats.go"

	"github.com/zotune/zotune/api"
)

// The commands that talk to a running daemon over its control API.

func submitCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return clientCommand{
		name: "tunerd submit",
		usage: `Usage: tunerd submit [flags] STUDY.toml|STUDY.json|- ...

Submits studies to a running daemon (tunerd serve), which starts them at
once and runs them again after a restart until they finish. A file holds
one study at its top level (name = "...", objective = "...", [[param]]),
or several as a config file writes them ([[study]], [[study.param]]); JSON
has the same keys. "-" reads standard input. The daemon checks them as it
checks its config file; nothing starts unless every study is valid.
Submitting a study again with the same definition changes nothing.
`,
		args: args,
		positional: func(a []string) string {
			if len(a) == 0 {
				return "no study file given"
			}
			return ""
		},
		call: func(ctx context.Context, c *api.Client, _ *nats.Conn, files []string) error {
			for _, f := range files {
				doc, err := readDocument(f)
				if err != nil {
					return err
				}
				studies, err := c.Create(ctx, doc)
				if err != nil {
					return fmt.Errorf("%s: %w", f, err)
				}
				for _, s := range studies {
					status := s.Status
					if status == "pending" {
						status = "submitted"
					}
					fmt.Fprintf(stdout, "%s: %s (objective %s, budget %d evaluations)\n", s.Name, status, s.Objective, s.MaxEvaluations)
				}
			}
			return nil
		},
	}.run(ctx, stdout, stderr)
}

// readDocument reads a study file, or standard input for "-".
func readDocument(name string) ([]byte, error) {
	if name == "-" {
		return io.ReadAll(os.Stdin)
	}
	return os.ReadFile(name)
}

func statusCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var asJSON, evaluators bool
	return clientCommand{
		name: "tunerd status",
		usage: `Usage: tunerd status [flags] [STUDY]

Without STUDY, a table of the daemon's studies: status, evaluations spent
of the budget, best value, the last gradient-norm and curvature estimates
(the certificate once converged), escapes, rate and the time the rest of
the budget takes at that rate (the study may converge sooner). With STUDY,
that study in detail.
  --evaluators        the evaluators on the daemon's NATS server instead
  --json              print the API's JSON instead of a table
`,
		args: args,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&asJSON, "json", false, "print JSON")
			fs.BoolVar(&evaluators, "evaluators", false, "list the evaluators")
		},
		positional: func(a []string) string {
			if len(a) > 1 || (evaluators && len(a) > 0) {
				return "want at most one study name (none with --evaluators)"
			}
			return ""
		},
		call: func(ctx context.Context, c *api.Client, _ *nats.Conn, a []string) error {
			switch {
			case evaluators:
				return showEvaluators(ctx, c, stdout, asJSON)
			case len(a) == 1:
				s, err := c.Get(ctx, a[0])
				if err != nil {
					return err
				}
				return show(stdout, asJSON, s, func() { studyDetail(stdout, s) })
			}
			list, err := c.List(ctx)
			if err != nil {
				return err
			}
			return show(stdout, asJSON, api.List{Studies: list}, func() { studyTable(stdout, list) })
		},
	}.run(ctx, stdout, stderr)
}

// show prints v as JSON, or as text.
func show(w io.Writer, asJSON bool, v any, text func()) error {
	if !asJSON {
		text()
		return nil
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// studyCommand is stop or resume: one study, one call, its new state.
func studyCommand(ctx context.Context, name, usage string, args []string, stdout, stderr io.Writer,
	call func(*api.Client, context.Context, string) (*api.Study, error)) int {
	return clientCommand{
		name: name, usage: usage, args: args, positional: exactly(1, "one study name"),
		call: func(ctx context.Context, c *api.Client, _ *nats.Conn, a []string) error {
			s, err := call(c, ctx, a[0])
			if err != nil {
				return err
			}
			fmt.Fprintf(stdout, "%s: %s (%s)\n", s.Name, s.State, s.Status)
			return nil
		},
	}.run(ctx, stdout, stderr)
}

func stopCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return studyCommand(ctx, "tunerd stop", `Usage: tunerd stop [flags] STUDY

Stops a study: no new evaluation starts, those in flight are journaled.
It stays stopped, across restarts of the daemon, until tunerd resume.
`, args, stdout, stderr, (*api.Client).Stop)
}

func resumeCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	return studyCommand(ctx, "tunerd resume", `Usage: tunerd resume [flags] STUDY

Runs a stopped study again from where it stopped (nothing that finished
runs twice), or retries one that failed for a reason that may be
transient.
`, args, stdout, stderr, (*api.Client).Resume)
}

func deleteCmd(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	var withJournal bool
	return clientCommand{
		name: "tunerd delete",
		usage: `Usage: tunerd delete [flags] STUDY

Removes a submitted study from the daemon, stopping it first. Its journal
and outputs stay, so that submitting the same study again resumes it;
with --journal they are deleted too, for good.
  --journal           also delete its recorded evaluations and outputs
`,
		args: args,
		flags: func(fs *flag.FlagSet) {
			fs.BoolVar(&withJournal, "journal", false, "delete the journal and outputs too")
		},
		positional: exactly(1, "one study name"),
		call: func(ctx context.Context, c *api.Client, _ *nats.Conn, a []string) error {
			d, err := c.Delete(ctx, a[0], withJournal)
			if err != nil {
				return err
			}
			what := "deleted; its journal and outputs are kept"
			if d.Journal {
				what = "deleted, with its journal and outputs"
			}
			fmt.Fprintf(stdout, "%s: %s\n", d.Study, what)
			return nil
		},
	}.run(ctx, stdout, stderr)
}
