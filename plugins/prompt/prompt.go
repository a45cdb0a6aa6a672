package prompt

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/sdk"
)

// New returns a prompt plugin; it needs Configure before an action.
func New() plugins.Plugin { return compiled.New() }

type plugin struct {
	backend Backend
}

func (p *plugin) close() error {
	p.closeBackend()
	return nil
}

func (p *plugin) configure(_ context.Context, cfg sdk.Values) error {
	config, _ := cfg.Value().UnmarkDeep()
	if !config.IsWhollyKnown() {
		return errors.New("prompt: the configuration must be known")
	}
	backend, _, err := stringArg(config, "backend", "file")
	if err != nil {
		return err
	}
	var b Backend
	switch backend {
	case "file":
		if err := onlyFor(config, "file", "url", "public_key", "secret_key", "timeout"); err != nil {
			return err
		}
		dir, err := registryDir(config)
		if err != nil {
			return err
		}
		b = newFileBackend(dir)
	case "langfuse":
		if err := onlyFor(config, "langfuse", "path"); err != nil {
			return err
		}
		lf, err := newLangfuseBackend(config)
		if err != nil {
			return err
		}
		b = lf
	default:
		return &plugins.Error{
			Path:    cty.GetAttrPath("backend"),
			Summary: "Unknown prompt backend",
			Detail:  fmt.Sprintf("backend = %q: the prompt plugin has the backends \"file\" (a folder per prompt, set with path) and \"langfuse\" (a Langfuse project, set with url, public_key and secret_key).", backend),
		}
	}
	p.closeBackend()
	p.backend = b
	return nil
}

// onlyFor refuses attributes that belong to other backends: a url next to
// backend = "file" most likely means a forgotten backend = "langfuse", and
// silently ignoring it would manage the wrong registry.
func onlyFor(config cty.Value, backend string, others ...string) error {
	for _, name := range others {
		if v := plugins.Attr(config, name); v.IsKnown() && !v.IsNull() {
			return &plugins.Error{
				Path:    cty.GetAttrPath(name),
				Summary: "Attribute of another backend",
				Detail:  fmt.Sprintf("%s does not apply to backend = %q; remove it, or set the backend it belongs to.", name, backend),
			}
		}
	}
	return nil
}

// closeBackend releases what the backend holds (idle connections).
func (p *plugin) closeBackend() {
	if c, ok := p.backend.(interface{ close() }); ok {
		c.close()
	}
}

// registryDir returns the file backend's registry folder, which must exist:
// a mistyped path is an error, not a new, empty registry.
func registryDir(config cty.Value) (string, error) {
	dir, _, err := stringArg(config, "path", "")
	if err != nil {
		return "", err
	}
	if strings.TrimSpace(dir) == "" {
		return "", &plugins.Error{
			Path:    cty.GetAttrPath("path"),
			Summary: "Missing registry folder",
			Detail:  `The file backend needs path = "DIR" in the plugin "prompt" block: the folder that holds one folder per prompt.`,
		}
	}
	// The host resolves relative paths; Abs only makes messages unambiguous
	// for a caller that does not.
	dir, err = filepath.Abs(dir)
	if err != nil {
		return "", &plugins.Error{Path: cty.GetAttrPath("path"), Summary: "Invalid registry folder", Detail: err.Error()}
	}
	fi, err := os.Stat(dir)
	if err != nil {
		return "", &plugins.Error{Path: cty.GetAttrPath("path"), Summary: "Registry folder not found", Detail: err.Error()}
	}
	if !fi.IsDir() {
		return "", &plugins.Error{Path: cty.GetAttrPath("path"), Summary: "Registry folder is not a folder", Detail: dir + " is a file."}
	}
	return dir, nil
}

// configured fails an action of a plugin that has no backend yet.
func (p *plugin) configured(action string) error {
	if p.backend == nil {
		return fmt.Errorf("prompt.%s: the plugin is not configured (it needs a plugin \"prompt\" block with path, or with backend = \"langfuse\" and url)", action)
	}
	return nil
}

