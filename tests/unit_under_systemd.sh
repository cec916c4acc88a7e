#!/usr/bin/env bash
# The amd64 package under a REAL systemd: boots a Debian 12 container (systemd-nspawn, private
# network) with systemd as PID 1, installs the package there as a technician would (postinst with
# systemd running: user, enable, start), and checks from inside:
#   - layso.service reaches "active (running)" as Type=notify (READY=1 got through the sandbox);
#   - it is still the same process with no restart after 40 s > WatchdogSec=30 (watchdog pings
#     arrive; the system-call filter, ProcSubset, ProtectClock… did not kill it);
#   - the pages and the API answer; a ticket issued before `systemctl restart layso` is still in
#     the store after it;
#   - the sandbox's device rules: a serial node of group dialout opens past the permission and
#     device-cgroup checks (the driver answers), a node of a class not in DeviceAllow= is refused
#     (EPERM), a serial node without the group is refused (EACCES);
#   - remove stops the service; the container's `systemd-analyze security layso` score.
#
#   tests/unit_under_systemd.sh
#
# Needs root, systemd-nspawn (systemd-container) and debootstrap, installed here when missing.
# nspawn itself denies bpf() (the device cgroup filter) and adjtimex() to containers: both are
# allowed here, so that the unit's own DevicePolicy= and SystemCallFilter= are what is tested.
# The container's root file system is made once with debootstrap (about 2 min, 250 MB) in
# $LAYSO_NSPAWN_ROOT (default /var/tmp/layso-nspawn-root) and each run boots a throw-away copy.
# Refuses to run unless CI=true or LAYSO_ALLOW_SYSTEM_INSTALL=1 (it installs packages).
set -euo pipefail

cd "$(dirname "$0")/.."

say() { printf '[unit-test] %s\n' "$*"; }
die() { printf '[unit-test] ERROR: %s\n' "$*" >&2; exit 1; }

if [ "${CI:-}" != true ] && [ "${LAYSO_ALLOW_SYSTEM_INSTALL:-}" != 1 ]; then
    die "this test installs systemd-container and debootstrap on this machine; run it with LAYSO_ALLOW_SYSTEM_INSTALL=1 (CI sets CI=true)"
fi
[ "$(id -u)" -eq 0 ] || die "systemd-nspawn needs root"

