package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/rogpeppe/go-internal/testscript"
)

// The MCP client of scripts: the SDK's own, driving `runbook mcp` over
// stdio as an agent's client does.
//
//	mcpstart [-name CLIENT] [-http] [ARGS...]
//
// starts `runbook mcp ARGS...` in the script's folder and environment and
// opens a session as client CLIENT (default test-agent); what the server
// prints on stderr goes to $WORK/mcp-stderr.log. With -http the server
// listens on a free loopback port (--listen 127.0.0.1:0) and the session
// is streamable HTTP to the address it prints.
//
//	mcptools
//
// prints the name of each tool, one per line.
//
//	[!] mcpcall [-set NAME=FIELD]... TOOL JSON
//
// calls TOOL with the arguments JSON and prints its structured result
// (indented JSON) on stdout; a tool error's text goes to stderr, and fails
// the command unless it is negated. -set puts the result's top-level FIELD
// (a string or number) into the script's variable NAME.
//
//	mcpread URI
//
// prints the text of a resource.
//
//	mcpstop
//
// closes the session, which ends the server.

// scriptMCPKey finds a script's MCP session in its values.
type scriptMCPKey struct{}

type scriptMCP struct {
	session *mcp.ClientSession
}

func mcpOf(ts *testscript.TestScript) *scriptMCP {
	return ts.Value(scriptMCPKey{}).(*scriptMCP)
}

func (m *scriptMCP) need(ts *testscript.TestScript) *mcp.ClientSession {
	if m.session == nil {
		ts.Fatalf("no MCP session: mcpstart first")
	}
	return m.session
}

// mcpTimeout bounds each call.
const mcpTimeout = 3 * time.Minute

func cmdMCPStart(ts *testscript.TestScript, neg bool, args []string) {
	if neg {
		ts.Fatalf("unsupported: ! mcpstart")
	}
	m := mcpOf(ts)
	if m.session != nil {
		ts.Fatalf("an MCP session is open already")
	}
	name, useHTTP := "test-agent", false
	for len(args) > 0 && (args[0] == "-name" || args[0] == "-http") {
		if args[0] == "-http" {
			useHTTP, args = true, args[1:]
			continue
		}
		if len(args) < 2 {
			ts.Fatalf("usage: mcpstart [-name CLIENT] [-http] [ARGS...]")
		}
		name, args = args[1], args[2:]
	}
	args = append([]string{"mcp"}, args...)
	if useHTTP {
		args = append(args, "--listen", "127.0.0.1:0")
	}
	cmd := exec.Command(scriptProgram(ts, "runbook"), args...)
	cmd.Dir = ts.Getenv("WORK")
	cmd.Env = scriptEnviron(ts)
	stderrPath := filepath.Join(ts.Getenv("WORK"), "mcp-stderr.log")
	stderr, err := os.Create(stderrPath)
	ts.Check(err)
	ts.Defer(func() { stderr.Close() })
	cmd.Stderr = stderr
	client := mcp.NewClient(&mcp.Implementation{Name: name, Version: "1.0"}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), mcpTimeout)
	defer cancel()
	var transport mcp.Transport = &mcp.CommandTransport{Command: cmd}
	if useHTTP {
		ts.Check(cmd.Start())
		ts.Defer(func() {
			_ = cmd.Process.Signal(os.Interrupt)
			_ = cmd.Wait()
		})
		transport = &mcp.StreamableClientTransport{Endpoint: serverAddress(ts, stderrPath)}
	}
	session, err := client.Connect(ctx, transport, nil)
	ts.Check(err)
	m.session = session
	ts.Defer(func() {
		if m.session != nil {
			m.session.Close()
		}
	})
}

func cmdMCPTools(ts *testscript.TestScript, neg bool, args []string) {
	ctx, cancel := context.WithTimeout(context.Background(), mcpTimeout)
	defer cancel()
	res, err := mcpOf(ts).need(ts).ListTools(ctx, nil)
	ts.Check(err)
	for _, t := range res.Tools {
		fmt.Fprintln(ts.Stdout(), t.Name)
	}
}

