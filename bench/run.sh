#!/usr/bin/env bash
# Side-by-side benchmark: Posthorn and a private Postfix instance, one after
# the other, relaying the same smtp-source load to the same kind of
# smtp-sink. See docs/benchmarks.md for what is measured and how to read it.
#
# Usage: sudo bench/run.sh [throughput|latency|all]     (default: all)
# Environment (defaults in brackets):
#   MESSAGES [20000]  messages in the throughput run
#   SESSIONS [20]     parallel smtp-source sessions (one message per session)
#   SIZE     [2048]   message body bytes (smtp-source -l)
#   WARMUP   [200]    messages sent and delivered before timing starts
#   LAT_MESSAGES [500]  messages in the one-session accept-latency run
#   E2E_MESSAGES [50]   single messages timed from send to arrival
#   BENCH_DIR [/var/tmp]  where the scratch directory (data_dir, Postfix
#                         queue) is created: put it on the disk to measure
#   KEEP_WORK [0]     1 keeps the scratch directory (logs) afterwards
#   SPOOL_SYNC [journal] Posthorn's spool_sync: journal, file or filesystem
#   PH_EXTRA  []      TOML appended to Posthorn's config (after [delivery]),
#                     e.g. PH_EXTRA=$'[trace]\nmax_events = 0' to measure
#                     the cost of the trace store
set -euo pipefail

MODE=${1:-all}
MESSAGES=${MESSAGES:-20000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-2048}
WARMUP=${WARMUP:-200}
LAT_MESSAGES=${LAT_MESSAGES:-500}
E2E_MESSAGES=${E2E_MESSAGES:-50}
WAIT_LIMIT=${WAIT_LIMIT:-600}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/posthorn-bench.XXXXXX")
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
trap cleanup EXIT

need_tools
case $MODE in throughput | latency | all) ;; *) die "usage: $0 [throughput|latency|all]" ;; esac

source_args=(-4 -f bench@example.org -t sink@example.net -M client.bench -l "$SIZE")

# start_target NAME: start posthorn or postfix relaying to the sink; sets PORT.
start_target() {
	case $1 in
	posthorn)
		rm -rf "$WORK/posthorn-data"
		start_posthorn "$WORK/posthorn-data" "127.0.0.1:$SINK_PORT"
		PORT=$PH_PORT
		;;
	postfix)
		rm -rf "$WORK/postfix"
		start_postfix "127.0.0.1:$SINK_PORT"
		PORT=$PFX_PORT
		;;
	esac
}

stop_target() {
	case $1 in
	posthorn) stop_posthorn ;;
	postfix) stop_postfix ;;
	esac
}

warm_up() {
	smtp-source "${source_args[@]}" -s 5 -m "$WARMUP" inet:127.0.0.1:"$PORT" >/dev/null
	wait_sink "$WARMUP" "$WAIT_LIMIT"
}

# throughput NAME: prints "accepted/s delivered/s accept_seconds deliver_seconds".
throughput() {
	local name=$1 base t0 t1 t2
	start_sink
	start_target "$name"
	warm_up
	base=$(sink_count)
	log "$name: $MESSAGES messages, $SESSIONS sessions, $SIZE bytes"
	t0=$(now)
	smtp-source "${source_args[@]}" -s "$SESSIONS" -m "$MESSAGES" inet:127.0.0.1:"$PORT" >/dev/null
	t1=$(now)
	wait_sink $((base + MESSAGES)) "$WAIT_LIMIT"
	t2=$(now)
	stop_target "$name"
	stop_sink
	local acc del
	acc=$(elapsed "$t0" "$t1")
	del=$(elapsed "$t0" "$t2")
	echo "$(rate "$MESSAGES" "$acc") $(rate "$MESSAGES" "$del") $acc $del"
}

