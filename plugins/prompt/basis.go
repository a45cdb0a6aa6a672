package prompt

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/filestate"
)

// basis is what a plan of publish, rollback or promote was made against
// (plugins.PlanResult.Basis): the label's version and the prompt's latest
// version as the plan saw them, the changes planned before it included.
// Applying a saved plan hands it back, and the change is refused when the
// prompt moved since.
type basis struct {
	Name  string `json:"name"`
	Label string `json:"label,omitempty"`
	// Version is the version the label served (0: unset).
	Version int `json:"version"`
	// Latest is the highest version (0: none, or no prompt yet).
	Latest int `json:"latest"`
}

func basisOf(pr *Prompt, name, label string) basis {
	b := basis{Name: name, Label: label}
	if pr != nil {
		b.Version, b.Latest = pr.Labels[label], pr.Latest()
		if label == "" {
			b.Version = 0
		}
	}
	return b
}

// decodeBasis reads a saved plan's basis for an action on name and label.
func decodeBasis(raw []byte, name, label string) (*basis, error) {
	b, err := plugins.DecodeBasis[basis](raw, "prompt")
	if err != nil || b == nil {
		return nil, err
	}
	if b.Name != name || b.Label != label {
		return nil, fmt.Errorf("the plan was made for prompt %q label %q, and this step now acts on prompt %q label %q", b.Name, b.Label, name, label)
	}
	return b, nil
}

// movedError refuses a change whose prompt moved since the plan.
type movedError struct {
	name, label string
	// what moved: the label (from, to its versions) or, with label
	// empty, the prompt's latest version.
	from, to int
	// by says who moved it ("by run … of …"), when the backend keeps a
	// history.
	by string
}

func (e *movedError) Error() string {
	what := e.label
	if what == "" {
		what = "the latest version of " + e.name
	} else {
		what = e.name + " " + what
	}
	msg := fmt.Sprintf("%s moved %s → %s since the plan", what, versionText(e.from), versionText(e.to))
	if e.by != "" {
		msg += ", " + e.by
	}
	return msg + "; nothing was changed: make a new plan"
}

// check refuses pr when it no longer matches the basis: the label serves
// another version, or a version was published since.
func (b *basis) check(pr *Prompt) error {
	if b == nil {
		return nil
	}
	if b.Label != "" && pr.Labels[b.Label] != b.Version {
		return &movedError{name: b.Name, label: b.Label, from: b.Version, to: pr.Labels[b.Label]}
	}
	if pr.Latest() != b.Latest {
		return &movedError{name: b.Name, from: b.Latest, to: pr.Latest()}
	}
	return nil
}

// checked runs the basis check before pick, so the backend checks and
// moves under the same lock.
func (b *basis) checked(pick func(*Prompt) (int, error)) func(*Prompt) (int, error) {
	if b == nil {
		return pick
	}
	return func(pr *Prompt) (int, error) {
		if err := b.check(pr); err != nil {
			return 0, err
		}
		return pick(pr)
	}
}

// historian is a backend that records who changed what.
type historian interface {
	// changedBy says who last moved label (with no label: any label, or
	// a publish) of prompt name to version to: "by run … of …".
	changedBy(name, label string, to int) string
}

// attribute adds to a movedError who made the move, when the backend
// knows.
func (p *plugin) attribute(err error) error {
	var me *movedError
	if h, ok := p.backend.(historian); ok && errors.As(err, &me) {
		me.by = h.changedBy(me.name, me.label, me.to)
	}
	return err
}

// changedBy implements historian for Langfuse, which records who moved a
// label nowhere: only a publish is attributed, from the commit message
// that runbook's publishes write ("runbook publish (run …, operator …)").
// A version with another message, or none, was published by someone else.
// When Langfuse cannot be read, who stays unsaid.
func (b *langfuseBackend) changedBy(name, label string, to int) string {
	if label != "" || to < 1 {
		return ""
	}
	v, err := b.get(context.Background(), name, url.Values{"version": {strconv.Itoa(to)}})
	if err != nil {
		return ""
	}
	if v.CommitMessage != nil {
		if m := runbookCommitRE.FindStringSubmatch(*v.CommitMessage); m != nil && (m[1] != "" || m[2] != "") {
			return filestate.HistoryEntry{RunID: m[1], Operator: m[2], Action: "a runbook run"}.Who()
		}
	}
	return fmt.Sprintf("not by a runbook run (the commit message of v%d names none)", to)
}

// runbookCommitRE reads commitMessage's text: the run and the operator.
var runbookCommitRE = regexp.MustCompile(`^runbook [a-z]+ \((?:run ([^,()]+))?(?:, )?(?:operator ([^()]+))?\)$`)

// changedBy implements historian from the prompt's history.jsonl: the
// label's last recorded move when it set version to (with no label, the
// publish of version to). A move made by hand leaves no entry, and is said
// to be one.
func (b *fileBackend) changedBy(name, label string, to int) string {
	path := filepath.Join(b.folder(name), historyFile)
	e, ok := filestate.LastHistory(path, func(e filestate.HistoryEntry) bool {
		if label != "" {
			return e.Subject == name+"/"+label
		}
		// Version numbers are never reused: the entry that created
		// version to is the publish.
		return fmt.Sprint(e.To) == strconv.Itoa(to) && (e.Subject == name || strings.HasPrefix(e.Subject, name+"/"))
	})
	// Only the label's last recorded move counts: if it set another
	// version, the move since was made by hand.
	if !ok || fmt.Sprint(e.To) != strconv.Itoa(to) {
		return "not by a runbook run (" + historyFile + " has no record of it)"
	}
	return e.Who()
}
