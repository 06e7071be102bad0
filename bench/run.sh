#!/usr/bin/env bash
# bench/run.sh: the pixel benchmark, leadedge side by side with nginx `empty_gif`.
#
# Both servers run on one core (SERVER_CPU, default 0), wrk on another (LOAD_CPU, default 1),
# all on 127.0.0.1. Measured runs alternate (nginx, leadedge, nginx, leadedge, ...) after a short
# warm-up of each, so drift of a shared machine hits both alike. The report is the ratio
# leadedge/nginx against the goal in DESIGN.md §5 (>= 0.9x); BELOW is reported, not an error.
# At the end leadedge is stopped with SIGTERM and its event log is counted with
# `leadedge events --json`, to show the requests were really logged.
#
# Usage: make bench        (builds build-bench, Release, then runs this)
#        bench/run.sh      (uses build-bench/server/leadedge)
# Environment:
#   LEADEDGE_BIN    leadedge binary             (build-bench/server/leadedge)
#   NGINX_BIN       nginx binary                (/usr/sbin/nginx, Debian nginx-light)
#   WRK_BIN         wrk binary                  (wrk)
#   BENCH_SECONDS   length of a measured run    (10)
#   WARMUP_SECONDS  warm-up per target          (2)
#   ROUNDS          measured runs per target    (2)
#   BENCH_PICK      best | median               (best: the run with the most req/s)
#   BENCH_TARGETS   targets, in order           ("nginx leadedge"; "nginx" alone needs no leadedge)
#   CONNECTIONS     wrk connections             (50)
#   SERVER_CPU / LOAD_CPU                       (0 / 1)
#   KEEP_TMP=1      keep the temporary directory (configs, logs, wrk outputs, event log)
#
# Exit status: 0 when the benchmark ran (whatever the ratio), 1 when it could not run or a server
# died, 2 on bad usage.
set -euo pipefail
export LC_ALL=C

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

LEADEDGE_BIN=${LEADEDGE_BIN:-$ROOT/build-bench/server/leadedge}
NGINX_BIN=${NGINX_BIN:-/usr/sbin/nginx}
WRK_BIN=${WRK_BIN:-wrk}
BENCH_SECONDS=${BENCH_SECONDS:-10}
WARMUP_SECONDS=${WARMUP_SECONDS:-2}
ROUNDS=${ROUNDS:-2}
BENCH_PICK=${BENCH_PICK:-best}
BENCH_TARGETS=${BENCH_TARGETS:-nginx leadedge}
CONNECTIONS=${CONNECTIONS:-50}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
KEEP_TMP=${KEEP_TMP:-0}
GOAL=0.9
START_TIMEOUT_S=15 # per server, to accept connections
STOP_TIMEOUT_S=60  # leadedge's drain after SIGTERM
EVENTS_TIMEOUT_S=600

# The request: a realistic page view from a consenting visitor with a cookie, ~600 bytes.
PIXEL_PATH='/p.gif?e=pv&url=https%3A%2F%2Fwww.example.com%2Fpricing%3Futm_source%3Dnewsletter%26utm_medium%3Demail&ref=https%3A%2F%2Fwww.example.com%2Fproducts%2Fwidget&t=Pricing%20%E2%80%93%20Example%20GmbH&vid=0123456789abcdef0123456789abcdef&ts=1764175561123&consent=1&p.plan=enterprise'
HEADERS=(
    'User-Agent: Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
    'Accept-Language: de-DE,de;q=0.9,en;q=0.8'
    'Cookie: le_vid=0123456789abcdef0123456789abcdef; _ga=GA1.2.123.456'
    'Referer: https://www.example.com/products/widget'
)

die() {
    echo "bench: $*" >&2
    exit 1
}
log() { echo "bench: $*" >&2; }

# --- arguments and tools -------------------------------------------------------------------

