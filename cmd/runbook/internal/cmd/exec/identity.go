package exec

import (
	"strings"
	"time"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/identity"
	"github.com/runbookdev/runbook/schema"
)

// operatorIdentity finds the operator's key when the runbook directory has
// an allowed_signers file (docs/approvals.md): --key, or else the first key
// in ssh-agent that the file lists. A real run without one is refused
// before anything runs; a dry-run changes nothing and signs nothing, and
// an agent's run is unverified.
func operatorIdentity(opts *Options, cfg *schema.Config) (*engine.Identity, error) {
	if cfg.Signers == nil || opts.DryRun || opts.Agent != "" {
		return nil, nil
	}
	var keys []*identity.Key
	if opts.Key != "" {
		k, err := identity.LoadKey(opts.Key)
		if err != nil {
			return nil, cmdutil.Exitf(exitcode.BadInput, "--key: %s", err)
		}
		keys = []*identity.Key{k}
	} else {
		var err error
		if keys, err = identity.AgentKeys(); err != nil {
			return nil, cmdutil.Exitf(exitcode.BadInput, "reading ssh-agent: %s; pass your key with --key FILE", err)
		}
	}
	now := time.Now()
	var tried []string
	for _, k := range keys {
		if ps := cfg.Signers.Principals(k.Signer.PublicKey(), identity.Namespace, now); len(ps) > 0 {
			return &engine.Identity{Principal: ps[0], Key: k}, nil
		}
		tried = append(tried, k.Fingerprint()+" ("+k.Source+")")
	}
	where := cfg.Signers.Filename
	if len(tried) == 0 {
		return nil, cmdutil.Exitf(exitcode.BadInput,
			"%s lists who may run these runbooks, and a run is signed with the operator's SSH key: pass it with --key FILE, or add it to ssh-agent", where)
	}
	return nil, cmdutil.Exitf(exitcode.BadInput,
		"%s lists who may run these runbooks, and does not list %s for namespace %q; ask for your public key to be added, or pass another with --key FILE",
		where, strings.Join(tried, ", "), identity.Namespace)
}

// approvalOptions are the engine options of the operator's identity and,
// with a store, of approvals.
func approvalOptions(opts *Options, cfg *schema.Config, id *engine.Identity, broker engine.ApprovalBroker) []engine.Option {
	var o []engine.Option
	if id != nil {
		o = append(o, engine.WithIdentity(id))
	}
	if broker != nil && cfg.Signers != nil {
		o = append(o, engine.WithApprovals(broker, &engine.SignersVerifier{Signers: cfg.Signers, Operator: id}))
	}
	return o
}

// checkAgentFlags refuses, before anything runs, an agent's run with flags
// that would let it act on its own, and a run id not shaped like those
// runbook makes.
func (o *Options) checkAgentFlags() error {
	if o.RunID != "" && !engine.ValidRunID(o.RunID) {
		return cmdutil.Exitf(exitcode.BadInput, "--run-id %q is not a run id as runbook makes them (like 20261126T140000Z-0a1b2c)", o.RunID)
	}
	if o.Agent == "" {
		return nil
	}
	switch {
	case !engine.ValidAgentName(o.Agent):
		return cmdutil.Exitf(exitcode.BadInput, "--agent %q: an agent's name is 1 to 64 letters, digits, '.', '_' or '-'", o.Agent)
	case o.Yes:
		return cmdutil.Exitf(exitcode.BadInput, "exec --agent: an agent's run waits for people's approvals; it cannot take --yes")
	case o.Key != "":
		return cmdutil.Exitf(exitcode.BadInput, "exec --agent: an agent's run is unverified; it is not signed with --key")
	case o.Resume != "":
		return cmdutil.Exitf(exitcode.BadInput, "exec --agent: an agent's run cannot --resume another run; request a new run")
	}
	return nil
}
