#!/usr/bin/env bash
# The benchmark suite: runbook against its peers, measured side
# by side in one run, with the budgets.
#
#   bench/run.sh                      # 1,000 runbooks × 20 steps, 5 runs each
#   N=200 RUNS=3 bench/run.sh         # quicker
#   ANSIBLE_RUNS=1 bench/run.sh       # ansible is slow: fewer runs of it only
#
# It builds runbook and the helpers, generates the workloads into a temp
# folder, installs missing peers (ansible-core with apt-get when run as
# root on Debian/Ubuntu; task v3.54.0 with go install into a temp GOBIN; a
# hello-world Go binary it builds) and prints one table: whole-process
# medians over RUNS runs after a warm-up (wall, user+sys CPU, peak RSS from
# GNU time), each row beside its peer with the ratio of the wall medians and
# the budget's PASS/MISS. A peer that cannot be installed is reported as
# MISSING in its row. Exit status 0 whenever the measurements ran (timings
# on a shared machine are too noisy to gate on); STRICT=1 exits 1 on a MISS.
#
# Needs bash, go, GNU time (/usr/bin/time; apt-get install time).
set -euo pipefail

N=${N:-1000}
STEPS=${STEPS:-20}
RUNS=${RUNS:-5}
ANSIBLE_RUNS=${ANSIBLE_RUNS:-$RUNS}
STRICT=${STRICT:-0}
GNU_TIME=${GNU_TIME:-/usr/bin/time}
TASK_VERSION=v3.54.0

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/runbook-bench.XXXXXX")
cleanup() { rm -rf "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '%s\n' "$*" >&2; }

if ! "$GNU_TIME" --version 2>&1 | grep -q GNU; then
	say "run.sh: GNU time not found at $GNU_TIME; install it (apt-get install time) or set GNU_TIME"
	exit 1
fi

say "building into $tmp ..."
mkdir -p "$tmp/bin" "$tmp/hello"
(
	cd "$root"
	go build -o "$tmp/bin/runbook" ./cmd/runbook
	go build -o "$tmp/bin/parsefloor" ./bench/parsefloor
	go build -o "$tmp/bin/gen" ./bench/gen
	go build -o "$tmp/bin/rsstree" ./bench/rsstree
)
cat >"$tmp/hello/main.go" <<'GO'
package main

import "fmt"

func main() { fmt.Println("hello, world") }
GO
(cd "$tmp/hello" && go mod init hello >/dev/null 2>&1 && go build -o "$tmp/bin/hello" .)

# Peers: installed when missing; a peer still missing is reported in the table.
declare -A missing=()
ANSIBLE=${ANSIBLE:-$(command -v ansible-playbook || true)}
if [[ -z $ANSIBLE ]]; then
	if [[ $(id -u) == 0 ]] && command -v apt-get >/dev/null; then
		say "installing ansible-core with apt-get ..."
		if DEBIAN_FRONTEND=noninteractive apt-get install -y -q ansible-core >"$tmp/apt.log" 2>&1 ||
			{ DEBIAN_FRONTEND=noninteractive apt-get update -q >>"$tmp/apt.log" 2>&1 &&
				DEBIAN_FRONTEND=noninteractive apt-get install -y -q ansible-core >>"$tmp/apt.log" 2>&1; }; then
			ANSIBLE=$(command -v ansible-playbook || true)
		else
			tail -n 5 "$tmp/apt.log" >&2
		fi
	fi
	[[ -n $ANSIBLE ]] || missing[ansible]="ansible-playbook not found and not installable here (Debian: apt-get install ansible-core)"
fi
TASK=${TASK:-}
if [[ -z $TASK ]]; then
	say "installing task $TASK_VERSION into a temp GOBIN ..."
	if GOBIN="$tmp/gobin" go install "github.com/go-task/task/v3/cmd/task@$TASK_VERSION" >"$tmp/task.log" 2>&1; then
		TASK=$tmp/gobin/task
	else
		tail -n 5 "$tmp/task.log" >&2
		missing[task]="go install github.com/go-task/task/v3/cmd/task@$TASK_VERSION failed (see above)"
	fi
fi
for peer in "${!missing[@]}"; do say "MISSING peer $peer: ${missing[$peer]}"; done

work=$tmp/work
say "generating $N runbooks × $STEPS steps, $N playbooks, the exec workload ..."
"$tmp/bin/gen" -n "$N" -steps "$STEPS" -out "$work/rb" -ansible "$work/pb" -exec "$work/ex"
cp -R "$root/examples/state" "$work/state.orig"
printf '#!/usr/bin/env bash\n# The exec workload'"'"'s shell commands, one bash each as the shell plugin runs them.\nset -e\n' >"$work/ex/work.sh"
while IFS=$'\t' read -r mode c; do
	printf 'bash -c %q >/dev/null\n' "$c" >>"$work/ex/work.sh"
	[[ $mode == ro ]] && printf 'bash -c %q >/dev/null\n' "$c" >>"$work/ex/work-ro.sh"
done <"$work/ex/shell-commands.txt"

rb=$tmp/bin/runbook
# The rows, by label; each a command line run in the folder of rundir.
labels=(parse-floor validate ansible-syntax task-dry task-run hello version dry-run exec-yes exec-one actions-work list)
fresh() { # fresh LABEL: a copy of the exec workload with a fresh state folder; prints its path
	local d
	d=$(mktemp -d "$tmp/runs/$1.XXXXXX")
	cp "$work/ex/"* "$d/"
	cp -R "$work/state.orig" "$d/state"
	printf '%s' "$d"
}
command_of() { # command_of LABEL: set cmd (and dir, where it runs) for the label
	dir=$work
	case $1 in
	parse-floor) cmd=("$tmp/bin/parsefloor" "$work/rb") ;;
	validate) cmd=("$rb" validate --dir "$work/rb") ;;
	# ansible-playbook takes several playbooks in one invocation: one
	# invocation checks all of them, as validate does the folder.
	ansible-syntax) cmd=("$ANSIBLE" --syntax-check -i localhost, "$work"/pb/pb-*.yml) ;;
	task-dry) dir=$(fresh "$1") cmd=("$TASK" --dry) ;;
	task-run) dir=$(fresh "$1") cmd=("$TASK" --silent) ;;
	hello) cmd=("$tmp/bin/hello") ;;
	version) cmd=("$rb" version) ;;
	exec-one) dir=$(fresh "$1") cmd=("$rb" --dir . --state-dir .runbook exec bench-one --yes) ;;
	dry-run) dir=$(fresh "$1") cmd=("$rb" --dir . --state-dir .runbook exec bench-exec --dry-run) ;;
	exec-yes) dir=$(fresh "$1") cmd=("$rb" --dir . --state-dir .runbook exec bench-exec --yes) ;;
	actions-work) dir=$(fresh "$1") cmd=(bash ./work.sh) ;;
	list) cmd=("$rb" --dir "$work/rb" --state-dir "$tmp/list-state" list) ;;
	esac
}
available() { # available LABEL: whether its peer is installed
	case $1 in
	ansible-syntax) [[ -z ${missing[ansible]:-} ]] ;;
	task-dry | task-run) [[ -z ${missing[task]:-} ]] ;;
	*) true ;;
	esac
}
runs_of() { if [[ $1 == ansible-syntax ]]; then echo "$ANSIBLE_RUNS"; else echo "$RUNS"; fi; }