is_uint() { [[ "$1" =~ ^[0-9]+$ ]]; }
usage_check() { # name value min max
    if ! is_uint "$2" || [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then
        echo "bench: $1=$2: expected an integer in $3..$4" >&2
        exit 2
    fi
}
usage_check BENCH_SECONDS "$BENCH_SECONDS" 1 3600
usage_check WARMUP_SECONDS "$WARMUP_SECONDS" 0 600
usage_check ROUNDS "$ROUNDS" 1 50
usage_check CONNECTIONS "$CONNECTIONS" 1 10000
usage_check SERVER_CPU "$SERVER_CPU" 0 4095
usage_check LOAD_CPU "$LOAD_CPU" 0 4095
case "$BENCH_PICK" in best | median) ;; *)
    echo "bench: BENCH_PICK=$BENCH_PICK: expected best or median" >&2
    exit 2
    ;;
esac
read -r -a TARGETS <<<"$BENCH_TARGETS"
[ "${#TARGETS[@]}" -gt 0 ] || {
    echo "bench: BENCH_TARGETS is empty" >&2
    exit 2
}
want_leadedge=0
want_nginx=0
for t in "${TARGETS[@]}"; do
    case "$t" in
        nginx) want_nginx=1 ;;
        leadedge) want_leadedge=1 ;;
        *)
            echo "bench: BENCH_TARGETS: unknown target '$t' (nginx, leadedge)" >&2
            exit 2
            ;;
    esac
done

