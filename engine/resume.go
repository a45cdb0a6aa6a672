package engine

import "encoding/json"

// Resume is what a resumed run takes from the run it continues (docs/execution.md, "Resume").
type Resume struct {
	// RunID of the earlier run.
	RunID string
	// Steps the earlier run recorded, by step name.
	Steps map[string]ResumedStep
	// Vars are the earlier run's recorded variable values; sensitive ones
	// were recorded as "(sensitive)" and must be given again.
	Vars map[string]json.RawMessage
}

// ResumedStep is what the earlier run recorded of a step.
type ResumedStep struct {
	// Status is the recorded status, or "unknown": the step started and
	// its result was never recorded.
	Status string
	// Output is the recorded output, as JSON.
	Output json.RawMessage
}