missing=()
command -v systemd-nspawn >/dev/null 2>&1 || missing+=(systemd-container)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
if [ "${#missing[@]}" -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi

BASE_ROOT=${LAYSO_NSPAWN_ROOT:-/var/tmp/layso-nspawn-root}
if [ ! -x "$BASE_ROOT/lib/systemd/systemd" ] || [ ! -x "$BASE_ROOT/usr/bin/curl" ]; then
    say "debootstrap bookworm into $BASE_ROOT (once)"
    t0=$SECONDS
    rm -rf "$BASE_ROOT.partial"
    debootstrap --variant=minbase --include=systemd,systemd-sysv,dbus,curl,ca-certificates \
        bookworm "$BASE_ROOT.partial" http://deb.debian.org/debian >/dev/null
    mv "$BASE_ROOT.partial" "$BASE_ROOT"
    say "container root made in $((SECONDS - t0)) s"
fi

WORK=$(mktemp -d /var/tmp/layso-unit-test.XXXXXX)
trap '[ -n "${LAYSO_KEEP:-}" ] || rm -rf "$WORK"' EXIT

t0=$SECONDS
scripts/package-deb.sh amd64 --out "$WORK/pkg" >/dev/null
DEB=$(ls "$WORK"/pkg/layso_*_amd64.deb)
say "package: $(basename "$DEB") ($((SECONDS - t0)) s)"

ROOTFS="$WORK/root"
cp -a "$BASE_ROOT" "$ROOTFS"
mkdir -p "$ROOTFS/probe"
cp "$DEB" "$ROOTFS/probe/layso.deb"

# The probe: runs once at boot inside the container, writes "ok …" / "FAIL …" lines to
# /probe/result, then powers the container off.
cat >"$ROOTFS/probe/probe.sh" <<'PROBE'
#!/bin/bash
set -u
out=/probe/result
: >"$out"
ok() { echo "ok   $*" >>"$out"; }
bad() { echo "FAIL $*" >>"$out"; }
note() { echo "note $*" >>"$out"; }

wait_active() { # up to 30 s for layso.service to be active
    local i
    for i in $(seq 1 60); do
        [ "$(systemctl is-active layso.service)" = active ] && return 0
        sleep 0.5
    done
    return 1
}
prop() { systemctl show -P "$1" layso.service; }

if DEBIAN_FRONTEND=noninteractive dpkg -i /probe/layso.deb >/probe/dpkg.log 2>&1 </dev/null; then
    ok "dpkg -i with systemd running"
else
    bad "dpkg -i with systemd running: $(tail -5 /probe/dpkg.log | tr '\n' ' ')"
fi
ok "user layso: $(id layso)"

if wait_active; then
    ok "layso.service active after install (Type=$(prop Type), READY=1 received)"
else
    bad "layso.service active after install: $(systemctl status --no-pager layso.service 2>&1 | head -20 | tr '\n' '|')"
fi
[ "$(systemctl is-enabled layso.service)" = enabled ] && ok "layso.service enabled" || bad "layso.service enabled"

bind=$(awk '/^[[:space:]]*\[/ { w = ($0 ~ /^[[:space:]]*\[web\]/) } w && /^[[:space:]]*bind[[:space:]]*=/ { sub(/^[^=]*=[[:space:]]*"/, ""); sub(/".*/, ""); print; exit }' /etc/layso/layso.toml)
port=${bind##*:}
host=${bind%:*}
case "$host" in 0.0.0.0 | '[::]' | '') host=127.0.0.1 ;; esac
base="http://$host:$port"
for i in $(seq 1 50); do curl -fs -o /dev/null "$base/api/v1/state" && break; sleep 0.2; done
for page in /kiosk /status /display /counter/1 /api/v1/state; do
    code=$(curl -s -o /probe/body -w '%{http_code}' "$base$page")
    [ "$code" = 200 ] && ok "GET $page -> 200 (under the hardened unit)" || bad "GET $page -> $code"
done
service=$(sed -nE 's/.*"services":\[\{[^}]*"id":"([^"]+)".*/\1/p' /probe/body)
code=$(curl -s -o /probe/body -w '%{http_code}' -X POST -H 'content-type: application/json' \
    -d "{\"service\":\"$service\",\"priority\":false}" "$base/api/v1/tickets")
[ "$code" = 201 ] && ok "POST /api/v1/tickets -> 201" || bad "POST /api/v1/tickets -> $code $(head -c 200 /probe/body)"
seq=$(sed -nE 's/.*"seq":([0-9]+).*/\1/p' /probe/body)

pid1=$(prop MainPID)
note "watchdog: WatchdogUSec=$(prop WatchdogUSec); waiting 40 s"
sleep 40
pid2=$(prop MainPID)
restarts=$(prop NRestarts)
if [ "$pid1" = "$pid2" ] && [ "$restarts" = 0 ] && [ "$(systemctl is-active layso.service)" = active ]; then
    ok "same process after 40 s > WatchdogSec=30, NRestarts=0 (watchdog pings arrive)"
else
    bad "watchdog: MainPID $pid1 -> $pid2, NRestarts=$restarts, $(systemctl is-active layso.service)"
fi
ts=$(prop WatchdogTimestampMonotonic)
[ "${ts:-0}" != 0 ] && ok "systemd recorded a watchdog ping (WatchdogTimestampMonotonic=$ts)" || bad "no watchdog ping recorded"

systemctl restart layso.service
if wait_active; then ok "active again after systemctl restart"; else bad "active again after systemctl restart"; fi
for i in $(seq 1 50); do curl -fs -o /probe/body "$base/api/v1/state" && break; sleep 0.2; done
last=$(sed -nE 's/.*"last_seq":([0-9]+).*/\1/p' /probe/body)
if [ -n "$seq" ] && [ -n "$last" ] && [ "$last" -ge "$seq" ]; then
    ok "the store kept the ticket across the restart (last_seq $last >= $seq)"
else
    bad "the store kept the ticket across the restart (last_seq '$last', ticket seq '$seq')"
fi

if journalctl -u layso.service --no-pager | grep -qiE 'SIGSYS|bad system call|core-dump|watchdog timeout'; then
    bad "journal shows a killed daemon: $(journalctl -u layso.service --no-pager | grep -iE 'SIGSYS|bad system call|core-dump|watchdog timeout' | head -3 | tr '\n' '|')"
else
    ok "journal: no SIGSYS, core dump or watchdog timeout"
fi
journalctl -u layso.service --no-pager >/probe/journal.txt 2>&1

# Device access under the same sandbox: a copy of layso.service that opens device nodes instead.
mknod /dev/ttyS9 c 4 73 && chown root:dialout /dev/ttyS9 && chmod 0660 /dev/ttyS9
mknod /dev/ttyS10 c 4 74 && chown root:root /dev/ttyS10 && chmod 0660 /dev/ttyS10
mknod /dev/probe-tun c 10 200 && chmod 0666 /dev/probe-tun
cat >/usr/local/bin/devprobe <<'EOF'
#!/bin/sh
for d in /dev/ttyS9 /dev/ttyS10 /dev/probe-tun; do
    if msg=$( (exec 3<>"$d") 2>&1 ); then echo "$d opened"; else echo "$d ${msg##*: }"; fi
done
# adjtimex(2) with modes = 0 (x86_64 syscall 159), as the daemon's clock_ok test does; and
# clock_settime(2) (227), which must stay refused.
perl -e '$b = "\0" x 208; $r = syscall(159, $b); print "adjtimex ", ($r < 0 ? "error $!" : "ok $r"), "\n"'
perl -e '$t = pack("q q", time, 0); $r = syscall(227, 0, $t); print "clock_settime ", ($r < 0 ? "error $!" : "ok $r"), "\n"'
EOF
chmod 0755 /usr/local/bin/devprobe
sed -E '/^(Type|NotifyAccess|WatchdogSec|Restart|RestartSec|ExecStart|StartLimitIntervalSec)=/d' \
    /usr/lib/systemd/system/layso.service >/etc/systemd/system/layso-devprobe.service
printf '[Service]\nType=oneshot\nExecStart=/usr/local/bin/devprobe\nStandardOutput=file:/probe/devprobe.txt\n' \
    >>/etc/systemd/system/layso-devprobe.service
systemctl daemon-reload
systemctl start layso-devprobe.service
sed 's/^/note devprobe: /' /probe/devprobe.txt >>"$out"
# saw PATTERN KEY PASS FAIL: ok PASS if a line devprobe wrote matches PATTERN, else FAIL with
# the lines that name KEY.
saw() { grep -q "$1" /probe/devprobe.txt && ok "$3" || bad "$4: $(grep "$2" /probe/devprobe.txt)"; }
saw '^/dev/ttyS9 \(opened\|Input/output error\|No such device or address\|No such device\)$' ttyS9 \
    "serial node of group dialout passes permissions and DeviceAllow=char-ttyS (the driver answers)" "serial node of group dialout"
saw '^/dev/ttyS10 Permission denied$' ttyS10 "serial node without the group: Permission denied" "serial node without the group"
saw '^/dev/probe-tun Operation not permitted$' probe-tun \
    "device class not in DeviceAllow=: Operation not permitted (DevicePolicy=closed)" "device class not in DeviceAllow="

saw '^adjtimex ok' adjtimex "adjtimex (clock sync status) allowed under the unit's system-call filter" \
    "adjtimex under the unit's system-call filter"
saw '^clock_settime error' clock_settime "clock_settime refused under the unit" "clock_settime under the unit"
note "$(systemd-analyze security --no-pager layso.service 2>&1 | tail -1)"

dpkg -r layso >/probe/dpkg-r.log 2>&1 </dev/null
[ "$(systemctl is-active layso.service)" != active ] && ok "dpkg -r stopped the service" || bad "dpkg -r stopped the service"
[ -d /var/lib/layso/store ] && ok "dpkg -r kept the store" || bad "dpkg -r kept the store"
echo done >>"$out"
PROBE
chmod 0755 "$ROOTFS/probe/probe.sh"
cat >"$ROOTFS/etc/systemd/system/layso-probe.service" <<'EOF'
[Unit]
Description=layso package probe
After=multi-user.target
[Service]
Type=oneshot
TimeoutStartSec=300
ExecStart=/probe/probe.sh
ExecStopPost=/bin/systemctl poweroff --no-block
[Install]
WantedBy=multi-user.target
EOF
ln -s /etc/systemd/system/layso-probe.service "$ROOTFS/etc/systemd/system/multi-user.target.wants/layso-probe.service"

say "booting the container (systemd as PID 1, private network)"
t0=$SECONDS
code=0
SYSTEMD_NSPAWN_UNIFIED_HIERARCHY=${LAYSO_NSPAWN_UNIFIED:-1} SYSTEMD_COLORS=0 timeout 360 systemd-nspawn -q -D "$ROOTFS" --register=no --keep-unit \
    --private-network --system-call-filter='bpf adjtimex' --machine=layso-unit-test -b >"$WORK/console.log" 2>&1 || code=$?
say "container ran for $((SECONDS - t0)) s (exit $code)"

result="$ROOTFS/probe/result"
if [ ! -s "$result" ] || ! grep -qx "done" "$result"; then
    tail -40 "$WORK/console.log" >&2
    [ -f "$result" ] && cat "$result" >&2
    [ -f "$ROOTFS/probe/journal.txt" ] && tail -30 "$ROOTFS/probe/journal.txt" >&2
    die "the probe did not finish inside the container (console and partial result above)"
fi
sed 's/^/  /' "$result"
pass=$(grep -c '^ok' "$result" || true)
fail=$(grep -c '^FAIL' "$result" || true)
if [ "$fail" -gt 0 ]; then
    say "journal of layso.service in the container:"
    tail -30 "$ROOTFS/probe/journal.txt" >&2
fi
say "$pass passed, $fail failed"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
