package engine

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/engine/lock"
	"github.com/runbookdev/runbook/engine/redact"
	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/engine/transcript/transcripttest"
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

var vaultOutput = cty.Object(map[string]cty.Type{"text": cty.String})

// vaultSchema declares a sensitive configuration attribute and a sensitive
// action argument, like Prometheus's bearer_token or Langfuse's keys.
var vaultSchema = &plugins.Schema{
	Config: []*plugins.Attribute{{Name: "api_key", Type: cty.String, Sensitive: true}},
	Actions: map[string]*plugins.Action{
		"login": {Name: "login", Output: vaultOutput, Args: []*plugins.Attribute{
			{Name: "user", Type: cty.String, Required: true},
			{Name: "password", Type: cty.String, Required: true, Sensitive: true},
		}},
		"whoami": {Name: "whoami", ReadOnly: true, Output: vaultOutput},
	},
}

// vaultPlugin repeats its secrets the way a careless plugin or server does:
// in errors, in a panic's report, in plans, in progress and in outputs, as
// they are and inside a Basic authorization header.
type vaultPlugin struct{ key string }

func (p *vaultPlugin) Schema(context.Context) (*plugins.Schema, error) { return vaultSchema, nil }

func (p *vaultPlugin) Configure(_ context.Context, cfg cty.Value) error {
	p.key = cfg.GetAttr("api_key").AsString()
	return nil
}

func (p *vaultPlugin) Plan(_ context.Context, req *plugins.ActionRequest) (*plugins.PlanResult, error) {
	pw := req.Args.GetAttr("password").AsString()
	return &plugins.PlanResult{Changes: []string{"log in with " + pw + " and key " + p.key}, Output: cty.UnknownVal(vaultOutput)}, nil
}

func basic(user, pw string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pw))
}

func (p *vaultPlugin) Apply(_ context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	if req.Action == "whoami" {
		req.Progress("using key " + p.key)
		return &plugins.ApplyResult{Output: cty.ObjectVal(map[string]cty.Value{
			"text": cty.StringVal("key=" + p.key + " auth=Basic " + basic("svc", p.key)),
		})}, nil
	}
	user, pw := req.Args.GetAttr("user").AsString(), req.Args.GetAttr("password").AsString()
	return nil, fmt.Errorf("401 from server: key %s rejected, Authorization: Basic %s\npanic: bad password %q\ngoroutine 1 [running]:\nmain.login(%q)", p.key, basic(user, pw), pw, pw)
}

func (p *vaultPlugin) Close() error { return nil }

func loadWith(t testing.TB, src string, builtins ...*plugins.Builtin) (*schema.Config, *schema.Runbook) {
	t.Helper()
	reg, err := plugins.NewRegistry(builtins...)
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := schema.Load([]schema.Source{{Name: "t.hcl", Bytes: []byte(src)}}, schema.Options{Schemas: schema.RegistrySource{Registry: reg}})
	if diags.HasErrors() {
		var sb strings.Builder
		_ = hcl.NewDiagnosticTextWriter(&sb, cfg.Files, 100, false).WriteDiagnostics(diags)
		t.Fatal(sb.String())
	}
	return cfg, cfg.Runbooks[0]
}

