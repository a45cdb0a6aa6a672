package schema

import (
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/pluginversion"
	"github.com/runbookdev/runbook/schema/signers"
)

// Config is a loaded runbook directory (or set of files).
type Config struct {
	// Files holds every parsed file by name, for diagnostics with snippets.
	Files map[string]*hcl.File
	// Runbooks in name order.
	Runbooks []*Runbook
	// Plugins declared with `plugin` blocks, by name.
	Plugins map[string]*PluginDecl
	// Schemas of every plugin the runbooks use, by name, where known.
	Schemas map[string]*plugins.Schema
	// Versions of the external plugins, by name, as each reported it
	// (exec) or as the lock file recorded it (every other command); absent
	// where the schema source does not say (see VersionSource).
	Versions map[string]string
	// Validated counts the runbooks checked, by name (Validate keeps no
	// Runbooks).
	Validated int
	// Tests are the test blocks of the *.test.hcl files, in file order.
	Tests []*TestCase
	// Declared locates every runbook by name, kept by Validate too.
	Declared map[string]hcl.Range
	// Summaries are the runbooks' catalogue entries in name order, kept by
	// Validate too.
	Summaries []RunbookSummary
	// Teams are the `team` blocks, by name.
	Teams map[string]*Team
	// Signers is the runbook directory's allowed_signers file; nil when
	// it has none.
	Signers *signers.File
	// Notify are the top-level notify blocks, which apply to every
	// runbook of the directory (NotifyFor), in file order.
	Notify []*Notify
}

// Runbook returns the runbook named name, or nil.
func (c *Config) Runbook(name string) *Runbook {
	for _, rb := range c.Runbooks {
		if rb.Name == name {
			return rb
		}
	}
	return nil
}

// Source returns the source text a range covers, or "".
func (c *Config) Source(rng hcl.Range) string {
	f := c.Files[rng.Filename]
	if f == nil || rng.Start.Byte < 0 || rng.End.Byte > len(f.Bytes) || rng.Start.Byte > rng.End.Byte {
		return ""
	}
	return string(f.Bytes[rng.Start.Byte:rng.End.Byte])
}

// PluginDecl is a `plugin "NAME" { … }` block.
type PluginDecl struct {
	Name string
	// Source is the path of an external plugin binary ("" for a built-in),
	// resolved against the declaring file's folder.
	Source string
	SHA256 string
	// Version constrains the version an external plugin reports
	// (`version = ">= 0.2, < 1.0"`); nil when the block sets none.
	Version      *pluginversion.Constraints
	VersionRange hcl.Range
	// DevOverride says that Source and SHA256 come from a development
	// override (Options.DevOverrides), not from the block.
	DevOverride bool
	// Config holds the attributes that go to the plugin.
	Config hcl.Body
	// Dir is the folder of the declaring file: relative paths resolve against it.
	Dir       string
	DeclRange hcl.Range
}

// External reports whether the block declares an external plugin (a
// binary of its own, run as a process) rather than configuring a built-in:
// the one place that tells the two apart.
func (p *PluginDecl) External() bool { return p != nil && p.Source != "" }

// Runbook is a `runbook "NAME" { … }` block.
type Runbook struct {
	Name        string
	Description string
	Owner       string
	Tags        []string
	// Lock is the lock name expression; nil means the runbook's name.
	Lock      hcl.Expression
	Variables []*Variable
	Steps     []*Step
	// Notify are the runbook's own notify blocks.
	Notify []*Notify
	// Filename is the file that holds the block.
	Filename  string
	DeclRange hcl.Range
}

// Variable returns the variable named name, or nil.
func (rb *Runbook) Variable(name string) *Variable {
	for _, v := range rb.Variables {
		if v.Name == name {
			return v
		}
	}
	return nil
}

// Step returns the step named name, or nil.
func (rb *Runbook) Step(name string) *Step {
	for _, s := range rb.Steps {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Variable is a `variable "NAME" { … }` block.
type Variable struct {
	Name        string
	Description string
	// Type is the declared type constraint (cty.DynamicPseudoType for `any`).
	Type cty.Type
	// Default is nil when the variable is required.
	Default     hcl.Expression
	Sensitive   bool
	Validations []*Check
	DeclRange   hcl.Range
}

// Required reports whether a value must be given.
func (v *Variable) Required() bool { return v.Default == nil }

// Check is a condition with the message shown when it does not hold:
// `validation`, `precondition` and (embedded in Expect) `expect` blocks.
type Check struct {
	Condition    hcl.Expression
	ErrorMessage hcl.Expression
	DeclRange    hcl.Range
}

// Expect is an `expect` block: a check on the step's output, optionally
// polled until it holds.
type Expect struct {
	Check
	// Within is how long to keep re-running a read-only action until the
	// condition holds; zero means check once.
	Within time.Duration
	// Every is the polling interval while Within runs.
	Every time.Duration
	// WithinRange locates the within attribute, when set.
	WithinRange hcl.Range
}

// Retry is a `retry { attempts, delay }` block.
type Retry struct {
	Attempts  int
	Delay     time.Duration
	DeclRange hcl.Range
}

// OnFailure values.
const (
	OnFailureAbort    = "abort"
	OnFailureContinue = "continue"
)

// Defaults of the language.
const (
	DefaultTimeout = 5 * time.Minute
	DefaultEvery   = 10 * time.Second
)

// Step is a `step "NAME" { … }` block.
type Step struct {
	Name        string
	Description string
	// Owner is the step's owner, or the runbook's when the step names none.
	Owner string
	// When is nil when the step always runs.
	When          hcl.Expression
	Preconditions []*Check
	// Confirm is nil when no confirmation is asked.
	Confirm hcl.Expression
	// Approval is nil when the confirmation is the operator's alone.
	Approval *Approval
	// Exactly one of Action and Manual is set in a valid runbook.
	Action    *ActionCall
	Manual    hcl.Expression
	Expects   []*Expect
	Timeout   time.Duration
	Retry     *Retry
	OnFailure string
	DeclRange hcl.Range
}

// ActionCall is an `action "PLUGIN.ACTION" { … }` block.
type ActionCall struct {
	Plugin string
	Name   string
	// Body holds the arguments, decoded against the action's schema when run.
	Body hcl.Body
	// Schema is the action's schema, when the plugin is known.
	Schema     *plugins.Action
	DeclRange  hcl.Range
	LabelRange hcl.Range
}

// FullName is "PLUGIN.ACTION".
func (a *ActionCall) FullName() string { return a.Plugin + "." + a.Name }

// ManualOutputType is the output of a manual step.
var ManualOutputType = cty.Object(map[string]cty.Type{
	"confirmed_by": cty.String,
	"confirmed_at": cty.String,
})

// RunType is the type of the `run` object expressions see.
var RunType = cty.Object(map[string]cty.Type{
	"id":       cty.String,
	"operator": cty.String,
	"dry_run":  cty.Bool,
})