// rules returns the backend's rules for names and labels.
func (p *plugin) rules() backendRules {
	if r, ok := p.backend.(backendRules); ok {
		return r
	}
	return nil
}

// planArgs decodes the arguments of a plan as far as they are known. With
// none known at all, it returns the plan that says so instead.
//
// A plan predicts an action from the registry as it is, changing nothing.
// Whatever would make the action fail and is already known (an unknown
// prompt, no earlier version to roll back to) fails the plan too.
func (p *plugin) planArgs(req *sdk.Request) (*actionArgs, *sdk.Plan, error) {
	if err := p.configured(req.Action); err != nil {
		return nil, nil, err
	}
	args, _ := req.Args.Value().UnmarkDeep()
	if args.IsNull() || !args.IsKnown() {
		return nil, &sdk.Plan{Changes: []string{req.Action + ": (arguments known after apply)"}}, nil
	}
	a, err := decode(req.Action, args, p.rules())
	return a, nil, err
}

// applyArgs decodes the arguments of an action to carry out, which must be
// wholly known.
func (p *plugin) applyArgs(req *sdk.Request) (*actionArgs, error) {
	if err := p.configured(req.Action); err != nil {
		return nil, err
	}
	args, _ := req.Args.Value().UnmarkDeep()
	if args.IsNull() || !args.IsWhollyKnown() {
		return nil, fmt.Errorf("prompt.%s: the arguments must be known to apply", req.Action)
	}
	return decode(req.Action, args, p.rules())
}

// change decodes the arguments of a publish, rollback or promote and the
// saved plan's basis it is applied against (nil when none).
func (p *plugin) change(req *sdk.Request) (*actionArgs, Change, *basis, error) {
	a, err := p.applyArgs(req)
	if err != nil {
		return nil, Change{}, nil, err
	}
	change := Change{Action: req.Action, RunID: req.RunID, Operator: req.Operator, Progress: func(line string) { req.Progress("%s", line) }}
	b, err := decodeBasis(req.Basis, a.name, a.label)
	if err != nil {
		return nil, Change{}, nil, err
	}
	if b != nil {
		change.Check = b.check
	}
	return a, change, b, nil
}

func (p *plugin) planStatus(ctx context.Context, req *sdk.Request) (*sdk.Plan, error) {
	a, plan, err := p.planArgs(req)
	if a == nil {
		return plan, err
	}
	if !a.nameKnown || !a.labelKnown {
		return &sdk.Plan{}, nil
	}
	out, err := p.status(ctx, a.name, a.label, plannedState{req.Planned})
	if err != nil {
		return nil, err
	}
	return &sdk.Plan{Output: out}, nil
}

// applyStatus reads the label; in a dry-run, as the changes planned so far
// leave it.
func (p *plugin) applyStatus(ctx context.Context, req *sdk.Request) (any, error) {
	a, err := p.applyArgs(req)
	if err != nil {
		return nil, err
	}
	out, err := p.status(ctx, a.name, a.label, plannedState{req.Planned})
	if err != nil {
		return nil, explain(p.attribute(err))
	}
	return out, nil
}

func (p *plugin) applyPublish(ctx context.Context, req *sdk.Request) (any, error) {
	a, change, _, err := p.change(req)
	if err != nil {
		return nil, err
	}
	res, err := p.backend.Publish(ctx, a.name, a.text, a.label, change)
	if err != nil {
		return nil, explain(p.attribute(err))
	}
	return publishOutput(a.name, cty.NumberIntVal(int64(res.Version))), nil
}

// applyMove moves a label to the version pick chooses: rollback's and
// promote's Apply.
func (p *plugin) applyMove(pick func(a *actionArgs) func(*Prompt) (int, error)) func(context.Context, *sdk.Request) (any, error) {
	return func(ctx context.Context, req *sdk.Request) (any, error) {
		a, change, b, err := p.change(req)
		if err != nil {
			return nil, err
		}
		m, err := p.backend.MoveLabel(ctx, a.name, a.label, b.checked(pick(a)), change)
		if err != nil {
			return nil, explain(p.attribute(err))
		}
		return moveOutput(a.name, a.label, m.To, cty.NumberIntVal(int64(m.From))), nil
	}
}

