#!/usr/bin/env bash
# Measures `runbook validate` on a generated workload against the parse floor:
# a bare hclsyntax.ParseConfig of the same files on one goroutine.
#
#   bench/validate.sh                # 1,000 runbooks × 20 steps, 5 runs each
#   N=200 STEPS=10 RUNS=9 bench/validate.sh
#
# Requirement: validate's wall time ≤ BUDGET × the floor's (default 1.2).
# Prints medians of wall time, user+sys CPU and peak RSS (GNU time), the ratio
# of the wall-time medians and PASS/FAIL. The exit status is 0 whenever the
# measurement ran, whatever the verdict (timings on a shared machine are too
# noisy to gate on); set STRICT=1 to exit 1 on FAIL.
#
# Needs go and GNU time (/usr/bin/time; Debian/Ubuntu: apt-get install time).
set -euo pipefail

N=${N:-1000}
STEPS=${STEPS:-20}
RUNS=${RUNS:-5}
BUDGET=${BUDGET:-1.2}
STRICT=${STRICT:-0}
GNU_TIME=${GNU_TIME:-/usr/bin/time}

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

if ! "$GNU_TIME" --version 2>&1 | grep -q GNU; then
	echo "validate.sh: GNU time not found at $GNU_TIME; install it (apt-get install time) or set GNU_TIME" >&2
	exit 1
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/runbook-bench.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "building into $tmp ..."
(
	cd "$root"
	go build -o "$tmp/runbook" ./cmd/runbook
	go build -o "$tmp/parsefloor" ./bench/parsefloor
	go build -o "$tmp/gen" ./bench/gen
)

work="$tmp/workload"
echo "generating $N runbooks × $STEPS steps ..."
"$tmp/gen" -n "$N" -steps "$STEPS" -out "$work"
echo "workload: $(find "$work" -name '*.hcl' | wc -l) files, $(du -sh "$work" | cut -f1)"

# The commands measured, by label.
labels=(parse-floor validate)
command_of() { # command_of LABEL: set cmd to the label's command line
	case $1 in
	parse-floor) cmd=("$tmp/parsefloor" "$work") ;;
	validate) cmd=("$tmp/runbook" validate --dir "$work") ;;
	esac
}

measure() { # measure LABEL I: one timed run; "wall cpu rss_kb" into $tmp/LABEL.I
	command_of "$1"
	"$GNU_TIME" -f '%e %U %S %M' -o "$tmp/$1.time" "${cmd[@]}" >/dev/null
	awk '{ printf "%s %.2f %s\n", $1, $2 + $3, $4 }' "$tmp/$1.time" >"$tmp/$1.$2"
}

median() { # median COLUMN LABEL: the median of a column over the runs
	cat "$tmp/$2".[0-9]* | awk -v c="$1" '{ print $c }' | sort -g |
		awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

echo "warm-up ..."
for l in "${labels[@]}"; do
	command_of "$l"
	if ! "${cmd[@]}" >/dev/null 2>"$tmp/warmup.err"; then
		echo "validate.sh: $l failed on the generated workload:" >&2
		head -n 40 "$tmp/warmup.err" >&2
		exit 1
	fi
done

echo "measuring $RUNS runs of each (interleaved) ..."
for i in $(seq 1 "$RUNS"); do
	for l in "${labels[@]}"; do
		measure "$l" "$i"
	done
done

echo
printf '%-12s %10s %10s %14s\n' command "wall (s)" "cpu (s)" "max RSS (MiB)"
for l in "${labels[@]}"; do
	printf '%-12s %10.2f %10.2f %14.1f\n' "$l" "$(median 1 "$l")" "$(median 2 "$l")" "$(awk -v k="$(median 3 "$l")" 'BEGIN { print k / 1024 }')"
done
echo "(medians of $RUNS runs; cpu = user + sys; $(getconf _NPROCESSORS_ONLN) CPUs)"
echo

floor=$(median 1 parse-floor)
validate=$(median 1 validate)
verdict=$(awk -v v="$validate" -v f="$floor" -v b="$BUDGET" 'BEGIN {
	r = (f > 0) ? v / f : 0
	printf "%.2f %s", r, (f > 0 && r <= b) ? "PASS" : "FAIL"
}')
read -r ratio result <<<"$verdict"
cpu_ratio=$(awk -v v="$(median 2 validate)" -v f="$(median 2 parse-floor)" 'BEGIN { printf "%.2f", (f > 0) ? v / f : 0 }')
echo "validate / parse-floor wall: ${ratio}×  (budget ≤ ${BUDGET}×)  $result"
echo "validate / parse-floor cpu:  ${cpu_ratio}×"

if [[ $STRICT == 1 && $result == FAIL ]]; then
	exit 1
fi
