package grpcplugin_test

import (
	"context"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/builtin"
	"github.com/runbookdev/runbook/plugins/grpcplugin"
)

// TestBuiltinsOverTheProtocol drives every built-in plugin that has an
// implementation through the real gRPC layer: the schema it reports must be
// the one the registry holds (validate uses the registry's without starting
// anything), and Plan with every argument unknown (what a dry-run sends
// when arguments depend on steps that have not run) must be answered by
// the plugin, never break the connection, and predict an output of the
// declared type.
func TestBuiltinsOverTheProtocol(t *testing.T) {
	reg := builtin.Registry()
	for _, name := range reg.Names() {
		b := reg.Builtin(name)
		if b.New == nil {
			continue
		}
		t.Run(name, func(t *testing.T) {
			impl := b.New()
			t.Cleanup(func() { _ = impl.Close() })
			c := grpcplugin.TestClient(t, impl)
			ctx := context.Background()
			got, err := c.Schema(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(b.Schema, got, ctyCmp...); diff != "" {
				t.Errorf("schema over the protocol differs from the registry's (-registry +plugin):\n%s", diff)
			}
			for _, an := range got.ActionNames() {
				a := got.Actions[an]
				res, err := c.Plan(ctx, &plugins.ActionRequest{Action: an, Args: cty.UnknownVal(a.ArgsType())})
				var connErr *grpcplugin.ConnError
				if errors.As(err, &connErr) {
					t.Errorf("%s.%s: plan with unknown arguments broke the connection: %v", name, an, err)
					continue
				}
				if err != nil {
					// A plugin may refuse (it is not configured); it must
					// say so as an error, which it did.
					continue
				}
				if errs := res.Output.Type().TestConformance(a.Output); errs != nil && a.Output != cty.DynamicPseudoType {
					t.Errorf("%s.%s: predicted output %s does not conform to %s", name, an, res.Output.Type().FriendlyName(), a.Output.FriendlyName())
				}
			}
		})
	}
}