measure() { # measure LABEL I: one timed run; "wall cpu rss_kb" into $tmp/m/LABEL.I
	command_of "$1"
	# GNU time's %e has 10 ms steps: the wall time is taken around it
	# instead, in µs (GNU time's own fork and exec included, about 1 ms).
	local t0=$EPOCHREALTIME
	(cd "$dir" && "$GNU_TIME" -f '%e %U %S %M' -o "$tmp/m/$1.time" "${cmd[@]}" >"$tmp/m/$1.out" 2>"$tmp/m/$1.err") || {
		say "run.sh: $1 failed in $dir:"
		tail -n 20 "$tmp/m/$1.out" "$tmp/m/$1.err" >&2
		exit 1
	}
	local t1=$EPOCHREALTIME
	awk -v w="$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.4f", b - a }')" \
		'{ printf "%s %.3f %s\n", w, $2 + $3, $4 }' "$tmp/m/$1.time" >"$tmp/m/$1.$2"
}
median() { # median COLUMN LABEL
	cat "$tmp/m/$2".[0-9]* | awk -v c="$1" '{ print $c }' | sort -g |
		awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

mkdir -p "$tmp/m" "$tmp/runs"
say "warm-up ..."
for l in "${labels[@]}"; do
	available "$l" || continue
	measure "$l" 0
	rm -f "$tmp/m/$l.0"
done
say "measuring $RUNS runs of each, interleaved (ansible: $ANSIBLE_RUNS) ..."
for i in $(seq 1 "$RUNS"); do
	for l in "${labels[@]}"; do
		available "$l" || continue
		((i <= $(runs_of "$l"))) || continue
		measure "$l" "$i"
	done
	rm -rf "$tmp/runs"/*
done

say "peak RSS of exec --yes (3 plugins), runbook and any plugin processes in total ($RUNS runs) ..."
for i in $(seq 1 "$RUNS"); do
	d=$(fresh rss)
	(cd "$d" && "$tmp/bin/rsstree" -o "$tmp/m/rss.$i" -- "$rb" --dir . --state-dir .runbook exec bench-exec --yes >/dev/null 2>&1)
done

# Table.
misses=0
wall() { median 1 "$1"; }
row() { # row LABEL PEER RATIO BUDGET VERDICT
	local l=$1
	printf '%-15s %8.4f %8.2f %8.1f   %-15s %8s   %-7s %-22s %s\n' "$l" "$(median 1 "$l")" "$(median 2 "$l")" \
		"$(awk -v k="$(median 3 "$l")" 'BEGIN { print k / 1024 }')" "$2" "$3" "$4" "$5" "${6:-}"
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }'; }
verdict() { # verdict EXPR-TRUE
	if [[ $1 == 1 ]]; then echo PASS; else
		misses=$((misses + 1))
		echo MISS
	fi
}
le() { awk -v a="$1" -v b="$2" 'BEGIN { print (a <= b) ? 1 : 0 }'; }

echo
printf '%-15s %8s %8s %8s   %-15s %8s   %-7s %-22s %s\n' command "wall s" "cpu s" "RSS MiB" peer "ratio" verdict budget note
printf '%s\n' "-----------------------------------------------------------------------------------------------------------"
for l in parse-floor hello version; do row "$l" "" "" "" "" "(peer)"; done
if available ansible-syntax; then row ansible-syntax "" "" "" "" "(peer; $ANSIBLE_RUNS runs)"; else printf '%-15s MISSING: %s\n' ansible-syntax "${missing[ansible]}"; fi
for l in task-dry task-run; do
	if available "$l"; then row "$l" "" "" "" "" "(peer)"; else printf '%-15s MISSING: %s\n' "$l" "${missing[task]}"; fi
done
row actions-work "" "" "" "" "(the exec's 6 shell commands, one bash -c each)"

r=$(ratio "$(wall validate)" "$(wall parse-floor)")
row validate parse-floor "${r}×" "$(verdict "$(le "$r" 1.0)")" "≤ 1.0× floor"
if available ansible-syntax; then
	r=$(ratio "$(wall validate)" "$(wall ansible-syntax)")
	row validate ansible-syntax "${r}×" "$(verdict "$(le "$r" 0.2)")" "≤ 0.2× (5× faster)"
else
	misses=$((misses + 1))
	printf '%-15s %s\n' validate "vs ansible-syntax: MISSING peer, not measured"
fi
if available task-dry; then
	r=$(ratio "$(wall dry-run)" "$(wall task-dry)")
	row dry-run task-dry "${r}×" "$(verdict "$(le "$r" 0.6)")" "≤ 0.6× task --dry"
	r=$(ratio "$(wall exec-yes)" "$(wall task-run)")
	row exec-yes task-run "${r}×" "$(verdict "$(le "$r" 0.8)")" "≤ 0.8× task"
else
	misses=$((misses + 2))
	printf '%-15s %s\n' dry-run "vs task-dry: MISSING peer, not measured" exec-yes "vs task-run: MISSING peer, not measured"
fi
r=$(ratio "$(wall exec-one)" "$(wall version)")
row exec-one version "${r}×" "$(verdict "$(le "$r" 1.5)")" "≤ 1.5× runbook version"
row list "" "" "" "" "($N runbooks)"

rss_med() { cat "$tmp/m"/rss.* | awk -v c="$1" '{ print $c }' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
total=$(awk -v k="$(rss_med 1)" 'BEGIN { printf "%.1f", k / 1024 }')
pss=$(awk -v k="$(rss_med 6)" 'BEGIN { printf "%.1f", k / 1024 }')
printf '%-15s %8s %8s %8.1f   %-15s %8s   %-7s %-22s %s\n' exec-rss-total "" "" "$total" "" "" \
	"$(verdict "$(le "$total" 40)")" "< 40 MiB" \
	"host $(awk -v k="$(rss_med 2)" 'BEGIN { printf "%.1f", k / 1024 }') + plugin processes ($(rss_med 4)) $(awk -v k="$(rss_med 3)" 'BEGIN { printf "%.1f", k / 1024 }') MiB (VmHWM sum); PSS ${pss} MiB"
echo
echo "Medians of $RUNS runs after a warm-up (ansible: $ANSIBLE_RUNS), interleaved; wall from \$EPOCHREALTIME around GNU time;"
echo "cpu = user + sys (GNU time, 10 ms steps); RSS = GNU time max RSS of"
echo "the measured process only. $(getconf _NPROCESSORS_ONLN) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg): a shared machine is noisy."
echo "ansible: one invocation over all $N playbooks. actions-work = wall of running the exec's shell commands one"
echo "bash -c each (an upper bound: plus one bash). exec-rss-total: bench/rsstree sums the peak RSS (VmHWM) of host and"
echo "plugin processes (shared text counted per process: an upper bound); PSS = largest simultaneous PSS sum sampled."

# The transcript store (team mode): its cost per event and listing over
# 100,000 stored runs, against a private PostgreSQL (bench/store.sh).
echo
if ! RUNS=$RUNS STRICT=$STRICT "$root/bench/store.sh"; then
	[[ $STRICT == 1 ]] && misses=$((misses + 1))
	say "store: not measured or over budget (bench/store.sh needs PostgreSQL's server binaries)"
fi

if [[ $STRICT == 1 && $misses -gt 0 ]]; then
	exit 1
fi