# e2e_loop PORT: average ms from starting smtp-source for one message to
# the sink counting it, over E2E_MESSAGES messages.
e2e_loop() {
	local port=$1 i base ta tb total=0
	for i in $(seq 1 "$E2E_MESSAGES"); do
		base=$(sink_count)
		ta=$(now)
		smtp-source "${source_args[@]}" -s 1 -m 1 inet:127.0.0.1:"$port" >/dev/null
		wait_sink $((base + 1)) 60
		tb=$(now)
		total=$(awk -v t="$total" -v a="$ta" -v b="$tb" 'BEGIN { printf "%.6f", t + b - a }')
	done
	awk -v t="$total" -v m="$E2E_MESSAGES" 'BEGIN { printf "%.2f", 1000 * t / m }'
}

# latency NAME: prints "accept_ms e2e_ms".
latency() {
	local name=$1 t0 t1 e2e
	start_sink
	start_target "$name"
	warm_up
	log "$name: one session, $LAT_MESSAGES messages one after the other"
	t0=$(now)
	smtp-source "${source_args[@]}" -s 1 -m "$LAT_MESSAGES" inet:127.0.0.1:"$PORT" >/dev/null
	t1=$(now)
	wait_sink $((WARMUP + LAT_MESSAGES)) "$WAIT_LIMIT"
	log "$name: $E2E_MESSAGES single messages timed to arrival at the sink"
	e2e=$(e2e_loop "$PORT")
	stop_target "$name"
	stop_sink
	awk -v a="$(elapsed "$t0" "$t1")" -v n="$LAT_MESSAGES" -v e="$e2e" \
		'BEGIN { printf "%.2f %s\n", 1000 * a / n, e }'
}

# baseline: the same single-message loop straight into the sink, i.e. the
# cost of starting smtp-source and polling the counter; prints "accept_ms e2e_ms".
baseline() {
	local t0 t1 e2e
	start_sink
	t0=$(now)
	smtp-source "${source_args[@]}" -s 1 -m "$LAT_MESSAGES" inet:127.0.0.1:"$SINK_PORT" >/dev/null
	t1=$(now)
	e2e=$(e2e_loop "$SINK_PORT")
	stop_sink
	awk -v a="$(elapsed "$t0" "$t1")" -v n="$LAT_MESSAGES" -v e="$e2e" \
		'BEGIN { printf "%.2f %s\n", 1000 * a / n, e }'
}

log "building posthorn"
build_posthorn

fs=$(df -T "$WORK" | awk 'NR == 2 { print $2 " on " $1 }')
echo "# Posthorn vs Postfix $(postconf -d -h mail_version 2>/dev/null) — $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# machine: $(nproc) cores, kernel $(uname -r), scratch $WORK ($fs)"
echo

if [ "$MODE" = throughput ] || [ "$MODE" = all ]; then
	read -r ph_acc ph_del ph_as ph_ds < <(throughput posthorn)
	read -r pf_acc pf_del pf_as pf_ds < <(throughput postfix)
	echo "## Throughput: smtp-source -s $SESSIONS -m $MESSAGES -l $SIZE (one message per session)"
	echo
	echo "| relay | accepted msg/s | delivered msg/s (end to end) | accept time s | deliver time s |"
	echo "| --- | ---: | ---: | ---: | ---: |"
	echo "| Posthorn | $ph_acc | $ph_del | $ph_as | $ph_ds |"
	echo "| Postfix | $pf_acc | $pf_del | $pf_as | $pf_ds |"
	echo "| ratio Posthorn/Postfix | $(ratio "$ph_acc" "$pf_acc") | $(ratio "$ph_del" "$pf_del") | | |"
	echo
fi

if [ "$MODE" = latency ] || [ "$MODE" = all ]; then
	read -r ph_lat ph_e2e < <(latency posthorn)
	read -r pf_lat pf_e2e < <(latency postfix)
	read -r bl_lat bl_e2e < <(baseline)
	echo "## Latency: one session (smtp-source -s 1 -m $LAT_MESSAGES), and $E2E_MESSAGES single messages to arrival"
	echo
	echo "| relay | accept ms/message | end-to-end ms/message |"
	echo "| --- | ---: | ---: |"
	echo "| Posthorn | $ph_lat | $ph_e2e |"
	echo "| Postfix | $pf_lat | $pf_e2e |"
	echo "| (no relay: smtp-sink directly) | $bl_lat | $bl_e2e |"
	echo
fi
