package host

import (
	"bufio"
	"context"
	"os"
	"strconv"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

// BenchmarkLaunch measures a plugin's launch and handshake (until its
// schema is in), with and without AutoMTLS: the figure behind the
// package's choice. "builtin" re-executes a binary as runbook does for its
// built-ins; "external" adds the private copy and its hashing (of the test
// binary, some 20 MB, more than a plugin usually weighs).
func BenchmarkLaunch(b *testing.B) {
	for _, kind := range []string{"builtin", "external"} {
		for _, mtls := range []bool{false, true} {
			name := kind + "/plain"
			if mtls {
				name = kind + "/automtls"
			}
			b.Run(name, func(b *testing.B) {
				l := testLauncher(b)
				l.AutoMTLS = mtls
				spec := modeSpec("echo")
				if kind == "external" {
					spec = externalSpec(b, "echo")
				}
				for b.Loop() {
					p, err := l.Launch(context.Background(), spec)
					if err != nil {
						b.Fatal(err)
					}
					b.StopTimer()
					if err := p.Close(); err != nil {
						b.Fatal(err)
					}
					b.StartTimer()
				}
			})
		}
	}
}

// BenchmarkCall measures one Apply round trip to a running plugin.
func BenchmarkCall(b *testing.B) {
	for _, mtls := range []bool{false, true} {
		name := "plain"
		if mtls {
			name = "automtls"
		}
		b.Run(name, func(b *testing.B) {
			l := testLauncher(b)
			l.AutoMTLS = mtls
			p := launch(b, l, modeSpec("echo"))
			req := &plugins.ActionRequest{Action: "say", Args: cty.ObjectVal(map[string]cty.Value{"message": cty.StringVal("hello")})}
			for b.Loop() {
				if _, err := p.Apply(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPoolOf3 starts and closes a pool of three built-in plugins, as
// a run does: "shared" serves them from one process (what a Pool does with
// built-ins of the same environment), "separate" from one process each
// (different environments). It reports the resident memory of the pool's
// processes together once each plugin has answered a call.
func BenchmarkPoolOf3(b *testing.B) {
	for _, shared := range []bool{true, false} {
		name := "separate"
		if shared {
			name = "shared"
		}
		b.Run(name, func(b *testing.B) {
			l := testLauncher(b)
			specs := []Spec{modeSpec("echo"), modeSpec("echo"), modeSpec("echo")}
			for i, n := range []string{"a", "b", "c"} {
				specs[i].Name = n
				if !shared {
					specs[i].Env = append(specs[i].Env, "POOL_BENCH="+n)
				}
			}
			var rss, samples int64
			for b.Loop() {
				pool := NewPool(l)
				if err := pool.Start(context.Background(), specs); err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				pids := map[int]bool{}
				for _, name := range pool.Names() {
					p := pool.Get(name)
					mustSay(b, p)
					pids[p.Pid()] = true
				}
				for pid := range pids {
					kb, err := rssKiB(pid)
					if err != nil {
						b.Skip(err)
					}
					rss += kb
				}
				samples++
				b.StartTimer()
				if err := pool.Close(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(rss)/float64(samples), "KiB-rss/pool")
		})
	}
}

func rssKiB(pid int) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if v, ok := strings.CutPrefix(s.Text(), "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
		}
	}
	return 0, s.Err()
}
