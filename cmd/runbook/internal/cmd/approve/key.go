package approve

import (
	"fmt"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/identity"
)

// signingKey is the key that signs the answer: the one --key names
// (path), else the first key ssh-agent holds. Neither is exit 2.
func signingKey(path string) (*identity.Key, error) {
	if path != "" {
		k, err := identity.LoadKey(path)
		if err != nil {
			return nil, cmdutil.Exitf(exitcode.BadInput, "--key %s: %s", text.VisibleLine(path), text.VisibleLine(err.Error()))
		}
		return k, nil
	}
	keys, err := identity.AgentKeys()
	if err != nil {
		return nil, cmdutil.Exitf(exitcode.BadInput, "%s\nPass --key FILE to sign with a key file.", text.VisibleLine(err.Error()))
	}
	if len(keys) == 0 {
		return nil, cmdutil.Exitf(exitcode.BadInput, "no SSH key to sign the answer with: pass --key FILE, or start ssh-agent and add your key (ssh-add)")
	}
	return keys[0], nil
}

// sign is the armored SSH signature of message by k.
func sign(k *identity.Key, message []byte) (string, error) {
	sig, err := identity.Sign(k, message)
	if err != nil {
		return "", fmt.Errorf("sign with %s (%s): %w", k.Fingerprint(), k.Source, err)
	}
	return sig, nil
}
