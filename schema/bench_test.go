package schema_test

// Benchmarks for the requirement "`runbook validate` on 1,000 generated
// runbooks of 20 steps takes no more than 1.2× the time a bare
// single-goroutine hclsyntax.ParseConfig of the same files takes".
//
//	go test ./schema -run '^$' -bench . -count 5
//
// Compare BenchmarkLoad1000 with BenchmarkParseFloor (benchstat, or the
// medians by hand). The ratio is reported, never asserted: timings on a
// shared machine are too noisy for a test to fail on. bench/validate.sh
// measures the same ratio end to end, with the built binaries.

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/runbookdev/runbook/bench/workload"
	"github.com/runbookdev/runbook/plugins/builtin"
	"github.com/runbookdev/runbook/schema"
)

const (
	benchRunbooks = 1000
	benchSteps    = 20
)

var (
	workloadOnce sync.Once
	workloadSrcs []schema.Source
	workloadSize int64
	workloadErr  error
)

// benchWorkload generates the 1,000×20 workload once per test binary, on
// disk through workload.Write as bench/gen does, and returns it read into
// memory, so that no benchmark measures file I/O.
func benchWorkload(b *testing.B) ([]schema.Source, int64) {
	b.Helper()
	workloadOnce.Do(func() {
		dir, err := os.MkdirTemp("", "runbook-bench-")
		if err != nil {
			workloadErr = err
			return
		}
		defer os.RemoveAll(dir)
		if workloadErr = workload.Write(dir, benchRunbooks, benchSteps); workloadErr != nil {
			return
		}
		names, err := schema.ListFiles(dir)
		if err != nil {
			workloadErr = err
			return
		}
		for _, name := range names {
			src, err := os.ReadFile(name)
			if err != nil {
				workloadErr = err
				return
			}
			workloadSrcs = append(workloadSrcs, schema.Source{Name: name, Bytes: src})
			workloadSize += int64(len(src))
		}
	})
	if workloadErr != nil {
		b.Fatal(workloadErr)
	}
	return workloadSrcs, workloadSize
}

func reportFiles(b *testing.B, files int) {
	b.ReportMetric(float64(files), "files/op")
	if b.N > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(files), "ns/file")
	}
}

// BenchmarkParseFloor is the floor: hclsyntax.ParseConfig of every file, one
// after another on one goroutine, and nothing else.
func BenchmarkParseFloor(b *testing.B) {
	srcs, size := benchWorkload(b)
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		for _, src := range srcs {
			if _, diags := hclsyntax.ParseConfig(src.Bytes, src.Name, hcl.InitialPos); diags.HasErrors() {
				b.Fatal(diags.Error())
			}
		}
	}
	reportFiles(b, len(srcs))
}

// BenchmarkLoad1000 parses, decodes and checks every file with the built-in
// plugins and keeps the runbooks, as `list` and `show` do.
func BenchmarkLoad1000(b *testing.B) {
	srcs, size := benchWorkload(b)
	opts := schema.Options{Schemas: schema.RegistrySource{Registry: builtin.Registry()}}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		cfg, diags := schema.Load(srcs, opts)
		if diags.HasErrors() {
			b.Fatalf("the generated workload does not validate: %s", diags.Error())
		}
		if len(cfg.Runbooks) != benchRunbooks {
			b.Fatalf("loaded %d runbooks, want %d", len(cfg.Runbooks), benchRunbooks)
		}
	}
	reportFiles(b, len(srcs))
}

// BenchmarkValidate1000 is what `runbook validate` does: the same work as
// Load, keeping only what it reports.
func BenchmarkValidate1000(b *testing.B) {
	srcs, size := benchWorkload(b)
	opts := schema.Options{Schemas: schema.RegistrySource{Registry: builtin.Registry()}}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		cfg, diags := schema.Validate(srcs, opts)
		if diags.HasErrors() {
			b.Fatalf("the generated workload does not validate: %s", diags.Error())
		}
		if cfg.Validated != benchRunbooks {
			b.Fatalf("validated %d runbooks, want %d", cfg.Validated, benchRunbooks)
		}
	}
	reportFiles(b, len(srcs))
}

// BenchmarkLoadOne loads a single runbook of the workload with its
// plugins.hcl: the fixed cost of a load, without the parallelism.
func BenchmarkLoadOne(b *testing.B) {
	all, _ := benchWorkload(b)
	var srcs []schema.Source
	for _, src := range all {
		if base := filepath.Base(src.Name); base == workload.PluginsFile || base == workload.FileName(0) {
			srcs = append(srcs, src)
		}
	}
	if len(srcs) != 2 {
		b.Fatalf("found %d of plugins.hcl and %s, want both", len(srcs), workload.FileName(0))
	}
	opts := schema.Options{Schemas: schema.RegistrySource{Registry: builtin.Registry()}}
	var size int64
	for _, src := range srcs {
		size += int64(len(src.Bytes))
	}
	b.SetBytes(size)
	b.ReportAllocs()
	for b.Loop() {
		_, diags := schema.Load(srcs, opts)
		if diags.HasErrors() {
			b.Fatalf("the generated runbook does not validate: %s", diags.Error())
		}
	}
	reportFiles(b, len(srcs))
}