// rollbackTarget and promoteTarget choose the target of an action's move.
func rollbackTarget(a *actionArgs) func(*Prompt) (int, error) {
	return rollbackPick(a.label, a.version)
}

func promoteTarget(a *actionArgs) func(*Prompt) (int, error) { return promotePick(a.version) }

// status reads which version label serves, as the planned changes in st
// leave it. An unset label serves version 0; a label that points at a
// missing version is a broken registry.
func (p *plugin) status(ctx context.Context, name, label string, st plannedState) (cty.Value, error) {
	pr, err := p.read(ctx, name, st)
	if err != nil {
		return cty.NilVal, explain(err)
	}
	v := pr.Labels[label]
	if v != 0 && !pr.Has(v) {
		return cty.NilVal, dangling(pr, label, v)
	}
	versions := make([]cty.Value, len(pr.Versions))
	for i, n := range pr.Versions {
		versions[i] = cty.NumberIntVal(int64(n))
	}
	list := cty.ListValEmpty(cty.Number)
	if len(versions) > 0 {
		list = cty.ListVal(versions)
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name":     cty.StringVal(name),
		"label":    cty.StringVal(label),
		"version":  cty.NumberIntVal(int64(v)),
		"versions": list,
	}), nil
}

func (p *plugin) planPublish(ctx context.Context, req *sdk.Request) (*sdk.Plan, error) {
	a, plan, err := p.planArgs(req)
	if a == nil {
		return plan, err
	}
	if !a.nameKnown {
		return &sdk.Plan{Changes: []string{"(prompt known after apply): new version"}}, nil
	}
	st := plannedState{req.Planned}
	next := 1
	var changes []string
	pr, err := p.read(ctx, a.name, st)
	switch {
	case errors.Is(err, ErrUnknownPrompt):
		changes = append(changes, a.name+": new prompt")
	case err != nil:
		return nil, explain(err)
	default:
		next = pr.Latest() + 1
		if next > maxVersion {
			return nil, fmt.Errorf("prompt %q: no version number left above %d", a.name, pr.Latest())
		}
	}
	line := fmt.Sprintf("%s: new version v%d", a.name, next)
	switch {
	case !a.labelKnown:
		line += " (label known after apply)"
	case a.label != "":
		line += " (labelled " + a.label + ")"
	}
	plan = &sdk.Plan{
		Changes: append(changes, line),
		Output:  publishOutput(a.name, cty.NumberIntVal(int64(next))),
	}
	if a.labelKnown {
		plan.Basis = basisOf(pr, a.name, a.label)
		// Which label the new version gets is part of the prediction: with
		// it unknown, the host treats later reads as unpredictable.
		if err := st.publish(a.name, next, a.label); err != nil {
			return nil, err
		}
	}
	return plan, nil
}

// startMove is the start a rollback's and a promote's plans share: the
// arguments, the planned state and the prompt as the plan sees it. With no
// arguments (a nil), plan and err are the whole answer.
func (p *plugin) startMove(ctx context.Context, req *sdk.Request) (a *actionArgs, st plannedState, pr *Prompt, plan *sdk.Plan, err error) {
	a, plan, err = p.planArgs(req)
	if a == nil {
		return nil, st, nil, plan, err
	}
	if !a.nameKnown || !a.labelKnown {
		return nil, st, nil, unknownMove(a), nil
	}
	st = plannedState{req.Planned}
	if pr, err = p.read(ctx, a.name, st); err != nil {
		return nil, st, nil, nil, explain(err)
	}
	return a, st, pr, nil, nil
}

// moveToUnknown is the plan of a move to a version not known before apply.
func moveToUnknown(a *actionArgs, live int) *sdk.Plan {
	return &sdk.Plan{
		Changes: []string{fmt.Sprintf("%s: %s → (known after apply)", a.label, versionText(live))},
		Output:  moveOutputUnknown(a.name, a.label, live),
	}
}

