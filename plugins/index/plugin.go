package index

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/big"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/sdk"
)

// defaultKeep is how many builds are kept when the configuration says nothing.
const defaultKeep = 5

// New returns an index plugin; it needs Configure before any action.
func New() plugins.Plugin { return compiled.New() }

type plugin struct {
	backend Backend
	builder Builder
	// byCommand says the builder is the build_command, whose document count
	// Plan cannot predict.
	byCommand bool
	keep      int
}

// close releases the backend's connections, if it holds any.
func (p *plugin) close() error {
	if c, ok := p.backend.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

func (p *plugin) configure(_ context.Context, cfg sdk.Values) error {
	config, _ := cfg.Value().UnmarkDeep()
	if !config.IsWhollyKnown() {
		return errors.New("index: configuration must be known")
	}
	backendName := "file"
	if v := plugins.Attr(config, "backend"); !v.IsNull() {
		backendName = v.AsString()
	}
	var backend Backend
	switch backendName {
	case "file":
		dir, err := fileConfig(config)
		if err != nil {
			return err
		}
		backend = newFileBackend(dir)
	case "postgres":
		pg, err := postgresConfig(config)
		if err != nil {
			return err
		}
		backend = pg
	default:
		return sdk.ConfigError("backend", "Unknown index backend", fmt.Sprintf("%q is not a backend of the index plugin; it has \"file\" (a folder of builds) and \"postgres\" (a table per build behind a view).", backendName))
	}
	keep := defaultKeep
	if v := plugins.Attr(config, "keep"); !v.IsNull() {
		n, acc := v.AsBigFloat().Int64()
		if acc != big.Exact || n < 1 || n > 1<<20 {
			return sdk.ConfigError("keep", "Invalid keep", fmt.Sprintf("keep is how many builds to keep: a whole number of at least 1, not %s.", v.AsBigFloat().Text('g', -1)))
		}
		keep = int(n)
	}
	var builder Builder = corpusBuilder{}
	byCommand := false
	if v := plugins.Attr(config, "build_command"); !v.IsNull() && strings.TrimSpace(v.AsString()) != "" {
		if strings.ContainsRune(v.AsString(), 0) {
			return sdk.ConfigError("build_command", "Invalid build_command", "The command contains a NUL byte.")
		}
		builder, byCommand = &commandBuilder{command: v.AsString()}, true
	}
	if err := p.close(); err != nil {
		return fmt.Errorf("index: close the previous backend: %w", err)
	}
	p.backend, p.builder, p.byCommand, p.keep = backend, builder, byCommand, keep
	return nil
}

// fileConfig checks the file backend's configuration: path, an existing
// folder.
func fileConfig(config cty.Value) (string, error) {
	dir := plugins.Attr(config, "path")
	if dir.IsNull() || strings.TrimSpace(dir.AsString()) == "" {
		return "", sdk.ConfigError("path", "Missing index folder", `The file backend needs path = "DIR", the folder that holds one folder per index.`)
	}
	abs, err := filepath.Abs(dir.AsString())
	if err != nil {
		return "", sdk.ConfigError("path", "Invalid index folder", err.Error())
	}
	if info, err := os.Stat(abs); err != nil {
		return "", sdk.ConfigError("path", "Index folder not found", err.Error())
	} else if !info.IsDir() {
		return "", sdk.ConfigError("path", "Index folder is not a folder", abs+" is a file.")
	}
	return abs, nil
}

var errNotConfigured = errors.New(`index: the plugin is not configured (it needs a plugin "index" block with path, or with backend = "postgres" and dsn)`)

// rebuildArgs are index.rebuild's arguments, decoded and checked.
type rebuildArgs struct {
	name      string
	source    string
	minDocs   int64
	maxShrink float64
}

// decodeName checks the index name: one folder name, not hidden.
func decodeName(args cty.Value) (string, error) {
	v := plugins.Attr(args, "name")
	if v.IsNull() || v.AsString() == "" {
		return "", sdk.ArgError("name", "Missing index name", "index actions need the name of an index.")
	}
	name := v.AsString()
	if strings.HasPrefix(name, ".") || strings.ContainsAny(name, "/\\\x00") || filepath.Base(name) != name {
		return "", sdk.ArgError("name", "Invalid index name", fmt.Sprintf("%q cannot name an index: it is one folder name, not starting with \".\".", name))
	}
	return name, nil
}

func decodeRebuild(args cty.Value, byCommand bool) (*rebuildArgs, error) {
	name, err := decodeName(args)
	if err != nil {
		return nil, err
	}
	ra := &rebuildArgs{name: name, minDocs: 1, maxShrink: 0.5}
	if v := plugins.Attr(args, "min_docs"); !v.IsNull() {
		n, acc := v.AsBigFloat().Int64()
		if acc != big.Exact || n < 0 {
			return nil, sdk.ArgError("min_docs", "Invalid min_docs", fmt.Sprintf("min_docs is a whole number of at least 0, not %s.", v.AsBigFloat().Text('g', -1)))
		}
		ra.minDocs = n
	}
	if v := plugins.Attr(args, "max_shrink"); !v.IsNull() {
		f, _ := v.AsBigFloat().Float64()
		if f < 0 || f > 1 {
			return nil, sdk.ArgError("max_shrink", "Invalid max_shrink", fmt.Sprintf("max_shrink is the fraction of the live build's documents a new build may lose, from 0 to 1, not %s.", v.AsBigFloat().Text('g', -1)))
		}
		ra.maxShrink = f
	}
	v := plugins.Attr(args, "source")
	if v.IsNull() || v.AsString() == "" {
		return nil, sdk.ArgError("source", "Missing source", "index.rebuild needs the folder of documents to build from.")
	}
	ra.source = v.AsString()
	info, err := os.Stat(ra.source)
	switch {
	case err != nil && errors.Is(err, os.ErrNotExist):
		return nil, sdk.ArgError("source", "Source not found", fmt.Sprintf("%s does not exist.", ra.source))
	case err != nil:
		return nil, sdk.ArgError("source", "Source unreadable", err.Error())
	case !info.IsDir() && !byCommand:
		return nil, sdk.ArgError("source", "Source is not a folder", fmt.Sprintf("%s is a file; the built-in builder reads a folder of .txt, .md and .jsonl documents.", ra.source))
	}
	return ra, nil
}

// verify is the check a new build must pass before it goes live.
func verify(ra *rebuildArgs, docs int64, live *Manifest) error {
	if docs < ra.minDocs {
		return sdk.ArgError("min_docs", "Build refused", fmt.Sprintf("the new build of %s holds %s, fewer than min_docs = %s; the live build stays.", ra.name, plural(docs, "document"), thousands(ra.minDocs)))
	}
	if live == nil {
		return nil
	}
	lost := float64(live.DocCount - docs)
	if lost > ra.maxShrink*float64(live.DocCount) {
		return sdk.ArgError("max_shrink", "Build refused", fmt.Sprintf("the new build of %s holds %s, %.0f%% fewer than the live build %s (%s); max_shrink = %g allows %.0f%%; the live build stays.",
			ra.name, plural(docs, "document"), 100*lost/float64(live.DocCount), live.Version, plural(live.DocCount, "document"), ra.maxShrink, 100*ra.maxShrink))
	}
	return nil
}

// indexError turns an unknown index into an error on the name argument.
func indexError(err error) error {
	var unknown *UnknownIndexError
	if errors.As(err, &unknown) {
		return sdk.ArgError("name", "Unknown index", unknown.Error()+".")
	}
	return err
}

func buildOutputVal(name, version string, docs int64, previous string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{
		"name":             cty.StringVal(name),
		"version":          cty.StringVal(version),
		"doc_count":        cty.NumberIntVal(docs),
		"previous_version": cty.StringVal(previous),
	})
}