func cmdMCPCall(ts *testscript.TestScript, neg bool, args []string) {
	var sets []string
	for len(args) >= 2 && args[0] == "-set" {
		sets, args = append(sets, args[1]), args[2:]
	}
	if len(args) != 2 {
		ts.Fatalf("usage: mcpcall [-set NAME=FIELD]... TOOL JSON")
	}
	var arguments map[string]any
	ts.Check(json.Unmarshal([]byte(args[1]), &arguments))
	ctx, cancel := context.WithTimeout(context.Background(), mcpTimeout)
	defer cancel()
	res, err := mcpOf(ts).need(ts).CallTool(ctx, &mcp.CallToolParams{Name: args[0], Arguments: arguments})
	if err != nil {
		// A protocol error (an unknown tool, bad arguments).
		fmt.Fprintln(ts.Stderr(), err)
		if !neg {
			ts.Fatalf("%s: %v", args[0], err)
		}
		return
	}
	if res.IsError {
		for _, c := range res.Content {
			if t, ok := c.(*mcp.TextContent); ok {
				fmt.Fprintln(ts.Stderr(), t.Text)
			}
		}
		if !neg {
			ts.Fatalf("%s returned a tool error", args[0])
		}
		return
	}
	if neg {
		ts.Fatalf("%s succeeded unexpectedly", args[0])
	}
	out, err := json.MarshalIndent(res.StructuredContent, "", "  ")
	ts.Check(err)
	fmt.Fprintln(ts.Stdout(), string(out))
	fields, _ := res.StructuredContent.(map[string]any)
	for _, s := range sets {
		name, field, ok := strings.Cut(s, "=")
		if !ok {
			ts.Fatalf("-set %s: want NAME=FIELD", s)
		}
		v, ok := fields[field]
		if !ok {
			ts.Fatalf("-set: the result has no %s", field)
		}
		ts.Setenv(name, fmt.Sprint(v))
	}
}

func cmdMCPRead(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: mcpread URI")
	}
	ctx, cancel := context.WithTimeout(context.Background(), mcpTimeout)
	defer cancel()
	res, err := mcpOf(ts).need(ts).ReadResource(ctx, &mcp.ReadResourceParams{URI: args[0]})
	if neg {
		if err == nil {
			ts.Fatalf("reading %s succeeded unexpectedly", args[0])
		}
		fmt.Fprintln(ts.Stderr(), err)
		return
	}
	ts.Check(err)
	for _, c := range res.Contents {
		fmt.Fprint(ts.Stdout(), c.Text)
	}
}

func cmdMCPStop(ts *testscript.TestScript, neg bool, args []string) {
	m := mcpOf(ts)
	if m.session != nil {
		ts.Check(m.session.Close())
		m.session = nil
	}
}

// serverAddress waits for `runbook mcp --listen` to print the address it
// serves.
func serverAddress(ts *testscript.TestScript, stderrPath string) string {
	re := regexp.MustCompile(`serving (http://\S+/)`)
	for range 200 {
		b, _ := os.ReadFile(stderrPath)
		if m := re.FindSubmatch(b); m != nil {
			return string(m[1])
		}
		time.Sleep(50 * time.Millisecond)
	}
	ts.Fatalf("runbook mcp --listen printed no address")
	return ""
}

// scriptProgram finds a program on the script's $PATH.
func scriptProgram(ts *testscript.TestScript, name string) string {
	for _, dir := range filepath.SplitList(ts.Getenv("PATH")) {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	ts.Fatalf("%s is not on the script's PATH", name)
	return ""
}

// scriptEnviron is the environment a program started by the script gets:
// this process's, with the script's values of what the CLI reads.
func scriptEnviron(ts *testscript.TestScript) []string {
	names := []string{"PATH", "HOME", "TMPDIR", "WORK", "NO_COLOR", "SSH_AUTH_SOCK",
		"RUNBOOK_DIR", "RUNBOOK_STATE_DIR", "RUNBOOK_LOCK_URL", "RUNBOOK_STORE", "PROMETHEUS_URL"}
	env := slices.DeleteFunc(os.Environ(), func(kv string) bool {
		name, _, _ := strings.Cut(kv, "=")
		return slices.Contains(names, name)
	})
	for _, n := range names {
		env = append(env, n+"="+ts.Getenv(n))
	}
	return env
}
