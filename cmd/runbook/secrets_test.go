package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/rogpeppe/go-internal/testscript"
	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/runbookdev/runbook/engine/redact"
	"github.com/runbookdev/runbook/schema"
)

// The scripts' secrets commands (see secrets.txtar):
//
//	gensecrets TOKEN RUNBOOK FORBIDDEN
//
// writes RUNBOOK, a runbook "secrets" that derives values from its
// sensitive variable token through every function of the language (the
// derivations of schema/testdata/derived.txt) and puts each where a value
// is shown or recorded: a confirmation, a manual step, a command's output
// and error output (as is, base64 at each offset and wrapped, URL-escaped),
// an expectation's message, a precondition's message, the step outputs,
// the lock's name, a plugin's error and the errors of functions that fail. FORBIDDEN gets, one per line, every form
// of every value derived from TOKEN that must appear nowhere.
//
//	nosecrets FORBIDDEN FILE...
//
// fails if a FILE holds one of them (also with its line breaks removed, as
// base64 is wrapped, and JSON-escaped, as a transcript records it).

// minForbidden is the shortest derived text looked for: shorter ones (a
// length, "x") also occur by chance.
const minForbidden = 6

// shellEcho prints $V in every form the masker claims to catch. The
// command sets V itself: only the masker knows what the derived value
// looks like, as the action's argument is the whole command.
const shellEcho = `printf '%s\n' "$V"
for p in '' u us; do printf '%s%s' "$p" "$V" | base64 -w 0; echo; done
printf 'user:%s' "$V" | base64 -w 20
printf '%s' "$V" | od -An -tx1 | tr -d ' \n' | sed 's/../%&/g'; echo
printf '%s\n' "$V" | sed 's,/,%2f,g; s,+,%2B,g; s, ,+,g'
printf 'rejected %s\n' "$V" >&2
printf 'us:%s' "$V" | base64 -w 12 >&2`

func cmdGenSecrets(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) != 3 {
		ts.Fatalf("usage: gensecrets TOKEN RUNBOOK FORBIDDEN")
	}
	token := args[0]
	src, err := os.ReadFile(filepath.Join("..", "..", "schema", "testdata", "derived.txt"))
	ts.Check(err)
	ctx := &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(map[string]cty.Value{"token": cty.StringVal(token)})},
		Functions: schema.Functions(schema.FunctionsLive),
	}
	var rb strings.Builder
	rb.WriteString(`runbook "secrets" {
  owner = "team"
  lock  = "tenant/${var.token}"
  variable "token" {
    sensitive = true
  }
`)
	forbidden := map[string]bool{}
	for _, line := range strings.Split(string(src), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fn, expr, _ := strings.Cut(line, ": ")
		if name, fails := strings.CutPrefix(fn, "!"); fails {
			fmt.Fprintf(&rb, `  step "error_%s" {
    precondition {
      condition     = %s != null
      error_message = "never shown"
    }
    manual     = "never asked"
    on_failure = "continue"
  }
`, name, expr)
			continue
		}
		parsed, diags := hclsyntax.ParseExpression([]byte(expr), fn, hcl.InitialPos)
		if diags.HasErrors() {
			ts.Fatalf("%s: %s", fn, diags)
		}
		val, diags := parsed.Value(ctx)
		if diags.HasErrors() {
			ts.Fatalf("%s: %s", fn, diags)
		}
		text := expr
		if val.Type() != cty.String {
			text = "jsonencode(" + expr + ")"
			b, err := ctyjson.Marshal(val, val.Type())
			ts.Check(err)
			addForbidden(forbidden, string(b))
		}
		for _, s := range stringsIn(val) {
			addForbidden(forbidden, s)
		}
		fmt.Fprintf(&rb, `  step "show_%[1]s" {
    manual = "Do ${%[2]s} now"
  }
  step "use_%[1]s" {
    confirm = "Use ${%[2]s}?"
    action "shell.run" {
      command   = <<-EOT
        V='${%[2]s}'
        %[3]s
      EOT
      read_only = true
    }
    expect {
      condition     = output.stdout == "nope"
      error_message = "got ${output.stdout} and ${output.stderr}, want ${%[2]s}"
    }
    on_failure = "continue"
  }
`, fn, text, strings.ReplaceAll(shellEcho, "\n", "\n        "))
	}
	rb.WriteString(`  step "outputs" {
    manual = "Saw ${step.use_upper.output.stdout} and ${step.use_substr.output.stderr}"
  }
  step "plugin_error" {
    action "http.request" {
      url = "http://127.0.0.1:1/${upper(var.token)}?t=${lower(var.token)}"
    }
    on_failure = "continue"
  }
  step "blocked" {
    precondition {
      condition     = false
      error_message = "blocked by ${strrev(var.token)} after ${step.use_lower.output.stdout}"
    }
    manual = "never asked"
  }
}
`)
	ts.Check(os.MkdirAll(filepath.Dir(ts.MkAbs(args[1])), 0o777))
	ts.Check(os.WriteFile(ts.MkAbs(args[1]), []byte(rb.String()), 0o666))
	lines := make([]string, 0, len(forbidden))
	for f := range forbidden {
		lines = append(lines, f)
	}
	sort.Strings(lines)
	ts.Check(os.WriteFile(ts.MkAbs(args[2]), []byte(strings.Join(lines, "\n")+"\n"), 0o666))
}

