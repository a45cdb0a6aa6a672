package schema

import (
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

const notifyRunbook = `
runbook "rb" {
  owner = "team"
  variable "channel" { default = "ops" }
  %s
  step "s" { manual = "do it" }
}
`

func TestNotifyChecks(t *testing.T) {
	for _, tc := range []struct {
		name   string
		shared string // a second file's content
		own    string // inside the runbook
		want   []string
		line   int  // of the first error, in its file
		warn   bool // want a warning, not an error
		secret string
	}{
		{name: "valid", shared: `notify "ops" {
  type = "slack"
  url  = env("SLACK_WEBHOOK_URL")
}`, own: `notify "hook" {
    type = "webhook"
    url = "https://hooks.example.com/${var.channel}"
    on = ["failed"]
    dry_run = true
  }`},
		{name: "unknown type", own: `notify "n" {
    type = "slak"
    url = env("X")
  }`, want: []string{"Invalid notify type", "Did you mean slack?"}, line: 6},
		{name: "unknown event", own: `notify "n" {
    type = "webhook"
    url = env("X")
    on = ["started", "faild"]
  }`, want: []string{"Unknown notify event", `"faild"`, "Did you mean failed?"}, line: 8},
		{name: "empty on", own: `notify "n" {
    type = "webhook"
    url = env("X")
    on = []
  }`, want: []string{"Empty on"}, line: 8},
		{name: "on not a list", own: `notify "n" {
    type = "webhook"
    url = env("X")
    on = var.channel
  }`, want: []string{"Invalid on"}, line: 8},
		{name: "missing url", own: `notify "n" {
    type = "webhook"
  }`, want: []string{"Missing required argument"}, line: 5},
		{name: "not http", own: `notify "n" {
    type = "webhook"
    url = "ftp://files.example.com/secret-path"
  }`, want: []string{"Invalid notify url", `notify "n"`}, line: 7, secret: "secret-path"},
		{name: "not a URL", own: `notify "n" {
    type = "webhook"
    url = "hooks.example.com/secret-path"
  }`, want: []string{"Invalid notify url"}, line: 7, secret: "secret-path"},
		{name: "slack URL in the source", own: `notify "n" {
    type = "slack"
    url = "https://hooks.slack.example/services/T0/B0/secret-path"
  }`, want: []string{"Slack webhook URL in the source", `env("SLACK_WEBHOOK_URL")`}, line: 7, warn: true, secret: "secret-path"},
		{name: "undeclared variable", own: `notify "n" {
    type = "webhook"
    url = "https://example.com/${var.chanel}"
  }`, want: []string{"undeclared variable", "Did you mean var.channel?"}, line: 7},
		{name: "a step reference", own: `notify "n" {
    type = "webhook"
    url = step.s.output.confirmed_by
  }`, want: []string{"Reference not allowed here", `url of notify "n"`}, line: 7},
		{name: "duplicate in a runbook", own: `notify "n" {
    type = "webhook"
    url = env("A")
  }
  notify "n" {
    type = "webhook"
    url = env("B")
  }`, want: []string{"Duplicate notify"}, line: 9},
		{name: "duplicate shared", shared: `notify "n" {
  type = "webhook"
  url = env("A")
}
notify "n" {
  type = "webhook"
  url = env("B")
}`, want: []string{"Duplicate notify"}, line: 5},
		{name: "shared block with a variable a runbook lacks", shared: `notify "n" {
  type = "webhook"
  url = "https://example.com/${var.region}"
}`, want: []string{`Runbook "rb" declares no variable "region"`}, line: 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srcs := []Source{{Name: "rb.hcl", Bytes: []byte(strings.Replace(notifyRunbook, "%s", tc.own, 1))}}
			if tc.shared != "" {
				srcs = append(srcs, Source{Name: "shared.hcl", Bytes: []byte(tc.shared)})
			}
			for _, load := range []func([]Source, Options) (*Config, hcl.Diagnostics){Load, Validate} {
				_, diags := load(srcs, Options{})
				checkNotifyDiags(t, diags, tc.want, tc.line, tc.warn, tc.secret)
			}
		})
	}
}

func checkNotifyDiags(t *testing.T, diags hcl.Diagnostics, want []string, line int, warn bool, secret string) {
	t.Helper()
	severity := hcl.DiagError
	if warn {
		severity = hcl.DiagWarning
	}
	var got hcl.Diagnostics
	for _, d := range diags {
		if d.Severity == hcl.DiagError || d.Severity == severity {
			got = append(got, d)
		}
	}
	if len(want) == 0 {
		if len(got) > 0 {
			t.Fatalf("unexpected diagnostics: %v", got)
		}
		return
	}
	if len(got) == 0 || got[0].Severity != severity {
		t.Fatalf("diagnostics %v, want %q", got, want)
	}
	text := got[0].Summary + ": " + got[0].Detail
	for _, w := range want {
		if !strings.Contains(text, w) {
			t.Errorf("diagnostic %q does not say %q", text, w)
		}
	}
	if got[0].Subject == nil || got[0].Subject.Start.Line != line {
		t.Errorf("diagnostic at %v, want line %d", got[0].Subject, line)
	}
	if secret != "" && strings.Contains(text, secret) {
		t.Errorf("diagnostic %q quotes the url", text)
	}
}

func TestNotifyDecoded(t *testing.T) {
	shared := `
notify "ops" {
  type = "slack"
  url  = env("SLACK_WEBHOOK_URL")
}
notify "audit" {
  type = "webhook"
  url  = env("AUDIT_URL")
  on   = ["succeeded", "started", "started"]
}
`
	own := `notify "ops" {
    type = "webhook"
    url = env("OPS_URL")
    dry_run = true
  }`
	cfg, diags := Load([]Source{
		{Name: "a.hcl", Bytes: []byte(shared)},
		{Name: "rb.hcl", Bytes: []byte(strings.Replace(notifyRunbook, "%s", own, 1))},
	}, Options{})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(cfg.Notify) != 2 {
		t.Fatalf("shared blocks %d, want 2", len(cfg.Notify))
	}
	if got := cfg.Notify[0]; got.Name != "ops" || got.Type != NotifySlack || !slices.Equal(got.On, NotifyEvents) || got.DryRun {
		t.Errorf("ops = %+v, want a slack block for every event, not in dry-runs", got)
	}
	if got := cfg.Notify[1].On; !slices.Equal(got, []string{NotifyStarted, NotifySucceeded}) {
		t.Errorf("audit on = %v, want started and succeeded once each, in event order", got)
	}
	var names, types []string
	for _, n := range cfg.NotifyFor(cfg.Runbook("rb")) {
		names, types = append(names, n.Name), append(types, n.Type)
	}
	if !slices.Equal(names, []string{"audit", "ops"}) || !slices.Equal(types, []string{NotifyWebhook, NotifyWebhook}) {
		t.Errorf("NotifyFor = %v %v, want the shared audit and the runbook's own ops in place of the shared one", names, types)
	}
}
