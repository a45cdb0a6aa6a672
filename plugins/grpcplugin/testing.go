package grpcplugin

import (
	"io"
	"os"
	"sync"
	"testing"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/go-plugin"

	"github.com/runbookdev/runbook/plugins"
)

// TestClient serves impl in process through go-plugin's TestPluginGRPCConn,
// over a real gRPC connection, and returns a client of it: tests drive a
// plugin through the protocol without starting a process. The connection
// ends with the test.
func TestClient(t testing.TB, impl plugins.Plugin) *Client {
	t.Helper()
	return testClient(t, &GRPCPlugin{Impl: impl})
}

// quietTestLogs keeps go-plugin's chatter out of test output: its
// TestPluginGRPCConn logs at debug level ("stdio EOF, exiting copy loop")
// to hclog's default output, the only part of its logger a caller can
// choose. Warnings and errors still reach stderr.
var quietTestLogs = sync.OnceFunc(func() {
	hclog.DefaultOutput = hclog.NewLeveledWriter(os.Stderr, map[hclog.Level]io.Writer{
		hclog.Trace: io.Discard,
		hclog.Debug: io.Discard,
		hclog.Info:  io.Discard,
	})
})

func testClient(t testing.TB, p *GRPCPlugin) *Client {
	t.Helper()
	quietTestLogs()
	conn, _ := plugin.TestPluginGRPCConn(t, false, map[string]plugin.Plugin{PluginName: p})
	// Closing the client shuts the server down (go-plugin's controller);
	// stopping it here as well would race with that.
	t.Cleanup(func() { _ = conn.Close() })
	raw, err := conn.Dispense(PluginName)
	if err != nil {
		t.Fatalf("dispense plugin: %v", err)
	}
	c, ok := raw.(*Client)
	if !ok {
		t.Fatalf("dispense plugin: got %T", raw)
	}
	return c
}
