package index

import (
	"context"
	"fmt"
	"sort"
	"strings"
)

// Backend stores the builds of indexes and which build of each is live. The
// plugin holds the policy (verification, what a rollback goes back to, what
// is pruned) and calls a backend to carry each step out atomically, so that
// another backend (PostgreSQL) needs no policy of its own.
//
// Lock serializes the changes of one index: Recover, Build, Discard,
// Activate and Remove are called with it held. Status, Manifest and
// Leftovers only read, need no lock, and change nothing.
type Backend interface {
	// Lock takes the index's exclusive lock, waiting until ctx is done.
	Lock(ctx context.Context, name string) (unlock func(), err error)
	// Status reads which build is live and which builds are kept. An index
	// that does not exist is an *UnknownIndexError.
	Status(ctx context.Context, name string) (*State, error)
	// Manifest reads the manifest of one kept build.
	Manifest(ctx context.Context, name, version string) (*Manifest, error)
	// Leftovers lists what interrupted changes left behind; Recover removes
	// exactly that.
	Leftovers(ctx context.Context, name string) ([]Leftover, error)
	Recover(ctx context.Context, name string, ch Change, progress func(string)) error
	// Build makes a new build with the builder. It is pending — neither live
	// nor listed — until Activate or Discard.
	Build(ctx context.Context, name string, req BuildRequest) (*Manifest, error)
	// Discard removes a pending build.
	Discard(ctx context.Context, name, version string) error
	// Activate makes a build (pending or kept) the live one, atomically, and
	// records the change in the index's history.
	Activate(ctx context.Context, name string, ch Change) error
	// Remove deletes a kept build that is not live, recording it.
	Remove(ctx context.Context, name, version string, ch Change) error
}

// State is an index's builds and which one is live.
type State struct {
	Name string
	// Live is the live build's version; "" when no build is live yet.
	Live string
	// LiveManifest is the live build's manifest; nil when Live is "".
	LiveManifest *Manifest
	// Versions are the kept builds, oldest first (version order).
	Versions []string
}

// Change is one recorded change of an index.
type Change struct {
	Action   string // "rebuild", "rollback", "prune", "discard"
	From, To string // versions; "" for none
	Operator string
	RunID    string
	// CheckFrom makes Activate refuse, changing nothing, when the live
	// build is no longer From (PostgreSQL: in the transaction that swaps
	// the view). A run applying a saved plan sets it.
	CheckFrom bool
}

// Leftover is something an interrupted change left in an index.
type Leftover struct {
	// Path is relative to the index ("builds/.building-20261126T140512Z").
	Path string
	// Why says what it is, for people.
	Why string
}

// BuildRequest is what Backend.Build needs.
type BuildRequest struct {
	Source   string
	Builder  Builder
	Progress func(string)
}

// Builder writes the documents of a new build into an empty folder.
type Builder interface {
	// Build fills out from source and returns the build's manifest as far as
	// the builder knows it (at least DocCount); the backend sets Version,
	// Source, BuiltAt and SHA256.
	Build(ctx context.Context, req BuilderRequest) (*Manifest, error)
}

// BuilderRequest is what a Builder needs.
type BuilderRequest struct {
	Name, Version, Source string
	// Out is the empty folder to write into.
	Out      string
	Progress func(string)
}

// UnknownIndexError says that an index does not exist.
type UnknownIndexError struct {
	Name  string
	Where string   // the backend's location, for people
	Known []string // the indexes that do exist
}

func (e *UnknownIndexError) Error() string {
	msg := fmt.Sprintf("no index %q in %s", e.Name, e.Where)
	if len(e.Known) == 0 {
		return msg + " (it holds no index; an index exists once its folder does)"
	}
	return msg + " (indexes there: " + strings.Join(e.Known, ", ") + ")"
}

// previousVersion is the build a rollback goes back to: the newest kept
// build older than the live one, or "".
func previousVersion(versions []string, live string) string {
	if live == "" {
		return ""
	}
	prev := ""
	for _, v := range versions {
		if v < live && v > prev {
			prev = v
		}
	}
	return prev
}

// pruneVersions returns the builds to remove so that the newest keep remain,
// never the live one, the one a rollback would go back to, nor those in
// also (the build that was live before a rebuild). Oldest first.
func pruneVersions(versions []string, live string, keep int, also ...string) []string {
	sorted := append([]string(nil), versions...)
	sort.Strings(sorted)
	protect := map[string]bool{live: true, previousVersion(sorted, live): true}
	for _, v := range also {
		protect[v] = true
	}
	var out []string
	for i, v := range sorted {
		if len(sorted)-i > keep && !protect[v] {
			out = append(out, v)
		}
	}
	return out
}
