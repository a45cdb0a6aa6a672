package index

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins/sdk"
)

// plannedMark starts the version of a build that a dry-run only planned:
// "\uffff1" is the run's first planned build. It sorts after every real
// version, as the real build will.
const plannedMark = "\uffff"

// plannedState is the index plugin's predicted state in a dry-run: for each
// index that earlier steps planned to change, its builds and live build as
// those changes leave them. The host hands it back with every later request
// of the run (plugins.ActionRequest.Planned), one sdk.Planned key per index, so a rollback after a planned
// rebuild plans the way back to today's build, and index.status reads the
// index as the real run will find it. A planned build's version and, with a
// build_command, its document count are not known before it is made: they
// stay unknown.
type plannedState struct{ planned *sdk.Planned }

// plannedIndex is an index as the planned changes leave it.
type plannedIndex struct {
	Live     string   `json:"live"`
	Versions []string `json:"versions"`
	// Docs are the document counts of planned builds, where known.
	Docs map[string]int64 `json:"docs,omitempty"`
	// Builds counts the planned builds, naming the next one.
	Builds int `json:"builds,omitempty"`
	// Recovered: a planned rebuild removes what interrupted changes left.
	Recovered bool `json:"recovered,omitempty"`
}

// index returns what planned changes did to index name, nil when none
// touched it.
func (st plannedState) index(name string) (*plannedIndex, error) {
	var pi *plannedIndex
	if _, err := st.planned.Get(name, &pi); err != nil {
		return nil, err
	}
	return pi, nil
}

// set records the index's state after a planned change.
func (st plannedState) set(name string, pi *plannedIndex) error {
	return st.planned.Set(name, pi)
}

func isPlanned(version string) bool { return strings.HasPrefix(version, plannedMark) }

// versionVal is a version as an output: unknown for a planned build.
func versionVal(v string) cty.Value {
	if isPlanned(v) {
		return cty.UnknownVal(cty.String)
	}
	return cty.StringVal(v)
}

// docsVal is a document count as an output: unknown when negative.
func docsVal(n int64) cty.Value {
	if n < 0 {
		return cty.UnknownVal(cty.Number)
	}
	return cty.NumberIntVal(n)
}

// buildName shows a version in a change line.
func buildName(v string) string {
	if !isPlanned(v) {
		return "build " + v
	}
	if n := strings.TrimPrefix(v, plannedMark); n != "1" {
		return "new build " + n
	}
	return "the new build"
}

// plannedStatus returns an index's state with the planned changes made, and
// its planned record (nil when no planned change touched it). The live
// manifest of a planned build has DocCount -1 when its count is unknown.
func (p *plugin) plannedStatus(ctx context.Context, name string, pst plannedState) (*State, *plannedIndex, error) {
	st, err := p.backend.Status(ctx, name)
	if err != nil {
		return nil, nil, indexError(err)
	}
	pi, err := pst.index(name)
	if err != nil {
		return nil, nil, err
	}
	if pi == nil {
		return st, nil, nil
	}
	out := &State{Name: name, Live: pi.Live, Versions: slices.Clone(pi.Versions)}
	if pi.Live != "" {
		if out.LiveManifest, err = p.manifest(ctx, name, pi.Live, pi); err != nil {
			return nil, nil, err
		}
	}
	return out, pi, nil
}

// manifest reads a build's manifest, or stands in for a planned build's.
func (p *plugin) manifest(ctx context.Context, name, version string, pi *plannedIndex) (*Manifest, error) {
	if !isPlanned(version) {
		return p.backend.Manifest(ctx, name, version)
	}
	docs := int64(-1)
	if pi != nil {
		if n, ok := pi.Docs[version]; ok {
			docs = n
		}
	}
	return &Manifest{Version: version, DocCount: docs}, nil
}

// record returns the planned record to change for an index in state st.
func record(st *State, pi *plannedIndex) *plannedIndex {
	if pi != nil {
		c := *pi
		c.Versions = slices.Clone(pi.Versions)
		c.Docs = make(map[string]int64, len(pi.Docs))
		for k, v := range pi.Docs {
			c.Docs[k] = v
		}
		return &c
	}
	return &plannedIndex{Live: st.Live, Versions: slices.Clone(st.Versions), Docs: map[string]int64{}}
}

// nextBuild names the next planned build.
func (pi *plannedIndex) nextBuild() string {
	pi.Builds++
	return plannedMark + strconv.Itoa(pi.Builds)
}
