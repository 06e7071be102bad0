#!/usr/bin/env bash
# run-demo.sh BIN CONFIG: what `make run` starts. The demo site and the demo CRM receiver
# (examples/demo.py) in the background, then leadedge in the foreground; when leadedge stops
# (Ctrl-C, SIGTERM, or it fails), the demo stops too. examples/README.md tells the story.
#
# leadedge's address (server.listen) and the demo-crm endpoint (url, first secret) are read
# from CONFIG, so a copy with other ports works too. DEMO_SITE=HOST:PORT moves the site.
set -u

if [ $# -ne 2 ]; then
    echo "usage: $0 BIN CONFIG" >&2
    exit 2
fi
bin=$1 config=$2
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
site=${DEMO_SITE:-127.0.0.1:8081}

# From a block-style config: server.listen, and the url and first secret of endpoint demo-crm.
read -r listen crm_url secret < <(awk '
    function val(s) { sub(/[ \t]+#.*/, "", s); gsub(/[][\"\047,]/, "", s); return s }
    /^[A-Za-z_]/ { top = $1; ep = "" }
    top == "server:" && $1 == "listen:" && l == "" { l = val($2) }
    top == "crm:" && $1 == "-" && $2 == "name:" { ep = val($3) }
    top == "crm:" && $1 == "name:" { ep = val($2) }
    top == "crm:" && ep == "demo-crm" && $1 == "url:" && u == "" { u = val($2) }
    top == "crm:" && ep == "demo-crm" && $1 == "secrets:" && s == "" { s = val($2) }
    END { print (l == "" ? "-" : l), (u == "" ? "-" : u), (s == "" ? "-" : s) }
' "$config" 2>/dev/null || echo "- - -")
listen=${listen:--}
[ "$listen" = - ] && listen=127.0.0.1:8080
listen=${listen/#0.0.0.0:/127.0.0.1:}
listen=${listen/#\[::\]:/[::1]:}
endpoint=http://$listen

demo_args=(--site "$site" --endpoint "$endpoint")
crm=
if [[ ${crm_url:--} =~ ^http://(127\.0\.0\.1|localhost|\[::1\]):([0-9]+)/mql$ ]]; then
    crm=${BASH_REMATCH[1]}:${BASH_REMATCH[2]}
    demo_args+=(--crm "$crm")
    [ "${secret:--}" != - ] && demo_args+=(--secret "$secret")
else
    demo_args+=(--no-crm)
    echo "run-demo: $config has no demo-crm endpoint at http://127.0.0.1:PORT/mql:" \
        "no demo CRM receiver (MQLs go where the config sends them)" >&2
fi

demo_pid='' le_pid=''
# shellcheck disable=SC2317 # called by the EXIT trap
cleanup() {
    if [ -n "$demo_pid" ] && kill -0 "$demo_pid" 2>/dev/null; then
        kill -TERM "$demo_pid" 2>/dev/null
        wait "$demo_pid" 2>/dev/null
    fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

answers() { # HOST:PORT: something accepts connections there
    local host=${1%:*} port=${1##*:}
    host=${host#[} host=${host%]}
    (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null
}
for addr in "$site" ${crm:+"$crm"}; do
    if answers "$addr"; then
        echo "run-demo: $addr is already in use (another make run?): stop it first" >&2
        exit 1
    fi
done

python3 "$root/examples/demo.py" "${demo_args[@]}" &
demo_pid=$!
# Wait (at most ~5 s) until the demo answers on its ports, or has exited.
ready=0
for ((i = 0; i < 50; i++)); do
    kill -0 "$demo_pid" 2>/dev/null || break
    if answers "$site" && { [ -z "$crm" ] || answers "$crm"; }; then
        ready=1
        break
    fi
    sleep 0.1
done
if [ "$ready" != 1 ]; then
    echo "run-demo: the demo site and CRM receiver (examples/demo.py) did not start" >&2
    exit 1
fi

cat <<EOF

  leadedge demo: a visitor's journey on "Acme Analytics" becomes an MQL
  -----------------------------------------------------------------------
  1. Open http://$site/ in a browser and accept the cookie banner.
  2. Visit Product and Pricing.
  3. Book a demo: a business e-mail address (not gmail.com & co.) and a job
     title such as "VP Marketing" or "CEO".
  The demo CRM receiver prints the MQL here, a few seconds later.
  Each e-mail address becomes an MQL once: use a new one to try again.
  Ctrl-C stops leadedge, the site and the receiver.

EOF

# leadedge runs as a child we wait for, so that a SIGTERM sent to this script is passed on at
# once (bash runs traps between commands, and `wait` is one). Ctrl-C reaches leadedge from the
# terminal itself: passing SIGINT on as well would be a second signal, which is not graceful.
"$bin" -c "$config" &
le_pid=$!
trap : INT
trap 'kill -TERM "$le_pid" 2>/dev/null' TERM
while :; do
    wait "$le_pid"
    rc=$?
    # above 128: a trap interrupted the wait, or leadedge died of a signal
    [ "$rc" -gt 128 ] && kill -0 "$le_pid" 2>/dev/null && continue
    break
done
exit "$rc"