// addForbidden adds s, if long enough to look for, in every form the
// script's commands print it: as is, URL-escaped three ways, and the part
// of each base64 encoding that depends on s alone.
func addForbidden(forbidden map[string]bool, s string) {
	if len(s) < minForbidden {
		return
	}
	var every strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&every, "%%%02x", s[i])
	}
	forms := []string{s, url.QueryEscape(s), every.String(),
		strings.NewReplacer("/", "%2f", "+", "%2B", " ", "+").Replace(s)}
	for _, f := range redact.Base64Forms(s) {
		forms = append(forms, f[1:len(f)-1])
	}
	for _, f := range forms {
		if len(f) >= minForbidden && !strings.Contains(f, "\n") {
			forbidden[f] = true
		}
	}
}

// stringsIn returns the strings inside v.
func stringsIn(v cty.Value) []string {
	if v.IsNull() || !v.IsKnown() {
		return nil
	}
	ty := v.Type()
	switch {
	case ty == cty.String:
		return []string{v.AsString()}
	case ty.IsCollectionType(), ty.IsObjectType(), ty.IsTupleType():
		var out []string
		for it := v.ElementIterator(); it.Next(); {
			k, e := it.Element()
			if k.Type() == cty.String {
				out = append(out, k.AsString())
			}
			out = append(out, stringsIn(e)...)
		}
		return out
	}
	return nil
}

func cmdNoSecrets(ts *testscript.TestScript, neg bool, args []string) {
	if neg || len(args) < 2 {
		ts.Fatalf("usage: nosecrets FORBIDDEN FILE...")
	}
	var forms []string
	for _, f := range strings.Split(strings.TrimSpace(ts.ReadFile(args[0])), "\n") {
		b, _ := json.Marshal(f)
		forms = append(forms, f, string(b[1:len(b)-1]))
	}
	if len(forms) < 100 {
		ts.Fatalf("only %d forbidden forms: the derivations did not run", len(forms))
	}
	unwrap := strings.NewReplacer("\n", "", `\n`, "", "│", "", "stderr:", "", " ", "")
	for _, file := range args[1:] {
		text := ts.ReadFile(file)
		flat := unwrap.Replace(text)
		for _, f := range forms {
			if strings.Contains(text, f) || strings.Contains(flat, f) {
				ts.Fatalf("%s holds %q, derived from the secret", file, f)
			}
		}
	}
}
