package mcpcmd

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os/signal"
	"syscall"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/build"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/engine/exitcode"
)

// Options are the inputs of `runbook mcp`.
type Options struct {
	*cmdutil.Factory
	// Listen, when set, serves streamable HTTP on this loopback address
	// instead of stdio.
	Listen string
}

// NewCmdMCP makes `runbook mcp`; runF, when not nil, runs instead of the
// command (for tests of the flags).
func NewCmdMCP(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "mcp [--listen 127.0.0.1:PORT]",
		Short: "Serve the runbooks to AI agents over the Model Context Protocol",
		Long: `Serve the runbook directory to an AI agent over the Model Context Protocol
(stdio by default; streamable HTTP on a loopback address with --listen).

An agent may list, show, validate and rehearse (dry_run) runbooks and read
transcripts. It may only request a run (request_run): the run is recorded
with the operator agent:<client>, and every step that changes state, asks
for confirmation or is manual waits for the signed approval of people
(runbook approve RUN_ID), through the transcript store (--store).

Exit status: 0 when the client closed the session (or on Ctrl-C), 1 when the
session ended on an error, 2 bad input.`,
		Args: cmdutil.UsageArgs(cobra.NoArgs),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			return cmdutil.Run(opts, runF, func(o *Options) error { return runMCP(cmd.Context(), o) })
		}),
	}
	cmd.Flags().StringVar(&opts.Listen, "listen", "", "serve streamable HTTP on this loopback address (127.0.0.1:PORT, [::1]:PORT or localhost:PORT) instead of stdio")
	return cmd
}

func runMCP(parent context.Context, opts *Options) error {
	if parent == nil {
		parent = context.Background()
	}
	srv, err := newServer(opts.Factory)
	if err != nil {
		return err
	}
	defer srv.close()
	ctx, stop := signal.NotifyContext(parent, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if opts.Listen == "" {
		if opts.IO.CanPrompt() {
			// A person, not a client, started it.
			fmt.Fprintln(opts.IO.ErrOut, "runbook mcp speaks the Model Context Protocol on stdin and stdout: an MCP client starts it (docs/agents.md). Ctrl-C stops it.")
		}
		err := srv.mcp.Run(ctx, &mcp.StdioTransport{})
		if err == nil || errors.Is(err, context.Canceled) || ctx.Err() != nil {
			return nil
		}
		return fmt.Errorf("the MCP session on stdin and stdout ended: %w (runbook mcp is started by an MCP client, which speaks JSON-RPC to it)", err)
	}
	return serveHTTP(ctx, opts, srv)
}

// serveHTTP serves streamable HTTP on the loopback address opts.Listen
// until ctx is cancelled.
func serveHTTP(ctx context.Context, opts *Options, srv *server) error {
	if err := checkLoopback(opts.Listen); err != nil {
		return cmdutil.Exitf(exitcode.BadInput, "--listen %s: %s", opts.Listen, err)
	}
	ln, err := net.Listen("tcp", opts.Listen)
	if err != nil {
		return cmdutil.Exitf(exitcode.BadInput, "--listen: %s", err)
	}
	handler := mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return srv.mcp }, nil)
	hs := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second}
	fmt.Fprintf(opts.IO.ErrOut, "runbook mcp: serving http://%s/ (streamable HTTP); Ctrl-C stops\n", ln.Addr())
	errc := make(chan error, 1)
	go func() { errc <- hs.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return hs.Shutdown(shutdown)
}

// checkLoopback refuses an address that is not on this machine's loopback
// interface: the server runs and rehearses runbooks with its operator's
// credentials, so it must not be reachable from the network.
func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return err
	}
	if host == "localhost" {
		return nil
	}
	ip := net.ParseIP(host)
	if ip == nil || !ip.IsLoopback() {
		return errors.New("the server listens only on a loopback address (127.0.0.1, [::1] or localhost): it acts with your credentials")
	}
	return nil
}

// implementation is how the server introduces itself.
func implementation() *mcp.Implementation {
	return &mcp.Implementation{Name: "runbook", Title: "runbook", Version: build.Version()}
}
