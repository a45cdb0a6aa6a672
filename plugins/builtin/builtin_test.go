package builtin

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runbookdev/runbook/plugins"
)

// The built-in plugins and actions are part of the contract (docs/builtins.md).
func TestContract(t *testing.T) {
	reg := Registry()
	want := map[string]map[string]bool{
		"prompt":     {"status": true, "publish": false, "rollback": false, "promote": false},
		"fallback":   {"status": true, "activate": false, "deactivate": false},
		"index":      {"status": true, "rebuild": false, "rollback": false},
		"shell":      {"run": false},
		"http":       {"request": false},
		"prometheus": {"query": true},
	}
	if len(reg.Names()) != len(want) {
		t.Errorf("plugins %v, want %d", reg.Names(), len(want))
	}
	for plugin, actions := range want {
		b := reg.Builtin(plugin)
		if b == nil {
			t.Errorf("plugin %s missing", plugin)
			continue
		}
		if len(b.Schema.Actions) != len(actions) {
			t.Errorf("%s actions %v, want %d", plugin, b.Schema.ActionNames(), len(actions))
		}
		for name, readOnly := range actions {
			a := b.Schema.Actions[name]
			if a == nil {
				t.Errorf("%s.%s missing", plugin, name)
				continue
			}
			if a.ReadOnly != readOnly {
				t.Errorf("%s.%s read-only = %v, want %v", plugin, name, a.ReadOnly, readOnly)
			}
			if !a.Output.IsObjectType() {
				t.Errorf("%s.%s output is %s, want an object", plugin, name, a.Output.FriendlyName())
			}
		}
	}
	for _, rule := range []struct{ plugin, action, arg string }{
		{"shell", "run", "read_only"}, {"http", "request", "method"},
	} {
		a := reg.Builtin(rule.plugin).Schema.Actions[rule.action]
		if a.ReadOnlyWhen == nil || a.ReadOnlyWhen.Arg != rule.arg {
			t.Errorf("%s.%s should be read-only by %s", rule.plugin, rule.action, rule.arg)
		}
	}
}

// The validators of the built-ins, by plugin.attribute (config) and
// plugin.action.argument: validate refuses what they refuse, so each is
// part of the contract.
func TestValidators(t *testing.T) {
	want := map[string]string{
		"prompt.backend":       "one of \"file\", \"langfuse\"",
		"prompt.url":           "URL (http, https)",
		"prompt.timeout":       "positive duration",
		"http.request.url":     "URL (http, https)",
		"http.request.timeout": "positive duration",
		"prometheus.url":       "URL (http, https)",
		"prometheus.timeout":   "positive duration",
	}
	got := map[string]string{}
	add := func(prefix string, attrs []*plugins.Attribute) {
		for _, a := range attrs {
			var vs []string
			for _, v := range a.Validators {
				vs = append(vs, v.String())
			}
			if len(vs) > 0 {
				got[prefix+a.Name] = strings.Join(vs, "; ")
			}
		}
	}
	for _, b := range Plugins() {
		add(b.Name+".", b.Schema.Config)
		for _, name := range b.Schema.ActionNames() {
			add(b.Name+"."+name+".", b.Schema.Actions[name].Args)
		}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("validators (-want +got):\n%s", diff)
	}
}
