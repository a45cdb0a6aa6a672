package resolver

import (
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

// Resolver is the one place the command line asks where a plugin comes
// from: a built-in from the registry, run in this process; an external
// plugin from the binary its block declares (checked against its sha256
// and the directory's lock file), or from the user's development override
// of it. Every command that loads runbooks or runs plugins asks it.
type Resolver struct {
	Registry *plugins.Registry
	// DevOverrides are the user's development overrides of plugins
	// (docs/plugins.md, "Development overrides").
	DevOverrides map[string]schema.DevOverride
}

// Schemas returns the schema source of one load: built-in schemas from the
// registry, external plugins' from the lock file (Locked) or, for exec,
// from the plugins launched after their checksum is verified (Launch).
func (r *Resolver) Schemas(code Code) *Schemas { return newSchemas(r.Registry, code) }

// LoadOptions are the schema options of one load.
func (r *Resolver) LoadOptions(code Code) schema.Options {
	return schema.Options{Schemas: r.Schemas(code), DevOverrides: r.DevOverrides}
}
