#!/usr/bin/env bash
# The transcript store's benchmarks (docs/store.md, "Performance"), against a
# private PostgreSQL server the Go benchmarks start on loopback:
#
#   bench/store.sh                 # 5 runs of each
#   RUNS=3 BENCHTIME=1s bench/store.sh
#
# It prints the median over RUNS runs of each benchmark's own median: the
# store's cost per event (one Append: an INSERT whose trigger checks the
# chain), budget 2 ms, and `transcript list` over 100,000 stored runs (seeded
# once per run), budget 300 ms. Needs PostgreSQL server binaries (initdb,
# postgres: apt-get install postgresql). Exit status 0 whenever the
# measurements ran; STRICT=1 exits 1 on a MISS.
set -euo pipefail

RUNS=${RUNS:-5}
BENCHTIME=${BENCHTIME:-2s}
STRICT=${STRICT:-0}
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

out=$(cd "$root" && RUNBOOK_REQUIRE_SERVICES=1 go test ./engine/store -run '^$' \
	-bench 'BenchmarkStore(Append|List)' -benchtime "$BENCHTIME" -count "$RUNS")
printf '%s\n' "$out" | grep -E '^(Benchmark|ok|FAIL)' >&2

printf '%s\n' "$out" | awk -v strict="$STRICT" '
	/^BenchmarkStore/ {
		for (i = 3; i < NF; i++) {
			if ($(i+1) ~ /^ms-median\//) {
				name = $1; sub(/-[0-9]+$/, "", name)
				n[name]++; v[name, n[name]] = $i
			}
		}
	}
	function median(name,    k, j, t, m) {
		m = n[name]
		for (k = 1; k <= m; k++) a[k] = v[name, k]
		for (k = 1; k <= m; k++) for (j = k + 1; j <= m; j++) if (a[j] < a[k]) { t = a[k]; a[k] = a[j]; a[j] = t }
		return a[int((m + 1) / 2)]
	}
	END {
		miss = 0
		printf "%-40s %12s %10s %s\n", "benchmark", "median ms", "budget ms", ""
		for (name in n) {
			budget = (name ~ /Append/) ? 2 : 300
			med = median(name)
			verdict = (med + 0 < budget) ? "PASS" : "MISS"
			if (verdict == "MISS") miss = 1
			printf "%-40s %12.3f %10d %s\n", name, med, budget, verdict
		}
		exit (strict == "1" && miss) ? 1 : 0
	}'
