//go:build unix

package host

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hashicorp/go-plugin"
	"github.com/zclconf/go-cty/cty"
	"go.opentelemetry.io/otel/trace"

	"github.com/runbookdev/runbook/plugins/grpcplugin"
	"github.com/runbookdev/runbook/plugins/sdk"
)

// The test binary doubles as every plugin the tests need, and as a host
// that can be killed: TestMain serves the plugin RUNBOOK_HOST_TEST_PLUGIN
// names instead of running the tests. The variable reaches the plugin
// through Spec.Env, the only environment a plugin gets.
const (
	envMode    = "RUNBOOK_HOST_TEST_PLUGIN"
	envPidFile = "RUNBOOK_HOST_TEST_PIDFILE"
	envHost    = "RUNBOOK_HOST_TEST_HOST"
	// envDaemonFile: the plugin starts a daemon as it starts, and writes
	// its pid there.
	envDaemonFile = "RUNBOOK_HOST_TEST_DAEMONFILE"
)

func TestMain(m *testing.M) {
	if os.Getenv(envHost) != "" {
		os.Exit(runTestHost())
	}
	mode := os.Getenv(envMode)
	if mode == "" {
		os.Exit(m.Run())
	}
	if f := os.Getenv(envPidFile); f != "" {
		if err := os.WriteFile(f, []byte(strconv.Itoa(os.Getpid())), 0o600); err != nil {
			panic(err)
		}
	}
	if f := os.Getenv(envDaemonFile); f != "" {
		pid, err := spawnDaemon(true)
		if err != nil {
			panic(err)
		}
		if err := os.WriteFile(f, []byte(strconv.Itoa(pid)), 0o600); err != nil {
			panic(err)
		}
	}
	switch mode {
	case "spawn":
		// Daemonizes a silent process (setsid in a child that exits at
		// once: the daemon is orphaned) and prints its pid.
		pid, err := spawnDaemon(false)
		if err != nil {
			panic(err)
		}
		fmt.Println(pid)
		os.Exit(0)
	case "junk":
		// Something that is not a plugin and talks on stdout.
		fmt.Println("Hello! I am definitely not a runbook plugin.")
		time.Sleep(time.Hour)
	case "exit":
		fmt.Fprintln(os.Stderr, "not-a-plugin: missing configuration file")
		os.Exit(1)
	case "silent":
		time.Sleep(time.Hour)
	case "protocol2":
		// A plugin built for a later protocol version.
		impl, err := sdk.New(testPlugin("echo"))
		if err != nil {
			panic(err)
		}
		hs := grpcplugin.Handshake
		hs.ProtocolVersion = grpcplugin.ProtocolVersion + 1
		plugin.Serve(&plugin.ServeConfig{
			HandshakeConfig:  hs,
			VersionedPlugins: map[int]plugin.PluginSet{int(hs.ProtocolVersion): {grpcplugin.PluginName: &grpcplugin.GRPCPlugin{Impl: impl}}},
			GRPCServer:       plugin.DefaultGRPCServer,
		})
		os.Exit(0)
	case "initpanic":
		panic("plugin init failed")
	}
	sdk.Serve(testPlugin(mode))
	os.Exit(0)
}

// spawnDaemon starts a silent process in a session of its own, as a daemon
// does (setsid), and returns its pid: with orphan, through a child that
// exits at once, so that the daemon is re-parented; else as a child of this
// process.
func spawnDaemon(orphan bool) (int, error) {
	exe, err := os.Executable()
	if err != nil {
		return 0, err
	}
	if orphan {
		c := exec.Command(exe)
		c.Env = []string{envMode + "=spawn"}
		out, err := c.Output()
		if err != nil {
			return 0, fmt.Errorf("spawn: %w", err)
		}
		return strconv.Atoi(strings.TrimSpace(string(out)))
	}
	c := exec.Command(exe)
	c.Env = []string{envMode + "=silent"}
	c.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := c.Start(); err != nil {
		return 0, err
	}
	return c.Process.Pid, nil
}