// applyArgs are the arguments of an action to carry out, which must be
// wholly known.
func (p *plugin) applyArgs(req *sdk.Request) (cty.Value, error) {
	if p.backend == nil {
		return cty.NilVal, errNotConfigured
	}
	args, _ := req.Args.Value().UnmarkDeep()
	if !args.IsWhollyKnown() || args.IsNull() {
		return cty.NilVal, fmt.Errorf("index.%s: arguments must be known to run", req.Action)
	}
	return args, nil
}

// apply is the Apply handler that carries an action out with fn, given
// its wholly known arguments.
func (p *plugin) apply(fn func(context.Context, cty.Value, *sdk.Request) (cty.Value, error)) func(context.Context, *sdk.Request) (any, error) {
	return func(ctx context.Context, req *sdk.Request) (any, error) {
		args, err := p.applyArgs(req)
		if err != nil {
			return nil, err
		}
		out, err := fn(ctx, args, req)
		if err != nil {
			return nil, p.attribute(ctx, err)
		}
		return out, nil
	}
}

// readStatus reads the index; in a dry-run, as the changes planned so far
// leave it.
func (p *plugin) readStatus(ctx context.Context, args cty.Value, req *sdk.Request) (cty.Value, error) {
	return p.status(ctx, args, plannedState{req.Planned})
}