func (p *plugin) planRollback(ctx context.Context, req *sdk.Request) (*sdk.Plan, error) {
	a, st, pr, plan, err := p.startMove(ctx, req)
	if a == nil {
		return plan, err
	}
	// With to_version unknown (decoded as 0), a label that is unset or has
	// no version below it still fails whatever to_version turns out to be.
	target, err := rollbackPick(a.label, a.version)(pr)
	if err != nil {
		return nil, err
	}
	live := pr.Labels[a.label]
	if !a.versionKnown {
		return moveToUnknown(a, live), nil
	}
	if err := st.moveLabel(a.name, a.label, target); err != nil {
		return nil, err
	}
	return &sdk.Plan{
		Changes: []string{fmt.Sprintf("%s: %s → v%d", a.label, versionText(live), target)},
		Output:  moveOutput(a.name, a.label, target, cty.NumberIntVal(int64(live))),
		Basis:   basisOf(pr, a.name, a.label),
	}, nil
}

func (p *plugin) planPromote(ctx context.Context, req *sdk.Request) (*sdk.Plan, error) {
	a, st, pr, plan, err := p.startMove(ctx, req)
	if a == nil {
		return plan, err
	}
	live := pr.Labels[a.label]
	if !a.versionKnown {
		return moveToUnknown(a, live), nil
	}
	note := ""
	if !pr.Has(a.version) {
		// The one version that may not exist yet is the next one: an
		// earlier step of the same run (a planned publish) creates it.
		if a.version != pr.Latest()+1 {
			return nil, unknownVersion(pr, "version", a.version)
		}
		note = fmt.Sprintf(" (v%d is not published yet)", a.version)
	}
	plan = &sdk.Plan{Output: moveOutput(a.name, a.label, a.version, cty.NumberIntVal(int64(live))), Basis: basisOf(pr, a.name, a.label)}
	if a.version != live {
		plan.Changes = []string{fmt.Sprintf("%s: %s → v%d%s", a.label, versionText(live), a.version, note)}
		if note == "" {
			if err := st.moveLabel(a.name, a.label, a.version); err != nil {
				return nil, err
			}
		}
	}
	return plan, nil
}

// rollbackPick chooses a rollback's target: to, which must exist and be
// below the live version, or with to = 0 the highest existing version below
// the live one.
func rollbackPick(label string, to int) func(*Prompt) (int, error) {
	return func(pr *Prompt) (int, error) {
		live, ok := pr.Labels[label]
		if !ok {
			return 0, &plugins.Error{
				Path:    cty.GetAttrPath("label"),
				Summary: "Label not set",
				Detail:  fmt.Sprintf("prompt %q has no label %q in %s: there is nothing to roll back.", pr.Name, label, pr.LabelsSource),
			}
		}
		i, _ := slices.BinarySearch(pr.Versions, live) // versions below live: [0, i)
		if i == 0 {
			return 0, fmt.Errorf("prompt %q: %s serves v%d and there is no earlier version to roll back to (versions: %s)", pr.Name, label, live, versionList(pr.Versions))
		}
		if to == 0 {
			return pr.Versions[i-1], nil
		}
		if !pr.Has(to) {
			return 0, unknownVersion(pr, "to_version", to)
		}
		if to >= live {
			return 0, &plugins.Error{
				Path:    cty.GetAttrPath("to_version"),
				Summary: "Not an earlier version",
				Detail:  fmt.Sprintf("v%d is not below v%d, which %s serves: a rollback moves a label back; prompt.promote moves it to any version.", to, live, label),
			}
		}
		return to, nil
	}
}

// promotePick chooses a promote's target: version, which must exist.
func promotePick(version int) func(*Prompt) (int, error) {
	return func(pr *Prompt) (int, error) {
		if !pr.Has(version) {
			return 0, unknownVersion(pr, "version", version)
		}
		return version, nil
	}
}