// runTestHost launches an echo plugin, prints its pid and waits to be killed.
func runTestHost() int {
	sum, err := FileSHA256(os.Args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l := &Launcher{}
	p, err := l.Launch(context.Background(), Spec{Name: "echo", Source: os.Args[0], SHA256: sum, Env: []string{envMode + "=echo"}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(p.pid())
	time.Sleep(time.Hour)
	return 0
}

// spanSeen describes the span context of ctx: "TRACEID-SPANID", with
// "-remote" for a remote one, or "none".
func spanSeen(ctx context.Context) string {
	sc := trace.SpanContextFromContext(ctx)
	if !sc.IsValid() {
		return "none"
	}
	s := sc.TraceID().String() + "-" + sc.SpanID().String()
	if sc.IsRemote() {
		s += "-remote"
	}
	return s
}

var messageOut = cty.Object(map[string]cty.Type{"message": cty.String})

func testPlugin(mode string) sdk.Plugin {
	noArgs := func(name string, apply func(ctx context.Context, req *sdk.Request) (any, error)) *sdk.Action {
		return &sdk.Action{Name: name, Output: cty.DynamicPseudoType, Apply: apply}
	}
	return sdk.Plugin{
		Name:    "test",
		Version: "0.0.1-" + mode,
		Config:  []*sdk.Attribute{{Name: "greeting", Type: cty.String}},
		Actions: []*sdk.Action{
			noArgs("greeting", func(_ context.Context, req *sdk.Request) (any, error) {
				return req.Config.String("greeting"), nil
			}),
			noArgs("pid", func(context.Context, *sdk.Request) (any, error) { return os.Getpid(), nil }),
			{
				Name: "say", ReadOnly: true,
				Args:   []*sdk.Attribute{{Name: "message", Type: cty.String, Required: true}},
				Output: messageOut,
				Apply: func(ctx context.Context, req *sdk.Request) (any, error) {
					return map[string]any{"message": req.Args.String("message")}, nil
				},
			},
			noArgs("mode", func(context.Context, *sdk.Request) (any, error) { return mode, nil }),
			{
				Name: "span", Output: cty.String,
				Plan: func(ctx context.Context, _ *sdk.Request) (*sdk.Plan, error) {
					return &sdk.Plan{Changes: []string{spanSeen(ctx)}}, nil
				},
				Apply: func(ctx context.Context, _ *sdk.Request) (any, error) { return spanSeen(ctx), nil },
			},
			noArgs("env", func(context.Context, *sdk.Request) (any, error) { return os.Environ(), nil }),
			noArgs("stdin", func(context.Context, *sdk.Request) (any, error) {
				target, err := os.Readlink("/proc/self/fd/0")
				if err != nil {
					return nil, err
				}
				return target, nil
			}),
			noArgs("panic", func(_ context.Context, req *sdk.Request) (any, error) {
				req.Progress("about to panic")
				panic("boom")
			}),
			noArgs("exit", func(_ context.Context, req *sdk.Request) (any, error) {
				req.Progress("about to exit")
				// go-plugin swaps os.Stderr for a stream; file descriptor 2
				// is the real stderr, which the host keeps.
				fmt.Fprintln(os.NewFile(2, "stderr"), "giving up: disk on fire")
				os.Exit(3)
				return nil, nil
			}),
			noArgs("hang", func(ctx context.Context, req *sdk.Request) (any, error) {
				req.Progress("ready")
				<-ctx.Done()
				return nil, ctx.Err()
			}),
			noArgs("block", func(_ context.Context, req *sdk.Request) (any, error) {
				// Ignores cancellation, and has a child in its process group.
				exe, err := os.Executable()
				if err != nil {
					return nil, err
				}
				child := exec.Command(exe)
				child.Env = []string{envMode + "=silent"}
				if err := child.Start(); err != nil {
					return nil, err
				}
				req.Progress("child %d", child.Process.Pid)
				select {}
			}),
			{
				Name: "planpanic", Output: cty.DynamicPseudoType,
				Apply: func(context.Context, *sdk.Request) (any, error) { return "applied", nil },
				Plan: func(context.Context, *sdk.Request) (*sdk.Plan, error) {
					panic("boom in plan")
				},
			},
			noArgs("stall", func(context.Context, *sdk.Request) (any, error) {
				// Ignores cancellation, with nothing of its own to kill.
				select {}
			}),
			noArgs("late", func(_ context.Context, req *sdk.Request) (any, error) {
				// Reports progress after it has returned.
				go func() {
					time.Sleep(50 * time.Millisecond)
					req.Progress("too late")
				}()
				return "early", nil
			}),
			noArgs("daemon", func(context.Context, *sdk.Request) (any, error) { return spawnDaemon(false) }),
			noArgs("orphan", func(context.Context, *sdk.Request) (any, error) { return spawnDaemon(true) }),
			noArgs("flood", func(context.Context, *sdk.Request) (any, error) {
				line := strings.Repeat("x", 1023) + "\n"
				fd2 := os.NewFile(2, "stderr")
				for range 8 << 10 {
					fmt.Fprint(fd2, line)
				}
				fmt.Fprint(fd2, "the end of the flood\n")
				return "flooded", nil
			}),
		},
	}
}
