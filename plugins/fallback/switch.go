package fallback

import (
	"fmt"

	"github.com/runbookdev/runbook/plugins/filestate"
)

// switchEdit is a route's switch as a backend writes it: the changed
// document, parsed, and the route as it then reads.
type switchEdit struct {
	data    []byte
	changed *flagFile
	after   *Route
}

// editSwitch is the part of Switch every backend shares, run on the route
// name of f, read as before, once the backend holds what makes the switch
// atomic: c.Check, the variant's check, and the changed document, which must
// be one flagd accepts serving variant. It is nil, with no error, when the
// route already serves variant. where names the document in errors ("flag
// file PATH", "etcd key KEY"), what names what would be written ("file",
// "flag").
func editSwitch(f *flagFile, name, variant string, before *Route, c Change, where, what string) (*switchEdit, error) {
	if c.Check != nil {
		if err := c.Check(before); err != nil {
			return nil, err
		}
	}
	if err := before.checkVariant(variant); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if before.Active == variant {
		return nil, nil
	}

	data, err := f.withActive(name, variant)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	// The new document must be one flagd accepts, serving what we meant.
	changed, err := parseFlagFile(data)
	if err != nil {
		return nil, fmt.Errorf("%s: refusing to write the changed %s: %w", where, what, err)
	}
	after, err := changed.route(name)
	if err != nil {
		return nil, fmt.Errorf("%s: refusing to write the changed %s: %w", where, what, err)
	}
	if after.Active != variant {
		return nil, fmt.Errorf("%s: refusing to write the changed %s: route %q would serve %q, not %q", where, what, name, after.Active, variant)
	}
	return &switchEdit{data: data, changed: changed, after: after}, nil
}

// switchRecord is the history's record of the route name switched from
// before to variant; the backend sets the time, or leaves it to
// filestate.AppendHistory.
func switchRecord(name, variant string, before *Route, c Change) filestate.HistoryEntry {
	return filestate.HistoryEntry{
		Action:   c.Action,
		Subject:  name,
		From:     activeOrNil(before.Active),
		To:       variant,
		Operator: c.Operator,
		RunID:    c.RunID,
	}
}

// activeOrNil records "no default variant" as null in the history.
func activeOrNil(active string) any {
	if active == "" {
		return nil
	}
	return active
}
