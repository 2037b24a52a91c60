#!/usr/bin/env bash
# List fan-out benchmark: one post to a list of MEMBERS members, from
# smtp-source through Posthorn to smtp-sink. Reports how long the post
# took to be accepted, to be handed to the spool for every member, and to
# reach the sink for every member, and the daemon's peak resident memory.
# See docs/benchmarks.md.
#
# Usage: bench/fanout.sh        (no root needed: no Postfix instance runs)
# Environment (defaults in brackets):
#   MEMBERS [100000]  list members
#   SIZE    [2048]    post body bytes (smtp-source -l)
#   BENCH_DIR [/var/tmp], KEEP_WORK [0], WAIT_LIMIT [900]: as in run.sh
#   PH_EXTRA []       TOML appended to Posthorn's config (after [delivery])
set -euo pipefail

MEMBERS=${MEMBERS:-100000}
SIZE=${SIZE:-2048}
WAIT_LIMIT=${WAIT_LIMIT:-900}
LIST=bench-l@lists.bench
POSTER=m0000000@example.org

ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d "${BENCH_DIR:-/var/tmp}/posthorn-fanout.XXXXXX")
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
trap cleanup EXIT

for t in go smtp-source smtp-sink; do
	command -v "$t" >/dev/null || die "$t not found (apt-get install postfix)"
done

log "building posthorn"
build_posthorn
start_sink
PH_EXTRA="${PH_EXTRA:-}
[lists]
domains = [\"lists.bench\"]
site_url = \"https://lists.bench\"
"
start_posthorn "$WORK/data" "127.0.0.1:$SINK_PORT"
ph() { "$WORK/posthorn" "$@" --config "$PH_CONF"; }

log "creating $LIST with $MEMBERS members"
ph lists create "$LIST" >/dev/null
ph lists set "$LIST" dmarc_mitigation=none --reason "benchmark: no DNS" --yes >/dev/null
awk -v n="$MEMBERS" 'BEGIN { for (i = 0; i < n; i++) printf "m%07d@example.org\n", i }' >"$WORK/members.csv"
ph members import "$LIST" "$WORK/members.csv" >/dev/null

before_rss=$(proc_status_kb "$PH_PID" VmRSS)
log "posting (daemon RSS before: ${before_rss} kB)"
t0=$(now)
smtp-source -4 -m 1 -s 1 -l "$SIZE" -f "$POSTER" -t "$LIST" -M client.bench "127.0.0.1:$PH_PORT"
t_accept=$(now)

# The list server logs "post distributed" once every member's page is in
# the spool; the time is taken when this loop sees it (±50 ms).
t_spool=""
for _ in $(seq 1 $((WAIT_LIMIT * 20))); do
	if grep -q '"listserv: post distributed"' "$WORK/posthorn.log"; then
		t_spool=$(now)
		break
	fi
	sleep 0.05
done
[ -n "$t_spool" ] || die "post not distributed after $WAIT_LIMIT s"
wait_sink "$MEMBERS" "$WAIT_LIMIT"
t_sink=$(now)
peak_rss=$(proc_status_kb "$PH_PID" VmHWM)
files=$(grep -c '"kind":"accepted"' "$WORK/posthorn.log" || true)

accept=$(elapsed "$t0" "$t_accept")
spool=$(elapsed "$t0" "$t_spool")
total=$(elapsed "$t0" "$t_sink")
deliver=$(elapsed "$t_spool" "$t_sink")
cat <<EOF
members                         $MEMBERS
post accepted (SMTP 250)        $accept s
handed to the spool, all pages  $spool s
delivered to the sink, all      $total s
delivery rate after hand-off    $(rate "$MEMBERS" "$deliver") copies/s
end-to-end rate                 $(rate "$MEMBERS" "$total") copies/s
sink messages                   $(sink_count)
peak RSS                        $((peak_rss / 1024)) MiB (before the post: $((before_rss / 1024)) MiB)
EOF
stop_posthorn