// recordRun runs rb with a transcript and returns the transcript's text,
// every event as text, and the result.
func recordRun(t *testing.T, cfg *schema.Config, rb *schema.Runbook, opts ...Option) (string, string, *Result) {
	t.Helper()
	dir := t.TempDir()
	w, err := transcript.Create(dir, "run-1")
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	base := []Option{WithHooks(TranscriptHook(w), rec), WithEnv(func(string) (string, bool) { return "", false }), WithYes(true)}
	res, err := Run(context.Background(), cfg, rb, append(base, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	w.Close()
	b, err := os.ReadFile(filepath.Join(dir, "run-1.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	transcripttest.CheckSchema(t, w.Path())
	var events strings.Builder
	for _, e := range rec.events {
		fmt.Fprintf(&events, "%+v\n", e)
	}
	return string(b), events.String(), res
}

// assertHidden fails if any text holds a secret, or the part of one of its
// base64 encodings that depends on the secret alone.
func assertHidden(t *testing.T, texts map[string]string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		forms := []string{s}
		for _, f := range redact.Base64Forms(s) {
			if len(f) >= 8 {
				// Shorter ones occur by chance.
				forms = append(forms, f[1:len(f)-1])
			}
		}
		for where, text := range texts {
			for _, f := range forms {
				if strings.Contains(text, f) {
					t.Errorf("%s holds %q (a form of %q):\n%s", where, f, s, text)
				}
			}
		}
	}
}

// TestPluginSecretsMasked: what a plugin's schema marks sensitive — a
// configuration attribute, an action argument given literally — is masked
// everywhere, also when the plugin repeats it in an error, a panic's
// report, a plan, progress or an output, and inside base64.
func TestPluginSecretsMasked(t *testing.T) {
	const key, password = "k3y-from-config-0123", "literal-passw0rd-456"
	src := `plugin "vault" {
  api_key = "` + key + `"
}
runbook "rb" {
  owner = "t"
  step "who" {
    action "vault.whoami" {}
  }
  step "login" {
    action "vault.login" {
      user     = "svc"
      password = "` + password + `"
    }
  }
}`
	for _, dry := range []bool{false, true} {
		t.Run(fmt.Sprintf("dry-run=%v", dry), func(t *testing.T) {
			cfg, rb := loadWith(t, src, &plugins.Builtin{Name: "vault", Schema: vaultSchema})
			tr, events, res := recordRun(t, cfg, rb, WithPlugins(InProcess{"vault": &vaultPlugin{}}), WithDryRun(dry))
			if !dry && res.Status != StatusFailed {
				t.Errorf("status %s, want failed", res.Status)
			}
			if !strings.Contains(tr, redact.Marker) {
				t.Error("nothing was masked")
			}
			assertHidden(t, map[string]string{"transcript": tr, "events": events, "reason": res.Reason}, key, password)
		})
	}
}

// TestDerivedSecretsHidden: a value computed from a sensitive one is shown
// as "(sensitive)" in a confirmation, a manual step and an error message,
// masked where a plugin repeats it, and not quoted by a function's error.
func TestDerivedSecretsHidden(t *testing.T) {
	const token = "Hunter2-Secret/Token+abc"
	src := `runbook "rb" {
  owner = "t"
  variable "token" {
    sensitive = true
  }
  step "ask" {
    manual  = "Paste ${replace(var.token, "-", "_")} into the console"
  }
  step "echo" {
    confirm = "Use ${substr(var.token, 0, 14)} and ${upper(var.token)}?"
    action "kv.echo" {
      key = strrev(var.token)
    }
    expect {
      condition     = output.value == "x"
      error_message = "got ${output.value}, want ${lower(var.token)}"
    }
    on_failure = "continue"
  }
  step "bad" {
    precondition {
      condition     = tonumber(title(lower(var.token))) > 1
      error_message = "never"
    }
    manual = "never"
  }
}`
	cfg, rb := load(t, src)
	tr, events, res := recordRun(t, cfg, rb, WithPlugins(InProcess{"kv": newKV()}), WithVars(map[string]string{"token": token}))
	if res.Status != StatusFailed {
		t.Errorf("status %s, want failed", res.Status)
	}
	for _, want := range []string{"Use (sensitive) and (sensitive)?", "Paste (sensitive) into the console", "want (sensitive)"} {
		if !strings.Contains(tr, want) {
			t.Errorf("the transcript does not say %q:\n%s", want, tr)
		}
	}
	texts := map[string]string{"transcript": tr, "events": events, "reason": res.Reason}
	assertHidden(t, texts, token, "Hunter2-Secret", "HUNTER2-SECRET/TOKEN+ABC", "Hunter2_Secret/Token+abc",
		"cba+nekoT/terceS-2retnuH", "hunter2-secret/token+abc", "Hunter2-Secret/Token+Abc")
}

// TestBadSensitiveInputNotQuoted: a sensitive variable given a value of the
// wrong type is refused without the value in the error.
func TestBadSensitiveInputNotQuoted(t *testing.T) {
	cfg, rb := load(t, `runbook "rb" {
  owner = "t"
  variable "pin" {
    type      = number
    sensitive = true
  }
  step "s" {
    manual = "x"
  }
}`)
	for _, bad := range []string{"hunter2-pin", "[hunter2-pin"} {
		_, err := Run(context.Background(), cfg, rb, WithVars(map[string]string{"pin": bad}), WithEnv(func(string) (string, bool) { return "", false }))
		if err == nil || strings.Contains(err.Error(), "hunter2") {
			t.Errorf("--var pin=%s: %v", bad, err)
		}
	}
}

// TestSensitiveLockName: a lock named after a sensitive value records,
// shows and names its file by a digest of it; two runs with the same value
// still exclude each other, and runs with different values do not.
func TestSensitiveLockName(t *testing.T) {
	const token = "tenant-secret-4711"
	cfg, rb := load(t, `runbook "rb" {
  owner = "t"
  lock  = "tenant/${var.token}"
  variable "token" {
    sensitive = true
  }
  step "s" {
    manual = "go"
  }
}`)
	dir := t.TempDir()
	locker := lock.NewFile(dir)
	held, err := locker.Acquire(context.Background(), "tenant/"+lockDigest(cty.StringVal(token)), lock.Holder{RunID: "other"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), cfg, rb, WithLocker(locker, 0), WithVars(map[string]string{"token": token}), WithYes(true),
		WithEnv(func(string) (string, bool) { return "", false }))
	var he *lock.HeldError
	if !errors.As(err, &he) {
		t.Fatalf("a run with the same token: %v, want the lock held", err)
	}
	texts := map[string]string{"held by": err.Error()}
	held.Release()

	tr, events, res := recordRun(t, cfg, rb, WithLocker(locker, 0), WithVars(map[string]string{"token": token}))
	if res.Status != StatusSucceeded {
		t.Fatalf("status %s: %s", res.Status, res.Reason)
	}
	if !strings.Contains(tr, `"lock":"tenant/sha256-`) {
		t.Errorf("run_started does not name the lock by its digest:\n%s", tr)
	}
	texts["transcript"], texts["events"] = tr, events
	names, _ := filepath.Glob(filepath.Join(dir, "*"))
	texts["lock files"] = strings.Join(names, "\n")
	assertHidden(t, texts, token)

	other, err := locker.Acquire(context.Background(), "tenant/"+lockDigest(cty.StringVal(token)), lock.Holder{RunID: "other"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Release()
	if _, err := Run(context.Background(), cfg, rb, WithLocker(locker, 0), WithVars(map[string]string{"token": "another-tenant"}), WithYes(true),
		WithEnv(func(string) (string, bool) { return "", false })); err != nil {
		t.Errorf("a run with another token: %v", err)
	}
}

func TestPasswordsInConnectionStrings(t *testing.T) {
	tests := map[string][]string{
		"postgres://runbook:s3cret-pw@db:5432/rag":           {"s3cret-pw"},
		"host=db user=runbook password='s3cret pw' dbname=x": {"s3cret pw"},
		"host=db user=runbook password=s3cret-pw":            {"s3cret-pw"},
		"https://example.com/x":                              nil,
		"plain-token":                                        nil,
	}
	for in, want := range tests {
		if got := passwordsIn(in); strings.Join(got, "|") != strings.Join(want, "|") {
			t.Errorf("passwordsIn(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestDerivedBoolNotMasked: a bool computed from a secret and spelled out
// is shown as (sensitive) where it is put, but does not mask every "true"
// and "false" a plugin prints.
func TestDerivedBoolNotMasked(t *testing.T) {
	cfg, rb := load(t, `runbook "rb" {
  owner = "t"
  variable "token" {
    sensitive = true
  }
  step "echo" {
    confirm = "Has x: ${tostring(strcontains(var.token, "x"))}?"
    action "kv.echo" {
      key = "false"
    }
  }
}`)
	tr, _, res := recordRun(t, cfg, rb, WithPlugins(InProcess{"kv": newKV()}), WithVars(map[string]string{"token": "Hunter2-Secret"}))
	if res.Status != StatusSucceeded {
		t.Fatalf("status %s: %s", res.Status, res.Reason)
	}
	if !strings.Contains(tr, "Has x: (sensitive)?") || !strings.Contains(tr, `"got false"`) {
		t.Errorf("transcript:\n%s", tr)
	}
}

// TestOperatorsOnSecretsMasked: a value computed from a secret by an
// operator rather than a function, inside a longer argument, is masked
// where the plugin repeats it.
func TestOperatorsOnSecretsMasked(t *testing.T) {
	cfg, rb := load(t, `runbook "rb" {
  owner = "t"
  variable "pin" {
    type      = number
    sensitive = true
  }
  step "echo" {
    action "kv.echo" {
      key = "pin=${var.pin * 3 + 1} next=${var.pin > 0 ? var.pin + 1 : 0}"
    }
  }
}`)
	tr, events, res := recordRun(t, cfg, rb, WithPlugins(InProcess{"kv": &echoFields{newKV()}}), WithVars(map[string]string{"pin": "9417352861"}))
	if res.Status != StatusSucceeded {
		t.Fatalf("status %s: %s", res.Status, res.Reason)
	}
	if !strings.Contains(tr, "next=") {
		t.Fatalf("the plugin's output is not in the transcript:\n%s", tr)
	}
	// Ten digits: a short number could turn up in a hash or a time stamp.
	assertHidden(t, map[string]string{"transcript": tr, "events": events}, "9417352861", "28252058584", "9417352862")
}

// echoFields returns the words of its key in reverse order: parts of its
// argument, never all of it.
type echoFields struct{ *kvPlugin }

func (p *echoFields) Apply(_ context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	words := strings.Fields(req.Args.GetAttr("key").AsString())
	slices.Reverse(words)
	return &plugins.ApplyResult{Output: cty.ObjectVal(map[string]cty.Value{
		"key": cty.StringVal(""), "value": cty.StringVal(strings.Join(words, " | ")), "version": cty.NumberIntVal(0),
	})}, nil
}
