#!/usr/bin/env bash
# The cost of the trace store on the relay: Posthorn alone (no Postfix),
# the same smtp-source load into the same kind of smtp-sink, once with the
# trace store off (trace.max_events = 0) and once on (the default), with
# "sync; sleep 5" between the runs so that the second does not pay for the
# first one's write-back. Prints a Markdown table: accepted msg/s,
# delivered msg/s, and the CPU the posthorn process used per message
# (user + system, from /proc/PID/stat, from the start of the load until
# two seconds after the sink has every message, so that the trace writer's
# last write is counted), and the trace.db size.
#
# Usage: sudo bench/trace_onoff.sh
# Environment (defaults in brackets):
#   MESSAGES [10000]  messages per run
#   SESSIONS [20]     parallel smtp-source sessions (one message per session)
#   SIZE     [2048]   message body bytes
#   WARMUP   [200]    messages sent and delivered before timing starts
#   ORDER    ["off on"]  the runs, in order
#   PH_BIN   []       a posthorn binary to use instead of building ./cmd/posthorn
#   BENCH_DIR [/var/tmp], KEEP_WORK [0]  as for bench/run.sh
set -euo pipefail

MESSAGES=${MESSAGES:-10000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-2048}
WARMUP=${WARMUP:-200}
ORDER=${ORDER:-off on}
WAIT_LIMIT=${WAIT_LIMIT:-600}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/posthorn-trace-bench.XXXXXX")
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
trap cleanup EXIT

for t in smtp-source smtp-sink; do
	command -v "$t" >/dev/null || die "$t not found (apt-get install postfix)"
done
[ "$(id -u)" = 0 ] || die "run as root: smtp-sink drops privileges to nobody"

source_args=(-4 -f bench@example.org -t sink@example.net -M client.bench -l "$SIZE")
tck=$(getconf CLK_TCK)

# cpu_ticks PID: user + system clock ticks of PID so far.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# one_run on|off: prints "accepted/s delivered/s cpu_ms_per_message trace_db_bytes".
one_run() {
	local mode=$1 base c0 c1 t0 t1 t2 db=0
	PH_EXTRA=""
	if [ "$mode" = off ]; then
		PH_EXTRA=$'[trace]\nmax_events = 0'
	fi
	rm -rf "$WORK/posthorn-data"
	start_sink
	start_posthorn "$WORK/posthorn-data" "127.0.0.1:$SINK_PORT"
	smtp-source "${source_args[@]}" -s 5 -m "$WARMUP" inet:127.0.0.1:"$PH_PORT" >/dev/null
	wait_sink "$WARMUP" "$WAIT_LIMIT"
	sleep 2
	base=$(sink_count)
	log "trace $mode: $MESSAGES messages, $SESSIONS sessions, $SIZE bytes"
	c0=$(cpu_ticks "$PH_PID")
	t0=$(now)
	smtp-source "${source_args[@]}" -s "$SESSIONS" -m "$MESSAGES" inet:127.0.0.1:"$PH_PORT" >/dev/null
	t1=$(now)
	wait_sink $((base + MESSAGES)) "$WAIT_LIMIT"
	t2=$(now)
	sleep 2
	c1=$(cpu_ticks "$PH_PID")
	stop_posthorn
	stop_sink
	if [ -f "$WORK/posthorn-data/trace.db" ]; then
		db=$(du -b -c "$WORK/posthorn-data"/trace.db* | awk 'END { print $1 }')
	fi
	echo "$(rate "$MESSAGES" "$(elapsed "$t0" "$t1")") $(rate "$MESSAGES" "$(elapsed "$t0" "$t2")")" \
		"$(awk -v c=$((c1 - c0)) -v t="$tck" -v n="$MESSAGES" 'BEGIN { printf "%.3f", 1000 * c / t / n }')" "$db"
}

if [ -n "${PH_BIN:-}" ]; then
	cp "$PH_BIN" "$WORK/posthorn"
else
	log "building posthorn"
	build_posthorn
fi

echo "# Trace store on/off — $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# machine: $(nproc) cores, kernel $(uname -r), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo
echo "| run | trace | accepted msg/s | delivered msg/s | posthorn CPU ms/message | trace.db bytes |"
echo "| --- | --- | ---: | ---: | ---: | ---: |"
i=0
for mode in $ORDER; do
	if [ "$i" -gt 0 ]; then
		sync
		sleep 5
	fi
	i=$((i + 1))
	read -r acc del cpu db < <(one_run "$mode")
	echo "| $i | $mode | $acc | $del | $cpu | $db |"
done
