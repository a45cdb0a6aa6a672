package grpcplugin_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/examples/sample"
	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/builtin"
	"github.com/runbookdev/runbook/plugins/grpcplugin"
)

// TestBuiltinsApplyOverTheProtocol configures every built-in plugin and
// runs one read-only and (where there is one) one mutating action through
// the real gRPC layer, against a copy of the sample state and local test
// servers, checking an attribute of each output.
func TestBuiltinsApplyOverTheProtocol(t *testing.T) {
	sampleDir := sample.Copy(t, "examples/state", "examples/corpus/support-kb")
	state := filepath.Join(sampleDir, "examples", "state")
	corpus := filepath.Join(sampleDir, "examples", "corpus", "support-kb")
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/v1/query" {
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1764165600,"0.25"]}]}}`))
			return
		}
		_, _ = w.Write([]byte(`{"ok":true}`))
	}))
	defer web.Close()

	str := cty.StringVal
	tests := []struct {
		plugin, action string
		config         map[string]cty.Value
		args           map[string]cty.Value
		attr           string
		want           cty.Value
	}{
		{"shell", "run", nil, map[string]cty.Value{"command": str("echo hi"), "read_only": cty.True}, "stdout", str("hi\n")},
		{"http", "request", nil, map[string]cty.Value{"url": str(web.URL + "/health")}, "status", cty.NumberIntVal(200)},
		{"prometheus", "query", map[string]cty.Value{"url": str(web.URL)}, map[string]cty.Value{"query": str("up")}, "value", cty.NumberFloatVal(0.25)},
		{"prompt", "status", map[string]cty.Value{"path": str(filepath.Join(state, "prompts"))}, map[string]cty.Value{"name": str("support-agent")}, "version", cty.NumberIntVal(7)},
		{"prompt", "rollback", map[string]cty.Value{"path": str(filepath.Join(state, "prompts"))}, map[string]cty.Value{"name": str("support-agent")}, "version", cty.NumberIntVal(6)},
		{"fallback", "status", map[string]cty.Value{"path": str(filepath.Join(state, "routes.flagd.json"))}, map[string]cty.Value{"route": str("chat")}, "active", str("primary")},
		{"fallback", "activate", map[string]cty.Value{"path": str(filepath.Join(state, "routes.flagd.json"))}, map[string]cty.Value{"route": str("chat")}, "active", str("fallback")},
		{"index", "status", map[string]cty.Value{"path": str(filepath.Join(state, "indexes"))}, map[string]cty.Value{"name": str("support-kb")}, "doc_count", cty.NumberIntVal(12)},
		{"index", "rebuild", map[string]cty.Value{"path": str(filepath.Join(state, "indexes"))}, map[string]cty.Value{"name": str("support-kb"), "source": str(corpus)}, "doc_count", cty.NumberIntVal(12)},
	}
	reg := builtin.Registry()
	for _, tt := range tests {
		t.Run(tt.plugin+"."+tt.action, func(t *testing.T) {
			b := reg.Builtin(tt.plugin)
			impl := b.New()
			t.Cleanup(func() { _ = impl.Close() })
			c := grpcplugin.TestClient(t, impl)
			ctx := context.Background()
			if err := c.Configure(ctx, object(b.Schema.Config, tt.config)); err != nil {
				t.Fatalf("configure: %v", err)
			}
			action := b.Schema.Actions[tt.action]
			lines := 0
			res, err := c.Apply(ctx, &plugins.ActionRequest{
				Action: tt.action, Args: object(action.Args, tt.args), RunID: "r1", Operator: "t@h",
				Progress: func(string) { lines++ },
			})
			if err != nil {
				t.Fatalf("apply: %v", err)
			}
			if errs := res.Output.Type().TestConformance(action.Output); errs != nil && !action.Output.HasDynamicTypes() {
				t.Errorf("output type %s, want %s", res.Output.Type().FriendlyName(), action.Output.FriendlyName())
			}
			if tt.plugin == "shell" && lines == 0 {
				t.Error("no progress line crossed the protocol")
			}
			got := res.Output.GetAttr(tt.attr)
			if !got.Equals(tt.want).True() {
				t.Errorf("%s = %#v, want %#v", tt.attr, got, tt.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join(state, "prompts", "support-agent", "history.jsonl")); err != nil {
		t.Errorf("the rollback left no history: %v", err)
	}
}

// object builds an object of every attribute, defaults applied, from the
// values given.
func object(attrs []*plugins.Attribute, vals map[string]cty.Value) cty.Value {
	out := map[string]cty.Value{}
	for _, a := range attrs {
		switch v, ok := vals[a.Name]; {
		case ok:
			out[a.Name] = v
		case a.Default != cty.NilVal:
			out[a.Name] = a.Default
		default:
			out[a.Name] = cty.NullVal(a.Type)
		}
	}
	if len(out) == 0 {
		return cty.EmptyObjectVal
	}
	return cty.ObjectVal(out)
}