// status reads an index as the planned changes in pst leave it.
func (p *plugin) status(ctx context.Context, args cty.Value, pst plannedState) (cty.Value, error) {
	name, err := decodeName(args)
	if err != nil {
		return cty.NilVal, err
	}
	st, _, err := p.plannedStatus(ctx, name, pst)
	if err != nil {
		return cty.NilVal, err
	}
	versions := cty.ListValEmpty(cty.String)
	if len(st.Versions) > 0 {
		vals := make([]cty.Value, len(st.Versions))
		for i, v := range st.Versions {
			vals[i] = versionVal(v)
		}
		versions = cty.ListVal(vals)
	}
	var docs int64
	if st.LiveManifest != nil {
		docs = st.LiveManifest.DocCount
	}
	return cty.ObjectVal(map[string]cty.Value{
		"name":           cty.StringVal(name),
		"active_version": versionVal(st.Live),
		"doc_count":      docsVal(docs),
		"versions":       versions,
	}), nil
}

func (p *plugin) rebuild(ctx context.Context, args cty.Value, req *sdk.Request) (cty.Value, error) {
	ra, err := decodeRebuild(args, p.byCommand)
	if err != nil {
		return cty.NilVal, err
	}
	b, err := decodeBasis(req.Basis, ra.name)
	if err != nil {
		return cty.NilVal, err
	}
	progress := func(line string) { req.Progress("%s", line) }
	unlock, err := p.lock(ctx, ra.name, progress)
	if err != nil {
		return cty.NilVal, err
	}
	defer unlock()
	if err := p.checkBasis(ctx, ra.name, b); err != nil {
		return cty.NilVal, err
	}
	who := Change{Operator: req.Operator, RunID: req.RunID, CheckFrom: b != nil}
	if err := p.backend.Recover(ctx, ra.name, who, progress); err != nil {
		return cty.NilVal, err
	}
	st, err := p.backend.Status(ctx, ra.name)
	if err != nil {
		return cty.NilVal, indexError(err)
	}
	m, err := p.backend.Build(ctx, ra.name, BuildRequest{Source: ra.source, Builder: p.builder, Progress: progress})
	if err != nil {
		return cty.NilVal, fmt.Errorf("index.rebuild %s: %w", ra.name, err)
	}
	discard := func(cause error) (cty.Value, error) {
		if err := p.backend.Discard(context.WithoutCancel(ctx), ra.name, m.Version); err != nil {
			return cty.NilVal, errors.Join(cause, err)
		}
		say(progress, "removed the new build %s; current is untouched", m.Version)
		return cty.NilVal, cause
	}
	if err := verify(ra, m.DocCount, st.LiveManifest); err != nil {
		return discard(err)
	}
	sayVerified(progress, m, st.LiveManifest)
	if err := ctx.Err(); err != nil {
		return discard(fmt.Errorf("index.rebuild %s: %w", ra.name, err))
	}
	ch := who
	ch.Action, ch.From, ch.To = "rebuild", st.Live, m.Version
	if err := p.backend.Activate(ctx, ra.name, ch); err != nil {
		return cty.NilVal, fmt.Errorf("index.rebuild %s: %w", ra.name, err)
	}
	say(progress, "swapped current → %s", m.Version)
	p.prune(ctx, ra.name, st, m.Version, who, progress)
	return buildOutputVal(ra.name, m.Version, m.DocCount, st.Live), nil
}

