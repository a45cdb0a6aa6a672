package builtin

import (
	"slices"
	"strings"
	"testing"

	"github.com/runbookdev/runbook/docs/doccheck"
)

// docs/builtins.md documents every built-in plugin and action from the
// registry: a section per plugin naming each configuration attribute, and
// a section per action naming each argument and output attribute and
// saying whether it changes state. An action, argument or output added to
// a built-in fails this test until it is documented.
func TestBuiltinsDocumented(t *testing.T) {
	page := doccheck.Load(t, "builtins.md")
	for _, b := range Plugins() {
		section, ok := page.Find(b.Name)
		if !ok {
			t.Errorf("docs/builtins.md: no heading names plugin %q", b.Name)
			continue
		}
		for _, a := range b.Schema.Config {
			if !doccheck.Mentions(section.Body, a.Name) {
				t.Errorf("docs/builtins.md, %q: configuration attribute %s.%s is not documented", section.Heading, b.Name, a.Name)
			}
		}
		for _, name := range b.Schema.ActionNames() {
			action := b.Schema.Actions[name]
			full := b.Name + "." + name
			as, ok := page.Find(full)
			if !ok {
				t.Errorf("docs/builtins.md: no heading names action %s", full)
				continue
			}
			if !strings.Contains(section.Body, as.Body) {
				t.Errorf("docs/builtins.md: action %s is not under its plugin's section %q", full, section.Heading)
			}
			for _, arg := range action.Args {
				if !doccheck.Mentions(as.Body, arg.Name) {
					t.Errorf("docs/builtins.md, %q: argument %s of %s is not documented", as.Heading, arg.Name, full)
				}
			}
			if !action.Output.IsObjectType() {
				t.Errorf("%s: output is %s, not an object", full, action.Output.FriendlyName())
				continue
			}
			var outs []string
			for attr := range action.Output.AttributeTypes() {
				outs = append(outs, attr)
			}
			slices.Sort(outs)
			for _, attr := range outs {
				if !doccheck.Mentions(as.Body, attr) {
					t.Errorf("docs/builtins.md, %q: output %s of %s is not documented", as.Heading, attr, full)
				}
			}
			var kind string
			switch {
			case action.ReadOnlyWhen != nil:
				kind = "read-only when"
			case action.ReadOnly:
				kind = "read-only"
			default:
				kind = "mutating"
			}
			if !strings.Contains(as.Body, kind) {
				t.Errorf("docs/builtins.md, %q: does not say %s is %s", as.Heading, full, kind)
			}
		}
	}
}