for tool in taskset python3 "$WRK_BIN"; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool not found (run \`make deps-bench\` or \`make bench\`)"
done
if [ "$want_nginx" = 1 ] && [ ! -x "$NGINX_BIN" ]; then
    die "$NGINX_BIN not found or not executable (Debian package nginx-light; \`make bench\` installs it)"
fi
if [ "$want_leadedge" = 1 ]; then
    case "$LEADEDGE_BIN" in /*) ;; *) LEADEDGE_BIN=$PWD/$LEADEDGE_BIN ;; esac
    [ -x "$LEADEDGE_BIN" ] || die "$LEADEDGE_BIN not found or not executable (\`make bench\` builds it)"
fi
for cpu in "$SERVER_CPU" "$LOAD_CPU"; do
    taskset -c "$cpu" true 2>/dev/null || die "cannot pin to CPU $cpu (affinity: $(taskset -pc $$ | sed 's/.*: //')); set SERVER_CPU / LOAD_CPU"
done
[ "$SERVER_CPU" != "$LOAD_CPU" ] || log "warning: server and wrk share CPU $SERVER_CPU; figures will be meaningless"

# --- processes and clean-up -----------------------------------------------------------------

TMP=$(mktemp -d "${TMPDIR:-/tmp}/leadedge-bench.XXXXXX")
PIDS=() # every process this script started and has not reaped yet

forget_pid() {
    local keep=() p
    for p in "${PIDS[@]}"; do [ "$p" = "$1" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

alive() { # pid: running and not a zombie
    local state
    state=$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "$state" != Z ]
}

# Stop one process we started: signal, wait a bounded time, then SIGKILL. Prints nothing.
stop_pid() { # pid signal timeout_s
    local pid=$1 i
    kill "-$2" "$pid" 2>/dev/null || true
    for ((i = 0; i < $3 * 10; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    wait "$pid" 2>/dev/null || true
    forget_pid "$pid"
}

cleanup() {
    local rc=$? p
    trap - EXIT INT TERM
    for p in "${PIDS[@]}"; do stop_pid "$p" TERM 5; done
    if [ "$KEEP_TMP" = 1 ]; then
        log "kept $TMP"
    else
        rm -rf -- "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

show_log() { # file: its last lines, indented, on stderr
    [ -s "$1" ] || return 0
    echo "---- last lines of $1" >&2
    tail -n 20 "$1" | sed 's/^/    /' >&2
}

# Three distinct free loopback ports (held together while chosen, so they differ).
read -r PORT_NGINX PORT_LEADEDGE PORT_ADMIN < <(python3 -c '
import socket
ss = [socket.socket() for _ in range(3)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
')

# Wait until pid accepts TCP connections on 127.0.0.1:port; fail if it exits first.
wait_port() { # name pid port logfile
    local i
    for ((i = 0; i < START_TIMEOUT_S * 10; i++)); do
        if ! alive "$2"; then
            show_log "$4"
            die "$1 exited during start-up"
        fi
        if (exec 3<>"/dev/tcp/127.0.0.1/$3") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    show_log "$4"
    die "$1 did not accept connections on 127.0.0.1:$3 within ${START_TIMEOUT_S}s"
}

# One request with the benchmark's URL and headers; the answer must be a 2xx.
probe() { # name port
    local out
    if ! out=$(python3 - "$2" "$PIXEL_PATH" "${HEADERS[@]}" <<'EOF'
import http.client, sys
port, path, headers = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
c.putrequest("GET", path, skip_host=False, skip_accept_encoding=True)
for h in headers:
    k, v = h.split(": ", 1)
    c.putheader(k, v)
c.endheaders()
r = c.getresponse()
body = r.read()
print(r.status, r.getheader("Content-Type", "-"), len(body))
sys.exit(0 if 200 <= r.status < 300 else 1)
EOF
    ); then
        die "$1 answered the pixel request with '${out:-no response}' (expected a 2xx)"
    fi
    log "$1 probe: HTTP status, type, body bytes: $out"
}

start_nginx() {
    local dir=$TMP/nginx
    mkdir -p "$dir/tmp" "$dir/logs"
    sed -e "s|@DIR@|$dir|g" -e "s|@PORT@|$PORT_NGINX|g" "$ROOT/bench/nginx.conf.in" >"$dir/nginx.conf"
    taskset -c "$SERVER_CPU" "$NGINX_BIN" -p "$dir/" -c "$dir/nginx.conf" -e "$dir/err.log" \
        >"$dir/stdout.log" 2>&1 &
    NGINX_PID=$!
    PIDS+=("$NGINX_PID")
    wait_port nginx "$NGINX_PID" "$PORT_NGINX" "$dir/err.log"
    probe nginx "$PORT_NGINX"
}

start_leadedge() {
    local dir=$TMP/leadedge
    LEADEDGE_CFG=$dir/leadedge.yaml
    mkdir -p "$dir/data"
    cat >"$LEADEDGE_CFG" <<EOF
# Written by bench/run.sh: one worker on loopback, group commit, quiet log.
server:
  listen: "127.0.0.1:$PORT_LEADEDGE"
  workers: 1
store:
  data_dir: "$dir/data"
  fsync: ${BENCH_FSYNC:-interval}
admin:
  listen: "127.0.0.1:$PORT_ADMIN"
log:
  level: warn
EOF
    taskset -c "$SERVER_CPU" "$LEADEDGE_BIN" -c "$LEADEDGE_CFG" >"$dir/leadedge.log" 2>&1 &
    LEADEDGE_PID=$!
    PIDS+=("$LEADEDGE_PID")
    wait_port leadedge "$LEADEDGE_PID" "$PORT_LEADEDGE" "$dir/leadedge.log"
    probe leadedge "$PORT_LEADEDGE"
    LEADEDGE_SENT=1 # the probe
}

port_of() { if [ "$1" = nginx ]; then echo "$PORT_NGINX"; else echo "$PORT_LEADEDGE"; fi; }
pid_of() { if [ "$1" = nginx ]; then echo "$NGINX_PID"; else echo "$LEADEDGE_PID"; fi; }
logfile_of() { if [ "$1" = nginx ]; then echo "$TMP/nginx/err.log"; else echo "$TMP/leadedge/leadedge.log"; fi; }

# A wrk duration like "1.23ms" / "456.00us" / "1.01s" / "2.00m" in milliseconds.
to_ms() {
    awk -v v="$1" 'BEGIN {
        if (!match(v, /^[0-9.]+/)) { print "nan"; exit }
        n = substr(v, 1, RLENGTH); u = substr(v, RLENGTH + 1)
        f = (u == "us") ? 0.001 : (u == "ms") ? 1 : (u == "s") ? 1000 : (u == "m") ? 60000 : (u == "h") ? 3600000 : -1
        if (f < 0) print "nan"; else printf "%.3f", n * f
    }'
}

# Run wrk against a target; sets RPS, P99_MS, DONE (completed requests), NON2XX, SOCKERR.
RUN_NO=0
run_wrk() { # target seconds label
    local target=$1 secs=$2 label=$3 port pid out wpid rc=0 p99
    port=$(port_of "$target")
    pid=$(pid_of "$target")
    RUN_NO=$((RUN_NO + 1))
    out=$TMP/wrk-$RUN_NO-$target-$label.txt
    local hargs=() h
    for h in "${HEADERS[@]}"; do hargs+=(-H "$h"); done
    taskset -c "$LOAD_CPU" "$WRK_BIN" -t1 "-c$CONNECTIONS" "-d${secs}s" --latency "${hargs[@]}" \
        "http://127.0.0.1:$port$PIXEL_PATH" >"$out" 2>&1 &
    wpid=$!
    PIDS+=("$wpid")
    wait "$wpid" || rc=$?
    forget_pid "$wpid"
    if ! alive "$pid"; then
        show_log "$(logfile_of "$target")"
        die "$target died under load ($label run)"
    fi
    RPS=$(awk '/^Requests\/sec:/ { print $2 }' "$out")
    p99=$(awk '$1 == "99%" { print $2 }' "$out")
    DONE=$(awk '/ requests in / { print $1 }' "$out")
    NON2XX=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' "$out")
    SOCKERR=$(awk -F': ' '/Socket errors:/ { print $2 }' "$out")
    if [ "$rc" -ne 0 ] || [ -z "$RPS" ] || [ -z "$p99" ] || [ -z "$DONE" ]; then
        show_log "$out"
        die "wrk against $target failed (exit $rc) or printed no Requests/sec / 99% line"
    fi
    P99_MS=$(to_ms "$p99")
    NON2XX=${NON2XX:-0}
    if [ "$target" = leadedge ]; then LEADEDGE_SENT=$((LEADEDGE_SENT + DONE)); fi
}

# --- the benchmark --------------------------------------------------------------------------

echo "== leadedge pixel benchmark =="
echo "host:    $(nproc) CPUs, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo), $(uname -r)"
echo "load:    $("$WRK_BIN" -v 2>&1 | head -n 1 | awk '{ print $1, $2 }') on CPU $LOAD_CPU, -t1 -c$CONNECTIONS, $ROUNDS x ${BENCH_SECONDS}s per target after ${WARMUP_SECONDS}s warm-up, pick: $BENCH_PICK"
[ "$want_nginx" = 0 ] || echo "nginx:   $("$NGINX_BIN" -v 2>&1 | sed 's/^nginx version: //') (empty_gif) on CPU $SERVER_CPU, port $PORT_NGINX"
[ "$want_leadedge" = 0 ] || echo "leadedge: $LEADEDGE_BIN on CPU $SERVER_CPU, port $PORT_LEADEDGE, 1 worker, fsync ${BENCH_FSYNC:-interval}"
echo

[ "$want_nginx" = 0 ] || start_nginx
[ "$want_leadedge" = 0 ] || start_leadedge

if [ "$WARMUP_SECONDS" -gt 0 ]; then
    for t in "${TARGETS[@]}"; do
        run_wrk "$t" "$WARMUP_SECONDS" warmup
        log "warm-up $t: $(printf '%.0f' "$RPS") req/s"
    done
fi

declare -A SAMPLES=()   # target -> "rps p99;rps p99;..."
declare -A PROBLEMS=()  # target -> non-2xx / socket error notes
for ((round = 1; round <= ROUNDS; round++)); do
    for t in "${TARGETS[@]}"; do
        run_wrk "$t" "$BENCH_SECONDS" "round$round"
        SAMPLES[$t]+="$RPS $P99_MS;"
        printf 'round %d  %-9s %12.0f req/s   p99 %8.3f ms\n' "$round" "$t" "$RPS" "$P99_MS"
        if [ "$NON2XX" != 0 ]; then PROBLEMS[$t]+="round $round: $NON2XX non-2xx responses; "; fi
        if [ -n "$SOCKERR" ]; then PROBLEMS[$t]+="round $round: socket errors: $SOCKERR; "; fi
    done
done

# Stop leadedge the way an operator would, then count its event log.
events_line=""
if [ "$want_leadedge" = 1 ]; then
    kill -TERM "$LEADEDGE_PID" 2>/dev/null || true
    stop_rc=""
    for ((i = 0; i < STOP_TIMEOUT_S * 10; i++)); do
        alive "$LEADEDGE_PID" || break
        sleep 0.1
    done
    if alive "$LEADEDGE_PID"; then
        stop_pid "$LEADEDGE_PID" KILL 5
        events_line="WARNING: leadedge did not exit within ${STOP_TIMEOUT_S}s of SIGTERM (killed)"
    else
        stop_rc=0
        wait "$LEADEDGE_PID" || stop_rc=$?
        forget_pid "$LEADEDGE_PID"
        [ "$stop_rc" = 0 ] || events_line="WARNING: leadedge exited with status $stop_rc after SIGTERM (expected 0)"
    fi
    [ -z "$events_line" ] || show_log "$TMP/leadedge/leadedge.log"

    events_rc=0
    nevents=$(set +o pipefail
        { timeout "$EVENTS_TIMEOUT_S" "$LEADEDGE_BIN" events -c "$LEADEDGE_CFG" --json \
            2>"$TMP/leadedge/events.err"; echo $? >"$TMP/leadedge/events.rc"; } | wc -l)
    events_rc=$(cat "$TMP/leadedge/events.rc" 2>/dev/null || echo '?')
fi
if [ "$want_nginx" = 1 ]; then stop_pid "$NGINX_PID" TERM 10; fi

# --- report ---------------------------------------------------------------------------------

summary() { # target -> "RPS P99" per BENCH_PICK
    python3 - "$BENCH_PICK" "${SAMPLES[$1]}" <<'EOF'
import statistics, sys
pick, raw = sys.argv[1], sys.argv[2]
runs = [tuple(map(float, s.split())) for s in raw.split(";") if s.strip()]
if pick == "best":
    rps, p99 = max(runs)
else:
    rps = statistics.median(r for r, _ in runs)
    p99 = statistics.median(p for _, p in runs)
print(f"{rps:.0f} {p99:.3f}")
EOF
}

echo
echo "| target   |      req/s |   p99 ms |"
echo "|----------|-----------:|---------:|"
declare -A PICKED=()
for t in "${TARGETS[@]}"; do
    [ -n "${PICKED[$t]:-}" ] && continue
    PICKED[$t]=$(summary "$t")
    read -r rps p99 <<<"${PICKED[$t]}"
    printf '| %-8s | %10s | %8s |\n' "$t" "$rps" "$p99"
done
echo "($BENCH_PICK of $ROUNDS runs of ${BENCH_SECONDS}s; p99 at saturation with $CONNECTIONS connections)"

for t in "${!PROBLEMS[@]}"; do echo "WARNING: $t: ${PROBLEMS[$t]}"; done

if [ "$want_nginx" = 1 ] && [ "$want_leadedge" = 1 ]; then
    read -r rps_n _ <<<"${PICKED[nginx]}"
    read -r rps_l _ <<<"${PICKED[leadedge]}"
    ratio=$(awk -v l="$rps_l" -v n="$rps_n" 'BEGIN { printf "%.3f", (n > 0) ? l / n : 0 }')
    verdict=$(awk -v r="$ratio" -v g="$GOAL" 'BEGIN { print (r >= g) ? "PASS" : "BELOW" }')
    echo
    echo "ratio leadedge/nginx: $ratio"
    echo "$verdict: goal >= ${GOAL}x nginx empty_gif (DESIGN.md §5)"
fi

if [ "$want_leadedge" = 1 ]; then
    echo
    [ -z "$events_line" ] || echo "$events_line"
    if [ "$events_rc" != 0 ]; then
        echo "WARNING: \`leadedge events --json\` failed (exit $events_rc): $(head -c 300 "$TMP/leadedge/events.err")"
    fi
    echo "events in leadedge's log: $nevents (requests leadedge answered, warm-up and probe included: $LEADEDGE_SENT)"
    if [ "$nevents" -lt "$LEADEDGE_SENT" ]; then
        echo "WARNING: fewer events logged than requests answered"
    fi
fi
