package prompt

import (
	"testing"

	"github.com/runbookdev/runbook/plugins/prompt/langfusetest"
)

// newFakeLangfuse starts the Langfuse model (langfusetest.NewServer) for
// the test, closed when it ends. Its URL leads through Prism, which holds
// the traffic to Langfuse's API spec (prism_test.go), where Prism is
// installed.
func newFakeLangfuse(t *testing.T) *langfusetest.Server {
	t.Helper()
	f := langfusetest.NewServer()
	t.Cleanup(f.Close)
	if c := theChain(t); c != nil {
		c.register(t, f)
	}
	return f
}

// checkInvariants fails when the model breaks a rule of Langfuse's: a label
// on two versions of a prompt, or "latest" not on exactly the newest.
func checkInvariants(t *testing.T, f *langfusetest.Server) {
	t.Helper()
	for _, problem := range f.Invariants() {
		t.Error(problem)
	}
}
