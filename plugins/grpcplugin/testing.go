package grpcplugin

import (
	"testing"

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

// TestClientMany serves impls in process as ServeMany does, and returns the
// client of that connection: Named(name) talks to one of them.
func TestClientMany(t testing.TB, impls map[string]plugins.Plugin) *Client {
	t.Helper()
	servers := make(map[string]*server, len(impls))
	for name, impl := range impls {
		servers[name] = newServer(impl)
	}
	return testClient(t, &GRPCPlugin{service: newMux(servers)})
}

func testClient(t testing.TB, p *GRPCPlugin) *Client {
	t.Helper()
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
