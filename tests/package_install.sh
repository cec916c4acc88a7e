#!/usr/bin/env bash
# Install test of the amd64 Debian package ON THIS MACHINE (root; CI's throw-away machine):
#   1. builds layso_<v>-1 and a bumped layso_<v>-2 with scripts/package-deb.sh;
#   2. installs -1 and checks the files, the conffile, the layso user and its groups, the state
#      directory, the enabled unit;
#   3. does what a newcomer following docs/install.md does on a fresh Debian machine: runs
#      `layso check` and then the daemon as the layso user with the packaged config (as the unit
#      would: its user, its groups, no new privileges) and checks the pages and the API answer;
#      issues a ticket so the store holds a record;
#   4. edits the config like a technician, upgrades to -2, removes, reinstalls: the config edit and
#      the store (the ticket) survive each step;
#   5. purges: the config goes, the store stays; then cleans up after itself.
# systemd need not run as PID 1 (it does not in CI): the postinst must cope.
#
# Refuses to run unless CI=true or LAYSO_ALLOW_SYSTEM_INSTALL=1, since it installs and purges the
# layso package of this machine.
set -euo pipefail

cd "$(dirname "$0")/.."

PASS=0
FAIL=0
DAEMON_PID=
cleanup_daemon() {
    if [ -n "$DAEMON_PID" ] && kill -0 "$DAEMON_PID" 2>/dev/null; then
        kill -TERM "$DAEMON_PID" 2>/dev/null || true
        for _ in $(seq 1 100); do
            kill -0 "$DAEMON_PID" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$DAEMON_PID" 2>/dev/null || true
    fi
    DAEMON_PID=
}
say() { printf '[package-test] %s\n' "$*"; }
die() { printf '[package-test] ERROR: %s\n' "$*" >&2; cleanup_daemon; exit 1; }
ok() { PASS=$((PASS + 1)); printf '  ok   %s\n' "$*"; }
bad() { FAIL=$((FAIL + 1)); printf '  FAIL %s\n' "$*"; }
check() { # check "description" command...
    local what=$1
    shift
    if "$@" >/dev/null 2>&1; then ok "$what"; else bad "$what"; fi
}

if [ "${CI:-}" != true ] && [ "${LAYSO_ALLOW_SYSTEM_INSTALL:-}" != 1 ]; then
    die "this test installs and purges the layso package on this machine; run it with LAYSO_ALLOW_SYSTEM_INSTALL=1 (CI sets CI=true)"
fi
[ "$(id -u)" -eq 0 ] || die "this test installs a package: run it as root"
for tool in curl setpriv dpkg systemd-sysusers; do
    command -v "$tool" >/dev/null 2>&1 ||
        die "$tool is missing (apt-get install curl util-linux dpkg systemd)"
done

MARKER=/var/lib/layso/.layso-package-test
CONFIG=/etc/layso/layso.toml
WORK=$(mktemp -d /tmp/layso-package-test.XXXXXX)
chmod 0755 "$WORK"

trap 'cleanup_daemon; rm -rf "$WORK"' EXIT

# --- a clean start: only a leftover of this very test may be cleared away ----------------------
if dpkg-query -W -f='${db:Status-Abbrev}' layso 2>/dev/null | grep -q '^[ic]' || [ -d /var/lib/layso ]; then
    if [ -f "$MARKER" ] || [ ! -d /var/lib/layso ]; then
        say "clearing the leftovers of an earlier run of this test"
        dpkg --purge layso >/dev/null 2>&1 || true
        rm -rf /var/lib/layso
    else
        die "a layso installation with a store in /var/lib/layso is present (not one of this test's): refusing to touch it"
    fi
fi

# --- build both packages ----------------------------------------------------------------------
t0=$SECONDS
upstream=$(sed -nE '/^\[package\]/,/^\[/ s/^version *= *"([^"]+)".*/\1/p' Cargo.toml | head -n1)
V1="$upstream-1"
V2="$upstream-2"
scripts/package-deb.sh amd64 --version "$V1" --out "$WORK"
scripts/package-deb.sh amd64 --version "$V2" --out "$WORK"
DEB1="$WORK/layso_${V1}_amd64.deb"
DEB2="$WORK/layso_${V2}_amd64.deb"
say "packages built in $((SECONDS - t0)) s"

