package runbooks

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/builtin"
	"github.com/runbookdev/runbook/schema"
)

// A rehearsal is only worth as much as its agreement with the real run.
// TestRehearsalMatchesRealRun rehearses runbooks with a dry-run, runs them
// for real on a copy of the same state, and compares step by step: the
// status, every value the dry-run predicted (outputs of planned changes and
// of reads after them) and every change line it planned. A value the
// dry-run left unknown is not compared; anything else that differs is a
// mismatch, printed with both sides.

// op is one action of a generated runbook.
type op struct {
	id     string
	action string
	args   string // HCL attributes
}

var (
	promptOps = []op{
		{"status", "prompt.status", `name = "support-agent"`},
		{"rollback", "prompt.rollback", `name = "support-agent"`},
		{"promote", "prompt.promote", `name = "support-agent", version = 7`},
		{"publish", "prompt.publish", `name = "support-agent", text = "Be brief.", label = "production"`},
		{"rollback-other", "prompt.rollback", `name = "summarizer"`},
	}
	fallbackOps = []op{
		{"activate", "fallback.activate", `route = "chat"`},
		{"deactivate", "fallback.deactivate", `route = "chat"`},
		{"status", "fallback.status", `route = "chat"`},
		{"activate-other", "fallback.activate", `route = "embeddings"`},
	}
	indexOps = []op{
		{"status", "index.status", `name = "support-kb"`},
		{"rebuild", "index.rebuild", `name = "support-kb", source = "CORPUS"`},
		{"rollback", "index.rollback", `name = "support-kb"`},
		{"rollback-other", "index.rollback", `name = "help-kb"`},
	}
	mixedOps = []op{promptOps[0], promptOps[1], fallbackOps[0], fallbackOps[2], indexOps[0], indexOps[1]}
)

// sequences returns every sequence of ops from min to max long.
func sequences(ops []op, min, max int) [][]op {
	var out [][]op
	var grow func(prefix []op)
	grow = func(prefix []op) {
		if len(prefix) >= min {
			out = append(out, prefix)
		}
		if len(prefix) == max {
			return
		}
		for _, o := range ops {
			grow(append(prefix[:len(prefix):len(prefix)], o))
		}
	}
	grow(nil)
	return out
}

const pluginBlocks = `
plugin "prompt" {
  path = "../state/prompts"
}
plugin "fallback" {
  path = "../state/routes.flagd.json"
}
plugin "index" {
  path = "../state/indexes"
  keep = 3
}
`

func generated(seq []op) string {
	var sb strings.Builder
	sb.WriteString(pluginBlocks)
	sb.WriteString("runbook \"generated\" {\n  owner = \"sre\"\n")
	for i, o := range seq {
		fmt.Fprintf(&sb, "  step \"s%d\" {\n    action %q {\n      %s\n    }\n  }\n", i+1, o.action, strings.ReplaceAll(o.args, ", ", "\n      "))
	}
	sb.WriteString("}\n")
	return sb.String()
}

func TestRehearsalMatchesRealRun(t *testing.T) {
	template := scratchDir(t)
	writeState(t, template)
	here, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}

	var cases []equivCase
	for _, name := range []string{"rollback-prompt", "activate-fallback", "deactivate-fallback", "deploy-prompt", "rebuild-index", "rollback-index"} {
		cases = append(cases, equivCase{name: "shipped/" + name, from: here, runbook: name, shipped: true, vars: shippedVars[name]})
	}
	gen := sequences(promptOps, 2, 4)
	gen = append(gen, sequences(fallbackOps, 2, 4)...)
	gen = append(gen, sequences(indexOps, 2, 4)...)
	gen = append(gen, sequences(mixedOps, 2, 3)...)
	for i, seq := range gen {
		if raceEnabled && i%17 != 0 {
			continue // the race detector gets a sample of the same set
		}
		ids := make([]string, len(seq))
		for j, o := range seq {
			ids[j] = strings.Split(o.action, ".")[0] + "." + o.id
		}
		cases = append(cases, equivCase{name: strings.Join(ids, ","), runbook: "generated", source: generated(seq)})
	}

	var (
		mu    sync.Mutex
		total tally
	)
	t.Run("cases", func(t *testing.T) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				t.Parallel()
				dry := c.run(t, template, true)
				real := c.run(t, template, false)
				n := compareRuns(t, c.name, dry, real)
				mu.Lock()
				total.add(n)
				mu.Unlock()
			})
		}
	})
	t.Logf("rehearsal vs real run: %d runbooks, %d steps compared (%d values and %d change lines agree, %d values unknown in the rehearsal), %d mismatches",
		len(cases), total.steps, total.values, total.lines, total.unknown, total.mismatches)
	if total.steps < len(cases)*2 {
		t.Errorf("only %d steps compared over %d runbooks", total.steps, len(cases))
	}
}

