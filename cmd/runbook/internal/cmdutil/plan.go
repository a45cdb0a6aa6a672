package cmdutil

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/plugins/safefile"
)

// ReadPlan reads a saved plan file.
func ReadPlan(path string) (*engine.ApplyPlan, error) {
	b, err := safefile.ReadFile(path, engine.MaxPlanSize)
	if err != nil {
		return nil, Exitf(exitcode.BadInput, "--plan: %s", err)
	}
	p, err := engine.ParsePlan(b)
	if err != nil {
		return nil, Exitf(exitcode.BadInput, "--plan %s: %s", path, err)
	}
	sum := sha256.Sum256(b)
	return &engine.ApplyPlan{Plan: p, SHA256: hex.EncodeToString(sum[:])}, nil
}
