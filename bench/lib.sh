# Shared functions for bench/run.sh and bench/queue-rss.sh. Source it; it
# expects "set -euo pipefail" and $WORK (a scratch directory on local disk).
#
# Every process started here is recorded in $WORK/pids and killed by
# cleanup (installed as an EXIT trap by the scripts), so an interrupted run
# leaves nothing listening.

export PATH="$PATH:/usr/local/go/bin:/usr/sbin:/sbin"

log() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

now() { date +%s.%N; }
# elapsed T0 T1 → seconds with 3 decimals
elapsed() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
# ratio A B → A/B with 2 decimals
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", (b > 0 ? a / b : 0) }'; }
# rate N SECONDS → N/SECONDS with 1 decimal
rate() { awk -v n="$1" -v s="$2" 'BEGIN { printf "%.1f", (s > 0 ? n / s : 0) }'; }

need_tools() {
	local t
	for t in go smtp-source smtp-sink postfix postqueue; do
		command -v "$t" >/dev/null || die "$t not found (apt-get install postfix; Go in /usr/local/go/bin)"
	done
	[ "$(id -u)" = 0 ] || die "run as root: the private Postfix instance drops privileges to the postfix user"
}

# port_listening PORT: is anything listening on 127.0.0.1/0.0.0.0 PORT?
port_listening() {
	local hex
	hex=$(printf '%04X' "$1")
	awk -v p=":$hex" 'NR > 1 && $4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' \
		/proc/net/tcp /proc/net/tcp6 2>/dev/null
}

# free_port: a port nothing listens on right now, drawn below the kernel's
# ephemeral range: a port in that range can be held in TIME-WAIT by an
# earlier outgoing connection, which makes a later bind() fail.
free_port() {
	local p i lo=10000 hi
	hi=$(awk '{ print $1 - 1 }' /proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || echo 29999)
	for i in $(seq 1 100); do
		p=$((lo + (RANDOM * 32768 + RANDOM) % (hi - lo + 1)))
		if ! port_listening "$p" && ! grep -qi ":$(printf '%04X' "$p") " /proc/net/tcp; then
			echo "$p"
			return
		fi
	done
	die "no free port found"
}

# wait_port PORT [SECONDS]: wait until 127.0.0.1:PORT accepts connections.
wait_port() {
	local i max=$(( ${2:-30} * 10 ))
	for i in $(seq 1 "$max"); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	die "127.0.0.1:$1 not listening after ${2:-30}s"
}

track() { echo "$1" >>"$WORK/pids"; }

cleanup() {
	local pid
	# start_postfix always uses $WORK/postfix (it may have run in a subshell).
	if [ -d "$WORK/postfix/etc" ]; then
		postfix -c "$WORK/postfix/etc" stop >/dev/null 2>&1 || true
	fi
	if [ -f "$WORK/pids" ]; then
		while read -r pid; do
			kill "$pid" 2>/dev/null || true
		done <"$WORK/pids"
		sleep 0.5
		while read -r pid; do
			kill -9 "$pid" 2>/dev/null || true
		done <"$WORK/pids"
		rm -f "$WORK/pids"
	fi
	if [ "${KEEP_WORK:-0}" != 1 ]; then
		rm -rf "$WORK"
	fi
}

# start_sink: smtp-sink on a free port, counting with -c into $WORK/sink.out.
# Sets SINK_PORT and SINK_PID.
start_sink() {
	SINK_PORT=$(free_port)
	: >"$WORK/sink.out"
	smtp-sink -c -4 -u nobody -m 1000 inet:127.0.0.1:"$SINK_PORT" 1024 >"$WORK/sink.out" 2>"$WORK/sink.err" &
	SINK_PID=$!
	track "$SINK_PID"
	wait_port "$SINK_PORT"
}

stop_sink() {
	kill "$SINK_PID" 2>/dev/null || true
	wait "$SINK_PID" 2>/dev/null || true
}

# sink_count: messages the sink has accepted so far (last "mesg=N").
sink_count() {
	tail -c 200 "$WORK/sink.out" | tr '\r' '\n' | awk -F'mesg=' 'NF > 1 { n = $2 + 0 } END { print n + 0 }'
}

# wait_sink N SECONDS: wait until the sink has N messages; fails on timeout.
wait_sink() {
	local i max=$(( $2 * 20 ))
	for i in $(seq 1 "$max"); do
		[ "$(sink_count)" -ge "$1" ] && return 0
		sleep 0.05
	done
	die "sink has $(sink_count) of $1 messages after $2 s"
}

