#!/usr/bin/env bash
# deps.sh: make sure the Debian packages named on the command line are installed.
#
# Called by `make deps` (and `make bench`) with the package list kept in the Makefile.
# A package counts as present only when dpkg reports it "installed" (a removed package whose
# config files linger, or a package apt merely knows about, does not count).
#
#   root:     apt-get update (only when something is missing), then a non-interactive
#             apt-get install --no-install-recommends of the missing packages.
#   non-root: print the one `sudo apt-get install -y ...` line to run, and exit 1.
#
# Usage: scripts/deps.sh PACKAGE...
set -euo pipefail

if [ "$#" -eq 0 ]; then
    echo "usage: $0 PACKAGE..." >&2
    exit 2
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
    echo "deps: dpkg-query not found; leadedge's build expects Debian 12 (bookworm)." >&2
    echo "deps: install the equivalents of: $*" >&2
    exit 1
fi

# One dpkg-query call for the whole list. Unknown packages are reported on stderr and simply do
# not appear as installed; multi-arch packages may print one line per architecture.
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "$@" 2>/dev/null |
    awk '$2 == "installed" { print $1 }' || true)

missing=()
for pkg in "$@"; do
    name=${pkg%%:*} # accept "pkg:arch" on the command line
    if ! grep -qxF -- "$name" <<<"$installed"; then
        missing+=("$pkg")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    echo "deps: all ${#} packages installed"
    exit 0
fi

echo "deps: missing Debian packages: ${missing[*]}" >&2

if [ "$(id -u)" -ne 0 ]; then
    echo "sudo apt-get install -y ${missing[*]}"
    echo "deps: not running as root, so nothing was installed; run the line above, then make again." >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "deps: apt-get update" >&2
apt-get update -q
echo "deps: apt-get install ${missing[*]}" >&2
apt-get install -y -q --no-install-recommends "${missing[@]}"

# Trust but verify: apt-get can succeed while a package stays half-configured.
still=()
for pkg in "${missing[@]}"; do
    status=$(dpkg-query -W -f='${db:Status-Status}' "${pkg%%:*}" 2>/dev/null || true)
    [ "$status" = installed ] || still+=("$pkg")
done
if [ "${#still[@]}" -ne 0 ]; then
    echo "deps: still not installed after apt-get: ${still[*]}" >&2
    exit 1
fi
echo "deps: installed ${missing[*]}"