// sayVerified reports the verified count of the new build m, next to that
// of the live one.
func sayVerified(progress func(string), m, live *Manifest) {
	if live != nil {
		say(progress, "verified: %s docs (live: %s)", thousands(m.DocCount), thousands(live.DocCount))
	} else {
		say(progress, "verified: %s docs (no live build yet)", thousands(m.DocCount))
	}
}

// prune removes the builds beyond keep once version is live. The swap is
// done: a build that cannot be pruned is worth a line, not a failed step.
func (p *plugin) prune(ctx context.Context, name string, st *State, version string, who Change, progress func(string)) {
	prune := who
	prune.Action = "prune"
	for _, v := range pruneVersions(append(st.Versions, version), version, p.keep, st.Live) {
		if err := p.backend.Remove(context.WithoutCancel(ctx), name, v, prune); err != nil {
			say(progress, "warning: could not prune build %s: %v", v, err)
			continue
		}
		say(progress, "pruned build %s (keep = %d)", v, p.keep)
	}
}

func (p *plugin) rollback(ctx context.Context, args cty.Value, req *sdk.Request) (cty.Value, error) {
	name, err := decodeName(args)
	if err != nil {
		return cty.NilVal, err
	}
	b, err := decodeBasis(req.Basis, name)
	if err != nil {
		return cty.NilVal, err
	}
	// A rollback that cannot happen is refused before the lock is taken,
	// so that it leaves no trace (not even the lock file); the lock's
	// holder then checks again.
	if err := p.checkBasis(ctx, name, b); err != nil {
		return cty.NilVal, err
	}
	if _, _, _, err := p.rollbackTarget(ctx, name); err != nil {
		return cty.NilVal, err
	}
	progress := func(line string) { req.Progress("%s", line) }
	unlock, err := p.lock(ctx, name, progress)
	if err != nil {
		return cty.NilVal, err
	}
	defer unlock()
	st, prev, pm, err := p.rollbackTarget(ctx, name)
	if err != nil {
		return cty.NilVal, err
	}
	if err := b.check(st); err != nil {
		return cty.NilVal, err
	}
	ch := Change{Action: "rollback", From: st.Live, To: prev, Operator: req.Operator, RunID: req.RunID, CheckFrom: b != nil}
	if err := p.backend.Activate(ctx, name, ch); err != nil {
		return cty.NilVal, fmt.Errorf("index.rollback %s: %w", name, err)
	}
	say(progress, "swapped current → %s (was %s)", prev, st.Live)
	return buildOutputVal(name, prev, pm.DocCount, st.Live), nil
}

// checkBasis refuses a change of a saved plan when the index moved since
// the plan (b nil: not applying a plan).
func (p *plugin) checkBasis(ctx context.Context, name string, b *basis) error {
	if b == nil {
		return nil
	}
	st, err := p.backend.Status(ctx, name)
	if err != nil {
		return indexError(err)
	}
	return b.check(st)
}

// lockPatience is how long a change waits for the index's lock before it
// says that it is waiting.
const lockPatience = 200 * time.Millisecond

// lock takes the index's lock, saying so when another change holds it: a
// rebuild can hold it for a long time.
func (p *plugin) lock(ctx context.Context, name string, progress func(string)) (func(), error) {
	quick, cancel := context.WithTimeout(ctx, lockPatience)
	unlock, err := p.backend.Lock(quick, name)
	cancel()
	if err == nil {
		return unlock, nil
	}
	if ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
		return nil, indexError(err)
	}
	say(progress, "waiting for another change of %s to finish…", name)
	unlock, err = p.backend.Lock(ctx, name)
	if err != nil {
		return nil, indexError(err)
	}
	return unlock, nil
}

