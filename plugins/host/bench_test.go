//go:build unix

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
	"github.com/runbookdev/runbook/plugins/sdk"
)

// BenchmarkLaunch measures a plugin's launch and handshake (until its
// schema is in), with and without AutoMTLS: the figure behind the
// package's choice. It includes the private copy and its hashing (of the
// test binary, some 20 MB, more than a plugin usually weighs).
func BenchmarkLaunch(b *testing.B) {
	for _, mtls := range []bool{false, true} {
		name := "plain"
		if mtls {
			name = "automtls"
		}
		b.Run(name, func(b *testing.B) {
			l := testLauncher(b)
			l.AutoMTLS = mtls
			spec := modeSpec(b, "echo")
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
			p := launch(b, l, modeSpec(b, "echo"))
			req := &plugins.ActionRequest{Action: "say", Args: cty.ObjectVal(map[string]cty.Value{"message": cty.StringVal("hello")})}
			for b.Loop() {
				if _, err := p.Apply(context.Background(), req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkPoolOf3 starts and closes a pool of three external plugins, as
// a run with three does, and reports the resident memory of their
// processes together once each has answered a call.
func BenchmarkPoolOf3(b *testing.B) {
	l := testLauncher(b)
	specs := []Spec{modeSpec(b, "echo"), modeSpec(b, "echo"), modeSpec(b, "echo")}
	for i, n := range []string{"a", "b", "c"} {
		specs[i].Name = n
	}
	var rss, samples int64
	for b.Loop() {
		pool := NewPool(l)
		if err := pool.Start(context.Background(), specs); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		for _, name := range pool.names() {
			p := pool.Get(name)
			mustSay(b, p)
			kb, err := rssKiB(p.pid())
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

// BenchmarkInProcessCall measures one Apply of a built-in called in this
// process (InProcess), to set beside BenchmarkCall's round trip to a
// plugin process.
func BenchmarkInProcessCall(b *testing.B) {
	p, err := testLauncher(b).InProcess(context.Background(), "test", func() plugins.Plugin {
		impl, err := sdk.New(testPlugin("echo"))
		if err != nil {
			b.Fatal(err)
		}
		return impl
	})
	if err != nil {
		b.Fatal(err)
	}
	defer p.Close()
	req := &plugins.ActionRequest{Action: "say", Args: cty.ObjectVal(map[string]cty.Value{"message": cty.StringVal("hello")})}
	for b.Loop() {
		if _, err := p.Apply(context.Background(), req); err != nil {
			b.Fatal(err)
		}
	}
}
