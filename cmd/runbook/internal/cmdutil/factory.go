package cmdutil

import (
	"fmt"
	"os"

	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/cmd/runbook/internal/resolver"
	"github.com/runbookdev/runbook/engine/store"
	"github.com/runbookdev/runbook/plugins"
)

// GlobalOptions are the flags every command takes.
type GlobalOptions struct {
	Dir      string
	StateDir string
	NoColor  bool
	// LockURL says where run locks live: file:// or etcd://… (docs/commands.md, "Global flags").
	LockURL string
	// StoreURL says where transcripts are also kept: file:// (only the
	// state folder) or postgres://… (docs/store.md).
	StoreURL string
}

// Factory is what every command is made with: the streams, the global
// options, where the runbooks and state are, and the plugin resolver. The
// root command fills the options and directories before a command runs.
type Factory struct {
	IO       *iostreams.IOStreams
	Global   GlobalOptions
	Dirs     Dirs
	Resolver *resolver.Resolver

	// store is the transcript store Store opened, storeErr why it could
	// not be.
	store    *store.Store
	storeErr error
}

// New returns a factory on streams, with the plugins of registry.
func New(streams *iostreams.IOStreams, registry *plugins.Registry) *Factory {
	return &Factory{IO: streams, Resolver: &resolver.Resolver{Registry: registry}}
}

// ResolveDirs fills the runbook and state directories from the flags, the
// environment and the working directory.
func (f *Factory) ResolveDirs() error {
	wd, err := os.Getwd()
	if err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	if f.Global.Dir == "" {
		f.Global.Dir = os.Getenv("RUNBOOK_DIR")
	}
	if f.Global.StateDir == "" {
		f.Global.StateDir = os.Getenv("RUNBOOK_STATE_DIR")
	}
	f.Dirs = FindDirs(wd, f.Global.Dir, f.Global.StateDir)
	f.Global.Dir, f.Global.StateDir = f.Dirs.Dir, f.Dirs.StateDir
	return nil
}

// NeedDir returns nil when the runbook directory exists, else the error
// that says where it was looked for.
func (f *Factory) NeedDir() error {
	if fi, err := os.Stat(f.Global.Dir); err == nil && fi.IsDir() {
		return nil
	}
	return f.Dirs.NotFound()
}

// PathsOrDir returns the PATHs a command was given or, when none, the
// runbook directory, which must then exist.
func (f *Factory) PathsOrDir(args []string) ([]string, error) {
	if len(args) > 0 {
		return args, nil
	}
	if err := f.NeedDir(); err != nil {
		return nil, err
	}
	return []string{f.Global.Dir}, nil
}