// rollbackTarget finds the build a rollback goes back to.
func (p *plugin) rollbackTarget(ctx context.Context, name string) (*State, string, *Manifest, error) {
	st, err := p.backend.Status(ctx, name)
	if err != nil {
		return nil, "", nil, indexError(err)
	}
	prev, pm, err := p.rollbackFrom(ctx, st, nil)
	return st, prev, pm, err
}

// rollbackFrom finds the build a rollback of an index in state st goes back
// to, and its manifest; pi is the index's planned record, if any.
func (p *plugin) rollbackFrom(ctx context.Context, st *State, pi *plannedIndex) (string, *Manifest, error) {
	name := st.Name
	if st.Live == "" {
		return "", nil, sdk.ArgError("name", "Nothing to roll back", fmt.Sprintf("%s has no live build yet.", name))
	}
	prev := previousVersion(st.Versions, st.Live)
	if prev == "" {
		return "", nil, sdk.ArgError("name", "No earlier build", fmt.Sprintf("%s has no build older than the live %s to roll back to (builds kept: %s).", name, buildName(st.Live), strings.Join(st.Versions, ", ")))
	}
	pm, err := p.manifest(ctx, name, prev, pi)
	if err != nil {
		return "", nil, fmt.Errorf("index.rollback %s: cannot roll back to %s: %w", name, prev, err)
	}
	return prev, pm, nil
}

// planStart is where a plan of rebuild or rollback starts: its arguments,
// the index's name and its state with the changes planned before.
type planStart struct {
	args cty.Value
	pst  plannedState
	name string
	st   *State
	pi   *plannedIndex
}

// startPlan reads what a plan of rebuild or rollback starts from. With the
// index not known yet, it returns the plan that says so instead.
func (p *plugin) startPlan(ctx context.Context, req *sdk.Request) (*planStart, *sdk.Plan, error) {
	if p.backend == nil {
		return nil, nil, errNotConfigured
	}
	args, _ := req.Args.Value().UnmarkDeep()
	if !args.IsKnown() || args.IsNull() || !plugins.Attr(args, "name").IsKnown() {
		return nil, &sdk.Plan{Changes: []string{fmt.Sprintf("index %s: (index known after apply)", req.Action)}}, nil
	}
	ps := &planStart{args: args, pst: plannedState{req.Planned}}
	var err error
	if ps.name, err = decodeName(args); err != nil {
		return nil, nil, err
	}
	if ps.st, ps.pi, err = p.plannedStatus(ctx, ps.name, ps.pst); err != nil {
		return nil, nil, err
	}
	return ps, nil, nil
}

func (p *plugin) planRollback(ctx context.Context, req *sdk.Request) (*sdk.Plan, error) {
	ps, plan, err := p.startPlan(ctx, req)
	if ps == nil {
		return plan, err
	}
	name, st, pi := ps.name, ps.st, ps.pi
	prev, pm, err := p.rollbackFrom(ctx, st, pi)
	if err != nil {
		return nil, err
	}
	next := record(st, pi)
	next.Live = prev
	if err := ps.pst.set(name, next); err != nil {
		return nil, err
	}
	return &sdk.Plan{
		Basis:   basisOf(st),
		Changes: []string{fmt.Sprintf("%s: %s → %s", name, buildName(st.Live), buildName(prev))},
		Output: cty.ObjectVal(map[string]cty.Value{
			"name":             cty.StringVal(name),
			"version":          versionVal(prev),
			"doc_count":        docsVal(pm.DocCount),
			"previous_version": versionVal(st.Live),
		}),
	}, nil
}