func unknownVersion(pr *Prompt, arg string, v int) error {
	return &plugins.Error{
		Path:    cty.GetAttrPath(arg),
		Summary: "Unknown version",
		Detail:  fmt.Sprintf("prompt %q has no version %d (versions: %s).", pr.Name, v, versionList(pr.Versions)),
	}
}

func dangling(pr *Prompt, label string, v int) error {
	return fmt.Errorf("prompt %q: %s points %s at v%d, which does not exist (versions: %s)", pr.Name, pr.LabelsSource, label, v, versionList(pr.Versions))
}

// explain attributes an unknown prompt to the name argument.
func explain(err error) error {
	if errors.Is(err, ErrUnknownPrompt) {
		return &plugins.Error{Path: cty.GetAttrPath("name"), Summary: err.Error()}
	}
	return err
}

// versionText shows a label's version in a change line.
func versionText(v int) string {
	if v == 0 {
		return "(unset)"
	}
	return "v" + strconv.Itoa(v)
}

// versionList shows versions compactly: "1–7, 9".
func versionList(vs []int) string {
	if len(vs) == 0 {
		return "none"
	}
	var parts []string
	for i := 0; i < len(vs); {
		j := i
		for j+1 < len(vs) && vs[j+1] == vs[j]+1 {
			j++
		}
		if j == i {
			parts = append(parts, strconv.Itoa(vs[i]))
		} else {
			parts = append(parts, strconv.Itoa(vs[i])+"–"+strconv.Itoa(vs[j]))
		}
		i = j + 1
	}
	return strings.Join(parts, ", ")
}

func publishOutput(name string, version cty.Value) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"name": cty.StringVal(name), "version": version})
}

func moveOutput(name, label string, version int, previous cty.Value) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"name":             cty.StringVal(name),
		"label":            cty.StringVal(label),
		"version":          cty.NumberIntVal(int64(version)),
		"previous_version": previous,
	})
}

func moveOutputUnknown(name, label string, previous int) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"name":             cty.StringVal(name),
		"label":            cty.StringVal(label),
		"version":          cty.UnknownVal(cty.Number),
		"previous_version": cty.NumberIntVal(int64(previous)),
	})
}

// unknownMove is the plan of a rollback or promote whose prompt or label is
// not known yet.
func unknownMove(a *actionArgs) *sdk.Plan {
	who := "(prompt known after apply)"
	if a.nameKnown {
		who = a.name
	}
	return &sdk.Plan{Changes: []string{who + ": " + a.action + " (label known after apply)"}}
}

// actionArgs are an action's arguments, decoded and checked as far as they
// are known.
type actionArgs struct {
	action       string
	name         string
	nameKnown    bool
	label        string
	labelKnown   bool
	text         string
	version      int // rollback's to_version, promote's version
	versionKnown bool
}

// backendRules is implemented by a backend whose prompt names or labels
// follow rules of their own, so that a name or label it cannot take fails
// the plan, not the change halfway.
type backendRules interface {
	// checkPromptName replaces checkName.
	checkPromptName(name string) error
	// checkSettableLabel checks, after checkLabel, a label that an action
	// sets or moves.
	checkSettableLabel(label string) error
}

// decode decodes an action's arguments; rules, when not nil, are the
// backend's rules for names and labels.
func decode(action string, args cty.Value, rules backendRules) (*actionArgs, error) {
	a := &actionArgs{action: action}
	var err error
	if a.name, a.nameKnown, err = stringArg(args, "name", ""); err != nil {
		return nil, err
	}
	if a.nameKnown {
		check := checkName
		if rules != nil {
			check = rules.checkPromptName
		}
		if err := check(a.name); err != nil {
			return nil, err
		}
	}
	defaultLabel := "production"
	if action == "publish" {
		defaultLabel = ""
	}
	if a.label, a.labelKnown, err = stringArg(args, "label", defaultLabel); err != nil {
		return nil, err
	}
	if a.labelKnown && (a.label != "" || action != "publish") {
		if err := checkLabel(a.label); err != nil {
			return nil, err
		}
		if rules != nil && action != "status" {
			if err := rules.checkSettableLabel(a.label); err != nil {
				return nil, err
			}
		}
	}
	switch action {
	case "publish":
		text, known, err := stringArg(args, "text", "")
		if err != nil {
			return nil, err
		}
		if known && strings.TrimSpace(text) == "" {
			return nil, &plugins.Error{Path: cty.GetAttrPath("text"), Summary: "Empty prompt text", Detail: "prompt.publish needs the text of the new version."}
		}
		a.text = text
	case "rollback":
		a.version, a.versionKnown, err = versionArg(args, "to_version", 0)
	case "promote":
		a.version, a.versionKnown, err = versionArg(args, "version", 1)
	}
	if err != nil {
		return nil, err
	}
	return a, nil
}