# --- helpers ----------------------------------------------------------------------------------
status_of() { dpkg-query -W -f='${db:Status-Abbrev}' layso 2>/dev/null | tr -d ' '; }
owner_mode() { stat -c '%U:%G %a' "$1"; }

# A TCP port nothing listens on (the packaged config's port may be taken on a shared machine).
free_port() {
    local p
    for p in $(seq 18080 18179); do
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# The web bind address from the [web] section of a config file.
web_bind_of() {
    awk '
        /^[[:space:]]*\[/ { in_web = ($0 ~ /^[[:space:]]*\[web\]/) }
        in_web && /^[[:space:]]*bind[[:space:]]*=/ { sub(/^[^=]*=[[:space:]]*"/, ""); sub(/".*/, ""); print; exit }
    ' "$1"
}

# Run as the unit runs it: user layso, its supplementary groups, no new privileges, no
# capabilities, a bare environment, working directory /. `exec_as_layso` replaces the calling
# (sub)shell, so that a background `( exec_as_layso … ) &` has the daemon's own pid in $!.
exec_as_layso() {
    cd / && exec env -i PATH=/usr/bin:/bin LANG=C.UTF-8 \
        setpriv --reuid=layso --regid=layso --init-groups --no-new-privs --inh-caps=-all \
        --bounding-set=-all "$@"
}
as_layso() { (exec_as_layso "$@"); }

# Start the installed daemon as layso with the packaged config (or a copy on a free port when the
# configured one is taken), wait until /api/v1/state answers. Sets DAEMON_PID and BASE.
start_daemon() {
    local config=$CONFIG bind host port log=$WORK/daemon-$1.log
    bind=$(web_bind_of "$CONFIG")
    [ -n "$bind" ] || die "no bind = \"HOST:PORT\" in the [web] section of $CONFIG"
    host=${bind%:*}
    port=${bind##*:}
    case "$host" in 0.0.0.0 | '[::]' | '') host=127.0.0.1 ;; esac
    if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
        local free
        free=$(free_port) || die "no free port in 18080-18179"
        say "port $port is taken on this machine: running with a copy of $CONFIG on port $free"
        config=$WORK/layso-port.toml
        sed -E "/^[[:space:]]*\[web\]/,/^[[:space:]]*\[/ s|^([[:space:]]*bind[[:space:]]*=[[:space:]]*)\"[^\"]*\"|\1\"127.0.0.1:$free\"|" \
            "$CONFIG" >"$config"
        chgrp layso "$config"
        chmod 0640 "$config"
        host=127.0.0.1
        port=$free
    fi
    BASE="http://$host:$port"
    (exec_as_layso /usr/bin/layso run --config "$config") >"$log" 2>&1 &
    DAEMON_PID=$!
    local i
    for i in $(seq 1 150); do
        if curl -fsS -o /dev/null "$BASE/api/v1/state" 2>/dev/null; then
            say "daemon ($1) answering on $BASE after $((i / 10)).$((i % 10)) s"
            if [ "$(readlink "/proc/$DAEMON_PID/exe")" != /usr/bin/layso ] ||
                [ "$(stat -c %U "/proc/$DAEMON_PID")" != layso ]; then
                die "pid $DAEMON_PID is not /usr/bin/layso running as layso"
            fi
            return 0
        fi
        kill -0 "$DAEMON_PID" 2>/dev/null || { cat "$log" >&2; die "the daemon ($1) exited; its output is above"; }
        sleep 0.1
    done
    cat "$log" >&2
    die "the daemon ($1) did not answer GET $BASE/api/v1/state within 15 s"
}

stop_daemon() {
    local pid=$DAEMON_PID code
    kill -TERM "$pid"
    for _ in $(seq 1 100); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        bad "daemon stops within 10 s of SIGTERM"
        cleanup_daemon
        return
    fi
    code=0
    wait "$pid" || code=$?
    DAEMON_PID=
    if [ "$code" -eq 0 ]; then ok "daemon exits 0 on SIGTERM"; else bad "daemon exits 0 on SIGTERM (exit $code)"; fi
}

http_code() { curl -s -o "$WORK/body" -w '%{http_code}' "$@"; }

# --- 1. install -------------------------------------------------------------------------------
say "install $V1"
dpkg -i "$DEB1" </dev/null
check "package installed (status ii)" test "$(status_of)" = ii
check "version $V1" test "$(dpkg-query -W -f='${Version}' layso)" = "$V1"
check "/usr/bin/layso executable" test -x /usr/bin/layso
check "unit in /usr/lib/systemd/system" test -f /usr/lib/systemd/system/layso.service
check "udev rules in /usr/lib/udev/rules.d" test -f /usr/lib/udev/rules.d/99-layso.rules
check "sysusers.d file" test -f /usr/lib/sysusers.d/layso.conf
check "install guide in /usr/share/doc/layso" test -f /usr/share/doc/layso/install.md
check "changelog in /usr/share/doc/layso" test -f /usr/share/doc/layso/changelog.Debian.gz
check "$CONFIG is a conffile" sh -c "dpkg-query -W -f='\${Conffiles}' layso | grep -q ' $CONFIG '"
check "$CONFIG root:layso 640" test "$(owner_mode "$CONFIG")" = "root:layso 640"
check "store path in $CONFIG is /var/lib/layso/store" grep -q '^path = "/var/lib/layso/store"' "$CONFIG"
check "user layso exists" id layso
check "layso is a system user (uid < 1000)" test "$(id -u layso)" -lt 1000
check "layso has no login shell" sh -c "getent passwd layso | grep -qE ':(/usr/sbin/nologin|/sbin/nologin|/bin/false)$'"
for g in dialout gpio i2c spi lp; do
    check "group $g exists" getent group "$g"
    check "layso in group $g" sh -c "id -nG layso | tr ' ' '\n' | grep -qx $g"
done
check "/var/lib/layso layso:layso 750" test "$(owner_mode /var/lib/layso)" = "layso:layso 750"
check "unit enabled (multi-user.target.wants link)" test -L /etc/systemd/system/multi-user.target.wants/layso.service
check "unit passes systemd-analyze verify" systemd-analyze verify /usr/lib/systemd/system/layso.service
check "unit: Type=notify" grep -qx 'Type=notify' /usr/lib/systemd/system/layso.service
check "unit: User=layso" grep -qx 'User=layso' /usr/lib/systemd/system/layso.service
check "unit: runs the packaged config" grep -qx 'ExecStart=/usr/bin/layso run --config /etc/layso/layso.toml' /usr/lib/systemd/system/layso.service
check "layso cannot write its config" sh -c "! (cd / && setpriv --reuid=layso --regid=layso --init-groups sh -c 'echo >> $CONFIG')"
touch "$MARKER"

# --- 2. the newcomer's path: check, run, pages ------------------------------------------------
say "newcomer: layso --version, layso check, layso run as the layso user"
if version_out=$(as_layso /usr/bin/layso --version 2>&1) && [ "${version_out#layso }" != "$version_out" ]; then
    ok "layso --version: $version_out"
else
    bad "layso --version printed '$version_out', want 'layso <version>'"
fi
check "layso check --config $CONFIG (as layso)" as_layso /usr/bin/layso check --config "$CONFIG"

start_daemon first
for page in /kiosk /status /display /counter/1 /api/v1/state; do
    code=$(http_code "$BASE$page")
    if [ "$code" = 200 ]; then ok "GET $page -> 200"; else bad "GET $page -> $code (want 200)"; fi
done
check "/api/v1/state says the store is /var/lib/layso/store" grep -q '"/var/lib/layso/store' "$WORK/body"
service=$(sed -nE 's/.*"services":\[\{[^}]*"id":"([^"]+)".*/\1/p' "$WORK/body")
if [ -n "$service" ]; then
    code=$(http_code -X POST -H 'content-type: application/json' \
        -d "{\"service\":\"$service\",\"priority\":false}" "$BASE/api/v1/tickets")
    if [ "$code" = 201 ]; then ok "POST /api/v1/tickets (service $service) -> 201"; else bad "POST /api/v1/tickets -> $code (want 201): $(cat "$WORK/body")"; fi
    TICKET=$(sed -nE 's/.*"ticket":"([^"]+)".*/\1/p' "$WORK/body")
    SEQ=$(sed -nE 's/.*"seq":([0-9]+).*/\1/p' "$WORK/body")
else
    bad "the packaged config has at least one service (GET /api/v1/state: $(head -c 300 "$WORK/body"))"
    TICKET=
    SEQ=
fi
stop_daemon
check "store created in /var/lib/layso/store, owned by layso" test "$(stat -c %U /var/lib/layso/store 2>/dev/null)" = layso

# --- 3. a technician edits the config; upgrade keeps the edit and the store --------------------
echo "# edited on site by the technician" >>"$CONFIG"
say "upgrade to $V2"
dpkg -i "$DEB2" </dev/null
check "upgraded: status ii" test "$(status_of)" = ii
check "version $V2" test "$(dpkg-query -W -f='${Version}' layso)" = "$V2"
check "upgrade kept the technician's config edit" grep -q '^# edited on site by the technician' "$CONFIG"
check "upgrade kept $CONFIG root:layso 640" test "$(owner_mode "$CONFIG")" = "root:layso 640"
check "upgrade kept the store" test -d /var/lib/layso/store
check "upgrade kept /var/lib/layso layso:layso 750" test "$(owner_mode /var/lib/layso)" = "layso:layso 750"

# --- 4. remove keeps config and store ---------------------------------------------------------
say "remove"
dpkg -r layso </dev/null
check "removed: status rc (config files kept)" test "$(status_of)" = rc
check "binary gone" test ! -e /usr/bin/layso
check "unit gone" test ! -e /usr/lib/systemd/system/layso.service
check "remove kept the config with the edit" grep -q '^# edited on site by the technician' "$CONFIG"
check "remove kept the store" test -d /var/lib/layso/store

# --- 5. reinstall: the daemon starts on the old store and still has the ticket -----------------
say "reinstall $V2"
dpkg -i "$DEB2" </dev/null
check "reinstalled: status ii" test "$(status_of)" = ii
check "reinstall kept the config edit" grep -q '^# edited on site by the technician' "$CONFIG"
start_daemon reinstalled
code=$(http_code "$BASE/api/v1/state")
if [ "$code" = 200 ]; then ok "GET /api/v1/state after reinstall -> 200"; else bad "GET /api/v1/state after reinstall -> $code"; fi
if [ -n "$SEQ" ]; then
    last_seq=$(sed -nE 's/.*"last_seq":([0-9]+).*/\1/p' "$WORK/body")
    if [ -n "$last_seq" ] && [ "$last_seq" -ge "$SEQ" ]; then
        ok "store survived upgrade, remove and reinstall (last_seq $last_seq >= ticket $TICKET's seq $SEQ)"
    else
        bad "store survived upgrade, remove and reinstall (last_seq '$last_seq', ticket $TICKET had seq $SEQ)"
    fi
    code=$(http_code "$BASE/api/v1/events?after=$((SEQ - 1))" --max-time 2) || true
    if grep -q "\"ticket\":\"$TICKET\"" "$WORK/body"; then
        ok "the ticket $TICKET issued before the upgrade is replayed from the store"
    else
        bad "the ticket $TICKET issued before the upgrade is replayed from the store"
    fi
fi
stop_daemon

# --- 6. purge: config goes, store stays --------------------------------------------------------
say "purge"
dpkg --purge layso </dev/null
check "purged: not installed" test -z "$(status_of)"
check "purge removed $CONFIG" test ! -e "$CONFIG"
check "purge removed the statoverride" sh -c "! dpkg-statoverride --list $CONFIG"
check "purge kept the store (records are never deleted by the package)" test -d /var/lib/layso/store
check "purge removed the enablement link" test ! -e /etc/systemd/system/multi-user.target.wants/layso.service

# --- clean up (only what this test made) -------------------------------------------------------
rm -rf /var/lib/layso

say "$PASS passed, $FAIL failed"
echo "$PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
