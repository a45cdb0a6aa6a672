package cmdutil

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/runbookdev/runbook/engine/exitcode"
)

// defaultDirName is the runbook directory looked for when --dir and
// $RUNBOOK_DIR are not given, and stateDirName the state folder beside it.
const (
	defaultDirName = "runbooks"
	stateDirName   = ".runbook"
)

// Dirs is where the runbooks and the state of one project are.
type Dirs struct {
	// Dir is the runbook directory, relative to the working directory when
	// it is below or beside it.
	Dir string
	// StateDir holds transcripts and locks: .runbook beside Dir, so that a
	// project has one wherever in it runbook runs.
	StateDir string
	// Looked lists the folders searched for a runbooks/ folder when none
	// was found (Dir is then "runbooks", which does not exist).
	Looked []string
}

// FindDirs decides the runbook and state directories, as go-task finds its
// Taskfile: dir (--dir or $RUNBOOK_DIR) when given, else the nearest
// runbooks/ folder in wd or above it; stateDir (--state-dir or
// $RUNBOOK_STATE_DIR) when given, else .runbook beside the runbook
// directory, so running from inside runbooks/ or a subfolder of the project
// uses the same one.
func FindDirs(wd, dir, stateDir string) Dirs {
	d := Dirs{Dir: dir, StateDir: stateDir}
	if d.Dir == "" {
		d.Dir = defaultDirName
		for at := wd; ; {
			candidate := filepath.Join(at, defaultDirName)
			if fi, err := os.Stat(candidate); err == nil && fi.IsDir() {
				d.Dir = relativeTo(wd, candidate)
				d.Looked = nil
				break
			}
			d.Looked = append(d.Looked, at)
			parent := filepath.Dir(at)
			if parent == at {
				break
			}
			at = parent
		}
	}
	if d.StateDir == "" {
		d.StateDir = stateDirName
		if d.Looked == nil {
			abs := d.Dir
			if !filepath.IsAbs(abs) {
				abs = filepath.Join(wd, abs)
			}
			d.StateDir = relativeTo(wd, filepath.Join(filepath.Dir(filepath.Clean(abs)), stateDirName))
		}
	}
	return d
}

// relativeTo returns path relative to wd when that is shorter to read
// (the folder itself, below it, or up to two levels above), else path.
func relativeTo(wd, path string) string {
	rel, err := filepath.Rel(wd, path)
	if err != nil || strings.Count(rel, "..") > 2 {
		return path
	}
	return rel
}

// NotFound is the error for a runbook directory that is not there: where
// it was looked for, and how to name another.
func (d Dirs) NotFound() error {
	if d.Looked == nil {
		return Exitf(exitcode.BadInput, "runbook directory %s does not exist (from --dir or $RUNBOOK_DIR)", d.Dir)
	}
	return Exitf(exitcode.BadInput, "no runbook directory: looked for a %s/ folder in %s\nRun runbook inside a project that has one, or name the directory with --dir DIR or RUNBOOK_DIR=DIR.",
		defaultDirName, joinLooked(d.Looked))
}

// joinLooked lists folders as "a, b and c".
func joinLooked(dirs []string) string {
	if len(dirs) == 1 {
		return dirs[0]
	}
	return strings.Join(dirs[:len(dirs)-1], ", ") + " and " + dirs[len(dirs)-1]
}
