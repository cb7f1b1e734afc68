#!/usr/bin/env bash
# Issue 11, acceptance 2: the hardware-search comparison rerun on today's engine (the issue-11
# cost model) with the baselines' feasibility mask, in the order the rules need:
#   1. the settings study on the TUNING set, NSGA-II and TPE (benchmarks/results/hw_search_tuning.json),
#   2. the RL settings study on the tuning set (benchmarks/results/hw_search_tuning_rl.json),
#   3. the benchmark on the held-out set with the settings 1 and 2 chose (10 seeds, budgets 200
#      and 500, every variant; it trains the digits-dvs network first unless --train-dir has it),
#      writing benchmarks/results/hw_search.json, docs/img/hw_search_*.png and
#      runs/hw_search/tables.md (the Markdown tables for docs/search.md and docs/benchmarks.md).
#
# Start it (from anywhere; it runs in its own process group, logs to runs/hw_search/rerun.log):
#   PYTHON=/path/to/python setsid benchmarks/hw_search_rerun.sh < /dev/null > /dev/null 2>&1 &
# Pause and resume the processes that compute (the script, the Python workers, Ray's daemons):
#   kill -STOP -- -$(cat runs/hw_search/rerun.pgid)     kill -CONT -- -$(cat runs/hw_search/rerun.pgid)
# Ray's idle worker processes (ray::IDLE, unused: RLlib runs in the driver here) put themselves
# in process groups of their own; the id is also the session's, so to pause every process:
#   ps -o pid= -s $(cat runs/hw_search/rerun.pgid) | xargs -r kill -STOP     (and -CONT)
# Nothing in it has a wall-clock timeout, so a paused run just continues where it was (tested:
# paused 45 s inside the RL study). Only a pause during a Ray start-up can make it time out: it
# is retried (hw_search.ray_for_rl), and a step that still fails stops the script; restart it.
# Stop it: kill -TERM -- -$(cat runs/hw_search/rerun.pgid). Restart: the start command again;
# every finished run of every step is cached (runs/hw_search/tuning-cache and cache, keyed by
# task, settings, workload, engine behaviour and policy), so it resumes where it stopped. A
# second copy started while one runs exits at once (lock file).
# Progress: tail runs/hw_search/rerun.log;  partial tables without running anything:
#   $PYTHON benchmarks/hw_search.py --cached-only --settings-from benchmarks/results/hw_search_tuning.json \
#       benchmarks/results/hw_search_tuning_rl.json --markdown t.md --out /tmp/t.json --plot-dir /tmp/p
# (only once steps 1 and 2 are done; `--cached-only` runs nothing.)
# Bash reads a running script from the file as it goes: never edit this file in place while it
# runs (write a new file and rename it over this one; the running copy keeps the old one).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT"
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
JOBS=${JOBS:-2}
export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p runs/hw_search
exec 9>runs/hw_search/rerun.lock
if ! flock -n 9; then
    echo "hw_search_rerun.sh is already running (runs/hw_search/rerun.lock)" >&2
    exit 1
fi
exec >>runs/hw_search/rerun.log 2>&1
echo $$ >runs/hw_search/rerun.pid
ps -o pgid= $$ | tr -d ' ' >runs/hw_search/rerun.pgid

step() {
    echo "== $(date -u +%FT%TZ) start: $*  (load $(cut -d' ' -f1-3 /proc/loadavg))"
    local t0=$SECONDS
    nice -n 19 "$PYTHON" "$@"
    echo "== $(date -u +%FT%TZ) done in $((SECONDS - t0)) s: $1  (load $(cut -d' ' -f1-3 /proc/loadavg))"
}

TUNING=benchmarks/results/hw_search_tuning.json
TUNING_RL=benchmarks/results/hw_search_tuning_rl.json
step benchmarks/hw_search_tuning.py --jobs "$JOBS" --studies nsga2 tpe --out "$TUNING"
step benchmarks/hw_search_tuning.py --jobs "$JOBS" --studies rl --out "$TUNING_RL"
step benchmarks/hw_search.py --jobs "$JOBS" --settings-from "$TUNING" "$TUNING_RL" --markdown runs/hw_search/tables.md
echo "== $(date -u +%FT%TZ) all steps done"
