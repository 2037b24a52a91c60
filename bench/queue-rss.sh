#!/usr/bin/env bash
# Memory with a large queue: Posthorn's upstream is down (a port nothing
# listens on), smtp-source injects COUNT messages, and the daemon's resident
# set size is read from /proc/PID/status. The daemon is then restarted with
# the full queue to measure the memory of recovering it.
#
# Usage: sudo bench/queue-rss.sh
# Environment: COUNT [100000], SESSIONS [20], SIZE [2048], BENCH_DIR [/var/tmp],
#              KEEP_WORK [0]
set -euo pipefail

COUNT=${COUNT:-100000}
SESSIONS=${SESSIONS:-20}
SIZE=${SIZE:-2048}

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/posthorn-rss.XXXXXX")
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
trap cleanup EXIT

need_tools
log "building posthorn"
build_posthorn

# An upstream that refuses connections: a free port nobody listens on.
DOWN="127.0.0.1:$(free_port)"
DATA="$WORK/posthorn-data"
start_posthorn "$DATA" "$DOWN" 1h
rss0=$(proc_status_kb "$PH_PID" VmRSS)

log "injecting $COUNT messages ($SESSIONS sessions, $SIZE bytes) with the upstream down"
t0=$(now)
smtp-source -4 -f bench@example.org -t sink@example.net -M client.bench -l "$SIZE" \
	-s "$SESSIONS" -m "$COUNT" inet:127.0.0.1:"$PH_PORT" >/dev/null
t1=$(now)
sleep 5 # let deliveries to the dead upstream fail and settle
rss1=$(proc_status_kb "$PH_PID" VmRSS)
hwm1=$(proc_status_kb "$PH_PID" VmHWM)
files=$(find "$DATA" -type f | wc -l)
disk=$(du -sh "$DATA" | cut -f1)
stop_posthorn

log "restarting posthorn with the full queue"
t2=$(now)
start_posthorn "$DATA" "$DOWN" 1h
t3=$(now)
sleep 5
rss2=$(proc_status_kb "$PH_PID" VmRSS)
hwm2=$(proc_status_kb "$PH_PID" VmHWM)
queued=$("$WORK/posthorn" queue list --config "$PH_CONF" --json | grep -o '"id"' | wc -l)
stop_posthorn

fs=$(df -T "$WORK" | awk 'NR == 2 { print $2 " on " $1 }')
echo "# Posthorn queue memory — $(date -u +%Y-%m-%dT%H:%MZ)"
echo "# machine: $(nproc) cores, kernel $(uname -r), scratch $WORK ($fs)"
echo
echo "| measure | value |"
echo "| --- | ---: |"
echo "| messages injected (smtp-source -s $SESSIONS -m $COUNT -l $SIZE) | $COUNT |"
echo "| injection rate, upstream down | $(rate "$COUNT" "$(elapsed "$t0" "$t1")") msg/s |"
echo "| spool on disk | $disk in $files files |"
echo "| VmRSS idle, empty queue | $((rss0 / 1024)) MiB |"
echo "| VmRSS after injection (VmHWM) | $((rss1 / 1024)) MiB ($((hwm1 / 1024)) MiB) |"
echo "| restart with full queue: time to listen | $(elapsed "$t2" "$t3") s |"
echo "| VmRSS after restart (VmHWM) | $((rss2 / 1024)) MiB ($((hwm2 / 1024)) MiB) |"
echo "| messages listed by queue list after restart | $queued |"