var shippedVars = map[string]map[string]string{
	"rollback-prompt":     {"prompt": "support-agent"},
	"activate-fallback":   {"route": "chat"},
	"deactivate-fallback": {"route": "chat"},
	"deploy-prompt":       {"prompt": "support-agent", "text": "Answer in one paragraph."},
	"rebuild-index":       {"index": "support-kb", "source": "CORPUS"},
	"rollback-index":      {"index": "support-kb"},
}

type equivCase struct {
	name    string
	from    string // the shipped runbooks' folder
	runbook string
	shipped bool
	source  string
	vars    map[string]string
}

// run copies the template state, runs the case in it (a rehearsal or a
// real run) and returns what each step did.
func (c equivCase) run(t *testing.T, template string, dry bool) *trace {
	t.Helper()
	dir := scratchDir(t)
	copyTree(t, template, dir)
	rbDir := filepath.Join(dir, "runbooks")
	if err := os.MkdirAll(rbDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if c.shipped {
		shipped, err := filepath.Glob(filepath.Join(c.from, "*.hcl"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range shipped {
			f := filepath.Base(path)
			if schema.IsTestFile(f) {
				continue
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			// The shipped plugin blocks point at the sample state; the
			// copy points them at this run's own.
			b = []byte(strings.ReplaceAll(string(b), "../examples/state/", "../state/"))
			if err := os.WriteFile(filepath.Join(rbDir, f), b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	} else if err := os.WriteFile(filepath.Join(rbDir, "generated.hcl"), []byte(strings.ReplaceAll(c.source, "CORPUS", filepath.Join(dir, "corpus"))), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, diags := schema.LoadDir(rbDir, schema.Options{Schemas: schema.RegistrySource{Registry: builtin.Registry()}})
	if diags.HasErrors() {
		t.Fatalf("%s: %s", c.name, diags.Error())
	}
	rb := cfg.Runbook(c.runbook)
	if rb == nil {
		t.Fatalf("%s: no runbook %s", c.name, c.runbook)
	}
	tr := &trace{steps: map[string]*stepTrace{}}
	vars := map[string]string{}
	for k, v := range c.vars {
		vars[k] = strings.ReplaceAll(v, "CORPUS", filepath.Join(dir, "corpus"))
	}
	_, err := engine.Run(context.Background(), cfg, rb,
		engine.WithDryRun(dry), engine.WithYes(true), engine.WithVars(vars),
		engine.WithEnv(func(string) (string, bool) { return "", false }),
		engine.WithPlugins(inProcess()), engine.WithHooks(tr), engine.WithOperator("sre@test"))
	if err != nil {
		t.Fatalf("%s: %v", c.name, err)
	}
	return tr
}

// scratchDir is a temporary folder, in memory where the system has a
// memory file system: the plugins fsync every change of their state, and
// the rehearsal test makes some 3,400 runs.
func scratchDir(t *testing.T) string {
	t.Helper()
	if fi, err := os.Stat("/dev/shm"); err == nil && fi.IsDir() {
		if dir, err := os.MkdirTemp("/dev/shm", "runbook-rehearsal-"); err == nil {
			t.Cleanup(func() { _ = os.RemoveAll(dir) })
			return dir
		}
	}
	return t.TempDir()
}

func inProcess() engine.InProcess {
	p := engine.InProcess{}
	for _, b := range builtin.Plugins() {
		if b.New != nil {
			p[b.Name] = b.New()
		}
	}
	return p
}

// trace is what a run did, step by step.
type trace struct {
	order []string
	steps map[string]*stepTrace
}

type stepTrace struct {
	action   string
	status   string
	output   any
	changes  []string // planned change lines (dry-run)
	progress []string // progress lines (real run)
}

func (tr *trace) step(name string) *stepTrace {
	s := tr.steps[name]
	if s == nil {
		s = &stepTrace{}
		tr.steps[name] = s
		tr.order = append(tr.order, name)
	}
	return s
}

// Handle implements engine.Hook.
func (tr *trace) Handle(e engine.Event) error {
	switch e := e.(type) {
	case engine.StepStarted:
		tr.step(e.Name).action = e.Action
	case engine.Planned:
		tr.step(e.Name).changes = append(tr.step(e.Name).changes, e.Changes...)
	case engine.Progress:
		tr.step(e.Name).progress = append(tr.step(e.Name).progress, e.Line)
	case engine.StepFinished:
		s := tr.step(e.Name)
		s.status, s.output = e.Status, e.Output
	}
	return nil
}

type tally struct{ steps, values, lines, unknown, mismatches int }

func (t *tally) add(o tally) {
	t.steps += o.steps
	t.values += o.values
	t.lines += o.lines
	t.unknown += o.unknown
	t.mismatches += o.mismatches
}

// compareRuns compares a rehearsal with the real run of the same runbook
// on the same state.
func compareRuns(t *testing.T, name string, dry, real *trace) tally {
	t.Helper()
	var n tally
	mismatch := func(step, what string, rehearsed, did any) {
		n.mismatches++
		t.Errorf("%s, step %s: %s\n  rehearsal: %v\n  real run:  %v", name, step, what, rehearsed, did)
	}
	for _, stepName := range real.order {
		r := real.steps[stepName]
		d := dry.steps[stepName]
		if d == nil {
			mismatch(stepName, "the rehearsal never reached the step", nil, r.status)
			continue
		}
		n.steps++
		if d.status == engine.StatusPending {
			n.unknown++
			continue
		}
		if want := rehearsedStatus(r.status); d.status != want && !(want == engine.StatusPlanned && d.status == engine.StatusSucceeded) {
			mismatch(stepName, "status", d.status, r.status)
			continue
		}
		if r.status != engine.StatusSucceeded {
			continue
		}
		values, unknown, diffs := compareValues("output", d.output, r.output)
		n.values += values
		n.unknown += unknown
		for _, diff := range diffs {
			mismatch(stepName, diff, d.output, r.output)
		}
		if d.status == engine.StatusPlanned {
			want, ok := realChanges(r)
			if !ok {
				n.unknown++
				continue
			}
			if !sameLines(d.changes, want) {
				mismatch(stepName, "planned change lines", d.changes, want)
			} else {
				n.lines += len(want)
			}
		}
	}
	for _, stepName := range dry.order {
		if real.steps[stepName] == nil {
			mismatch(stepName, "the real run never reached the step", dry.steps[stepName].status, nil)
		}
	}
	return n
}

// rehearsedStatus is the status a rehearsal gives a step that ended with
// status in the real run.
func rehearsedStatus(status string) string {
	if status == engine.StatusSucceeded {
		return engine.StatusPlanned
	}
	return status
}

// compareValues compares a predicted value with the real one: every known
// part must be equal.
func compareValues(path string, predicted, real any) (values, unknown int, diffs []string) {
	if predicted == engine.Unknown {
		return 0, 1, nil
	}
	switch p := predicted.(type) {
	case map[string]any:
		r, ok := real.(map[string]any)
		if !ok || len(r) != len(p) {
			return 0, 0, []string{path + " differs"}
		}
		for k, pv := range p {
			v, u, d := compareValues(path+"."+k, pv, r[k])
			values, unknown, diffs = values+v, unknown+u, append(diffs, d...)
		}
		return values, unknown, diffs
	case []any:
		r, ok := real.([]any)
		if !ok || len(r) != len(p) {
			return 0, 0, []string{path + " differs"}
		}
		for i := range p {
			v, u, d := compareValues(fmt.Sprintf("%s[%d]", path, i), p[i], r[i])
			values, unknown, diffs = values+v, unknown+u, append(diffs, d...)
		}
		return values, unknown, diffs
	}
	if !reflect.DeepEqual(predicted, real) {
		return 0, 0, []string{path + " differs"}
	}
	return 1, 0, nil
}

// realChanges are the change lines a plan should have shown for what the
// real run did, from its outputs and progress lines; ok is false where the
// plan cannot name it (a build made only by the real run).
func realChanges(r *stepTrace) (lines []string, ok bool) {
	out, _ := r.output.(map[string]any)
	str := func(k string) string { s, _ := out[k].(string); return s }
	num := func(k string) int64 { n, _ := out[k].(int64); return n }
	switch r.action {
	case "fallback.activate", "fallback.deactivate":
		for _, l := range r.progress {
			lines = append(lines, strings.TrimSuffix(l, "; nothing written"))
		}
		return lines, true
	case "prompt.rollback", "prompt.promote":
		if num("version") == num("previous_version") {
			return nil, true
		}
		from := "(unset)"
		if v := num("previous_version"); v != 0 {
			from = fmt.Sprintf("v%d", v)
		}
		return []string{fmt.Sprintf("%s: %s → v%d", str("label"), from, num("version"))}, true
	case "prompt.publish":
		return []string{fmt.Sprintf("%s: new version v%d …", str("name"), num("version"))}, true
	case "index.rollback":
		return []string{fmt.Sprintf("%s: build %s → build %s", str("name"), str("previous_version"), str("version"))}, true
	case "index.rebuild":
		// The plan names the build that is live and how many documents the
		// new one gets; the new build's name exists only once it is made.
		from := "(no live build)"
		if p := str("previous_version"); p != "" {
			from = "build " + p
		}
		return []string{fmt.Sprintf("%s: %s … (%d docs)", str("name"), from, num("doc_count"))}, true
	}
	return nil, false
}

// sameLines compares planned lines with the real ones; "…" in a real line
// stands for text the plan words its own way.
func sameLines(planned, real []string) bool {
	if len(real) == 1 && strings.Contains(real[0], "…") {
		prefix, suffix, _ := strings.Cut(real[0], "…")
		for _, l := range planned {
			if strings.HasPrefix(l, prefix) && strings.HasSuffix(l, suffix) {
				return true
			}
			object, _, _ := strings.Cut(l, ":")
			if strings.Contains(l, ": the new build") || strings.Contains(l, ": new build ") {
				// The live build is one the same rehearsal planned: the
				// plan cannot name it.
				if strings.HasPrefix(prefix, object+":") && strings.HasSuffix(l, suffix) {
					return true
				}
			}
		}
		return false
	}
	if len(planned) != len(real) {
		return false
	}
	for i := range planned {
		// A build the same rehearsal planned has no name yet.
		pattern := plannedBuild.ReplaceAllString(regexp.QuoteMeta(planned[i]), `build \S+`)
		if !regexp.MustCompile("^" + pattern + "$").MatchString(real[i]) {
			return false
		}
	}
	return true
}

var plannedBuild = regexp.MustCompile(`the new build|new build \d+`)

// writeState writes the state every case starts from: two prompts, a flag
// file of model routes, two indexes with two builds each, and a corpus.
func writeState(t *testing.T, dir string) {
	t.Helper()
	files := map[string]string{
		"state/prompts/support-agent/labels.json": `{"production": 7, "staging": 7}`,
		"state/prompts/summarizer/labels.json":    `{"production": 3}`,
		"state/routes.flagd.json": `{"flags": {
  "chat": {"state": "ENABLED", "variants": {"primary": "openai/gpt-4.1", "fallback": "anthropic/claude-sonnet-4"}, "defaultVariant": "primary"},
  "embeddings": {"state": "ENABLED", "variants": {"primary": "openai/text-embedding-3-large", "fallback": "local/bge-large-en-v1.5"}, "defaultVariant": "primary"}
}}`,
		"corpus/refunds.md":  "# Refunds\n\nRefunds take five days.\n",
		"corpus/hours.txt":   "Support is open around the clock.\n",
		"corpus/billing.md":  "# Billing\n\nInvoices go out on the first.\n",
		"corpus1/faq.md":     "# FAQ\n\nAsk us anything.\n",
		"corpus1/privacy.md": "# Privacy\n\nWe keep little.\n",
	}
	for v := 1; v <= 7; v++ {
		files[fmt.Sprintf("state/prompts/support-agent/%d.txt", v)] = fmt.Sprintf("You are a support agent, version %d.\n", v)
	}
	for v := 1; v <= 3; v++ {
		files[fmt.Sprintf("state/prompts/summarizer/%d.txt", v)] = fmt.Sprintf("Summarize, version %d.\n", v)
	}
	for name, text := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Two builds of each index, made by the index plugin itself.
	idx := builtin.Registry().Builtin("index").New()
	defer idx.Close()
	ctx := context.Background()
	schema := builtin.Registry().Builtin("index").Schema
	cfg := objectOf(t, schema.ConfigType(), map[string]string{"path": filepath.Join(dir, "state/indexes"), "backend": "file", "keep": "3"})
	if err := os.MkdirAll(filepath.Join(dir, "state/indexes"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := idx.Configure(ctx, cfg); err != nil {
		t.Fatal(err)
	}
	for _, index := range []string{"support-kb", "help-kb"} {
		if err := os.MkdirAll(filepath.Join(dir, "state/indexes", index), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, corpus := range []string{"corpus1", "corpus"} {
			args := objectOf(t, schema.Actions["rebuild"].ArgsType(), map[string]string{"name": index, "source": filepath.Join(dir, corpus), "min_docs": "1", "max_shrink": "0.9"})
			if _, err := idx.Apply(ctx, &plugins.ActionRequest{Action: "rebuild", Args: args, RunID: "setup", Operator: "sre@test"}); err != nil {
				t.Fatalf("building %s: %v", index, err)
			}
		}
	}
}

// copyTree copies a folder, symbolic links as links.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, path)
		dst := filepath.Join(to, rel)
		switch {
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(path)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		default:
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(dst, b, 0o644)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
}

// objectOf is an object of type ty with the given attributes set from
// strings and the others null.
func objectOf(t *testing.T, ty cty.Type, set map[string]string) cty.Value {
	t.Helper()
	attrs := map[string]cty.Value{}
	for name, aty := range ty.AttributeTypes() {
		attrs[name] = cty.NullVal(aty)
		if v, ok := set[name]; ok {
			cv, err := convert.Convert(cty.StringVal(v), aty)
			if err != nil {
				t.Fatal(err)
			}
			attrs[name] = cv
		}
	}
	return cty.ObjectVal(attrs)
}