# build_posthorn: go build into $WORK/posthorn from the module root.
build_posthorn() {
	(cd "$ROOT" && go build -o "$WORK/posthorn" ./cmd/posthorn)
}

# start_posthorn DATA_DIR UPSTREAM [RETRY]: sets PH_PORT, PH_PID, PH_CONF.
start_posthorn() {
	local data=$1 upstream=$2 retry=${3:-1s}
	PH_PORT=$(free_port)
	PH_CONF="$WORK/posthorn.toml"
	mkdir -p "$data"
	cat >"$PH_CONF" <<CONF
hostname = "relay.bench"
data_dir = "$data"
spool_sync = "${SPOOL_SYNC:-journal}"

[smtp]
listen = ["127.0.0.1:$PH_PORT"]
trusted_networks = ["127.0.0.0/8"]

[http]
listen = ""

[delivery]
upstreams = ["$upstream"]
retry_schedule = ["$retry"]
tls = "none"
${PH_EXTRA:-}
CONF
	"$WORK/posthorn" serve --config "$PH_CONF" 2>>"$WORK/posthorn.log" &
	PH_PID=$!
	track "$PH_PID"
	wait_port "$PH_PORT" 60
}

# stop_posthorn: SIGTERM and wait (bounded by posthorn's shutdown grace).
stop_posthorn() {
	kill -TERM "$PH_PID" 2>/dev/null || true
	wait "$PH_PID" 2>/dev/null || true
}

# start_postfix RELAY: a private Postfix instance under $WORK/postfix
# relaying everything to RELAY (host:port); sets PFX_PORT and PFX_DIR.
# Same layout as internal/testutil/postfix. Queue durability is Postfix's
# default (cleanup fsyncs every queue file before smtpd replies 250).
start_postfix() {
	local relay=$1
	PFX_DIR="$WORK/postfix"
	PFX_PORT=$(free_port)
	mkdir -p "$PFX_DIR/etc" "$PFX_DIR/spool" "$PFX_DIR/data"
	chown postfix:postfix "$PFX_DIR/data"
	chmod 755 "$WORK" "$PFX_DIR"
	cat >"$PFX_DIR/etc/main.cf" <<CONF
compatibility_level = 3.6
queue_directory = $PFX_DIR/spool
data_directory = $PFX_DIR/data
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.bench
mydomain = bench
myorigin = \$myhostname
mydestination =
local_transport = error:5.1.1 local delivery is disabled
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
relayhost = [${relay%:*}]:${relay##*:}
maillog_file = $PFX_DIR/maillog
maillog_file_prefixes = $PFX_DIR
smtpd_tls_security_level = none
smtp_tls_security_level = none
biff = no
CONF
	cat >"$PFX_DIR/etc/master.cf" <<CONF
127.0.0.1:$PFX_PORT inet n - n - - smtpd
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n -  0 cleanup
qmgr       unix  n - n 300 1 qmgr
rewrite    unix  - - n -  - trivial-rewrite
bounce     unix  - - n -  0 bounce
defer      unix  - - n -  0 bounce
trace      unix  - - n -  0 bounce
verify     unix  - - n -  1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n -  - proxymap
proxywrite unix  - - n -  1 proxymap
smtp       unix  - - n -  - smtp
relay      unix  - - n -  - smtp
showq      unix  n - n -  - showq
error      unix  - - n -  - error
retry      unix  - - n -  - error
discard    unix  - - n -  - discard
anvil      unix  - - n -  1 anvil
scache     unix  - - n -  1 scache
postlog    unix-dgram n - n - 1 postlogd
CONF
	postfix -c "$PFX_DIR/etc" start >/dev/null 2>>"$WORK/postfix.err" || die "postfix start failed: $(tail -5 "$PFX_DIR/maillog")"
	wait_port "$PFX_PORT" 60
}

stop_postfix() {
	postfix -c "$PFX_DIR/etc" stop >/dev/null 2>&1 || true
	local i
	for i in $(seq 1 100); do
		port_listening "$PFX_PORT" || break
		sleep 0.1
	done
}

# vmrss PID NAME: the line "NAME: N kB" from /proc/PID/status, as N.
proc_status_kb() { awk -v k="$2:" '$1 == k { print $2 }' "/proc/$1/status"; }