// stringArg returns a string attribute (def when null) and whether it is
// known.
func stringArg(obj cty.Value, name, def string) (string, bool, error) {
	v := plugins.Attr(obj, name)
	if !v.IsKnown() {
		return "", false, nil
	}
	if v.IsNull() {
		return def, true, nil
	}
	v, err := convert.Convert(v, cty.String)
	if err != nil {
		return "", false, &plugins.Error{Path: cty.GetAttrPath(name), Summary: "Invalid " + name, Detail: "want a string: " + err.Error()}
	}
	return v.AsString(), true, nil
}

// versionArg returns a version-number argument and whether it is known: a
// whole number from min to maxVersion (0 is the default of to_version).
func versionArg(obj cty.Value, name string, lowest int) (int, bool, error) {
	v := plugins.Attr(obj, name)
	if !v.IsKnown() {
		return 0, false, nil
	}
	if v.IsNull() {
		if lowest > 0 {
			return 0, false, &plugins.Error{Path: cty.GetAttrPath(name), Summary: "Missing " + name, Detail: "a version number is required."}
		}
		return 0, true, nil
	}
	invalid := &plugins.Error{Path: cty.GetAttrPath(name), Summary: "Invalid " + name}
	v, err := convert.Convert(v, cty.Number)
	if err != nil {
		invalid.Detail = "want a version number: " + err.Error()
		return 0, false, invalid
	}
	f := v.AsBigFloat()
	if !f.IsInt() || f.Cmp(big.NewFloat(float64(lowest))) < 0 || f.Cmp(big.NewFloat(maxVersion)) > 0 {
		invalid.Detail = fmt.Sprintf("%s is not a version number: want a whole number from %d to %d.", f.Text('g', -1), lowest, maxVersion)
		if lowest == 0 {
			invalid.Detail = fmt.Sprintf("%s is not a version number: want a whole number from 1 to %d, or 0 for the highest version below the live one.", f.Text('g', -1), maxVersion)
		}
		return 0, false, invalid
	}
	n, _ := f.Int64()
	return int(n), true, nil
}

// checkName accepts a prompt name that is one safe folder name: letters,
// digits, '.', '_' and '-', starting with a letter or digit, at most 128.
func checkName(name string) error {
	return checkIdent("name", "Invalid prompt name", "a prompt name", name, 128)
}

// checkLabel accepts a label by the same rules as a prompt name, at most 64.
func checkLabel(label string) error {
	return checkIdent("label", "Invalid label", "a label", label, 64)
}

// checkIdent accepts the value of attribute attr, what it is, when it is
// one safe folder name of at most maxLen; else the error is summary's.
func checkIdent(attr, summary, what, value string, maxLen int) error {
	if !validIdent(value, maxLen) {
		return &plugins.Error{
			Path:    cty.GetAttrPath(attr),
			Summary: summary,
			Detail:  fmt.Sprintf("%q: %s is 1 to %d letters, digits, '.', '_' or '-', starting with a letter or digit.", value, what, maxLen),
		}
	}
	return nil
}

func validIdent(s string, maxLen int) bool {
	if s == "" || len(s) > maxLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case (c == '.' || c == '_' || c == '-') && i > 0:
		default:
			return false
		}
	}
	return true
}
