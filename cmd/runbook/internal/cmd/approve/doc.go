// Package approve is `runbook approve` and `runbook deny`: answer, from
// any machine with the transcript store, a step that waits for other
// people's approval, with a signature made by the answerer's SSH key
// (docs/store.md; the running exec checks it against its allowed signers).
package approve