func (p *plugin) planRebuild(ctx context.Context, req *sdk.Request) (*sdk.Plan, error) {
	ps, plan, err := p.startPlan(ctx, req)
	if ps == nil {
		return plan, err
	}
	name, st, pi := ps.name, ps.st, ps.pi
	from := liveText(st)
	out := map[string]cty.Value{
		"name":             cty.StringVal(name),
		"version":          cty.UnknownVal(cty.String),
		"doc_count":        cty.UnknownVal(cty.Number),
		"previous_version": versionVal(st.Live),
	}
	res := &sdk.Plan{Basis: basisOf(st)}
	changes, gone, err := p.leftoverChanges(ctx, name, pi)
	if err != nil {
		return nil, err
	}
	res.Changes = changes

	if !ps.args.IsWhollyKnown() {
		res.Changes = append(res.Changes, fmt.Sprintf("%s: %s → new build (source known after apply)", name, from))
		res.Output = cty.ObjectVal(out)
		return res, nil
	}
	ra, err := decodeRebuild(ps.args, p.byCommand)
	if err != nil {
		return nil, err
	}
	next := record(st, pi)
	// The new build sorts after every kept one, as a planned build does.
	newBuild := next.nextBuild()
	if p.byCommand {
		res.Changes = append(res.Changes, fmt.Sprintf("%s: %s → new build from %s by build_command", name, from, ra.source))
	} else {
		stats, err := scanCorpus(ctx, ra.source, func(*document, int64) error { return nil })
		if err != nil {
			return nil, sdk.ArgError("source", "Unreadable source", err.Error())
		}
		live := st.LiveManifest
		if live != nil && live.DocCount < 0 {
			live = nil // a planned build of unknown size: the real run checks
		}
		if err := verify(ra, stats.Docs, live); err != nil {
			return nil, err
		}
		res.Changes = append(res.Changes, fmt.Sprintf("%s: %s → new build from %s (%s)", name, from, ra.source, plural(stats.Docs, "doc")))
		out["doc_count"] = cty.NumberIntVal(stats.Docs)
		next.Docs[newBuild] = stats.Docs
	}
	res.Changes = append(res.Changes, p.planPrune(name, st, next, newBuild, gone)...)
	if err := ps.pst.set(name, next); err != nil {
		return nil, err
	}
	res.Output = cty.ObjectVal(out)
	return res, nil
}

// liveText is how a plan of rebuild names the live build.
func liveText(st *State) string {
	from := "(no live build)"
	if m := st.LiveManifest; m != nil && m.DocCount >= 0 {
		from = fmt.Sprintf("%s (%s)", buildName(st.Live), plural(m.DocCount, "doc"))
	} else if m != nil {
		from = buildName(st.Live)
	}
	return from
}

// leftoverChanges are the plan's lines for what an interrupted change left
// behind, which a rebuild removes first, and the builds among them; none
// when a planned change before has recovered the index.
func (p *plugin) leftoverChanges(ctx context.Context, name string, pi *plannedIndex) ([]string, map[string]bool, error) {
	var changes []string
	gone := map[string]bool{}
	if pi == nil || !pi.Recovered {
		leftovers, err := p.backend.Leftovers(ctx, name)
		if err != nil {
			return nil, nil, err
		}
		for _, l := range leftovers {
			changes = append(changes, fmt.Sprintf("%s: remove %s (%s, left by an interrupted change)", name, l.Path, l.Why))
			gone[strings.TrimPrefix(l.Path, buildsDir+"/")] = true
		}
	}
	return changes, gone, nil
}

// planPrune plans newBuild live in next, with the builds beyond keep
// pruned and those gone removed, and returns the plan's lines for the
// pruned.
func (p *plugin) planPrune(name string, st *State, next *plannedIndex, newBuild string, gone map[string]bool) []string {
	kept := []string{newBuild}
	for _, v := range st.Versions {
		if !gone[v] {
			kept = append(kept, v)
		}
	}
	pruned := pruneVersions(kept, newBuild, p.keep, st.Live)
	var changes []string
	for _, v := range pruned {
		changes = append(changes, fmt.Sprintf("%s: prune %s (keep = %d)", name, buildName(v), p.keep))
	}
	next.Live, next.Recovered = newBuild, true
	next.Versions = slices.DeleteFunc(kept, func(v string) bool { return slices.Contains(pruned, v) })
	slices.Sort(next.Versions)
	return changes
}
