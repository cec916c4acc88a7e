#!/usr/bin/env bash
# Score the hardening of systemd/layso.service with `systemd-analyze security --offline=true` and
# fail when the overall exposure is above the limit (default 2.0; lower is safer, 10 is none).
#
#   scripts/check-unit-security.sh [UNIT_FILE]      (default: systemd/layso.service)
#
# Environment: LAYSO_MAX_EXPOSURE (default 2.0). Installs the `systemd` package when
# systemd-analyze is missing (needs root; `--offline=true` needs systemd 250 or newer).
set -euo pipefail

cd "$(dirname "$0")/.."
UNIT=${1:-systemd/layso.service}
MAX=${LAYSO_MAX_EXPOSURE:-2.0}

say() { printf '[unit-security] %s\n' "$*"; }
die() { printf '[unit-security] ERROR: %s\n' "$*" >&2; exit 1; }

[ -f "$UNIT" ] || die "no unit file at $UNIT"

if ! command -v systemd-analyze >/dev/null 2>&1; then
    [ "$(id -u)" -eq 0 ] || die "systemd-analyze is missing; install it: sudo apt-get install systemd"
    say "systemd-analyze missing: apt-get install systemd"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends systemd >/dev/null
fi

ver=$(systemd-analyze --version | awk 'NR == 1 { print $2 }')
if [ "${ver%%[!0-9]*}" -lt 250 ] 2>/dev/null; then
    die "systemd-analyze $ver has no --offline; systemd 250 or newer is needed (Debian 12 has 252)"
fi

out=$(mktemp)
trap 'rm -f "$out"' EXIT
# The exit status of `security` is not the verdict (it is non-zero only with --threshold); the
# overall line is.
if ! SYSTEMD_COLORS=0 systemd-analyze security --offline=true --no-pager "$UNIT" >"$out" 2>&1; then
    cat "$out" >&2
    die "systemd-analyze security failed on $UNIT"
fi

# Print the settings that still cost something, then the total.
say "settings that still add exposure:"
grep -E '^✗' "$out" | sed -E 's/^✗ +/  /; s/ {2,}/  /g' || true
overall=$(sed -nE 's/.*Overall exposure level for [^:]+: ([0-9]+\.[0-9]+).*/\1/p' "$out")
[ -n "$overall" ] || { cat "$out" >&2; die "no 'Overall exposure level' line in the output of systemd-analyze"; }

say "exposure of $(basename "$UNIT"): $overall (limit $MAX)"
if awk -v a="$overall" -v m="$MAX" 'BEGIN { exit !(a > m) }'; then
    die "exposure $overall is above $MAX: restore the hardening in $UNIT"
fi
say "OK"
