#!/usr/bin/env bash
# The packaging checks CI runs on every change (issue 8), each timed:
#   1. unit hardening: systemd-analyze security exposure of systemd/layso.service <= 2.0;
#   2. aarch64 release build with Debian's toolchain + qemu smoke run + stripped size <= 10 MB,
#      and no test hook (LAYSO_FAULT_*, LAYSO_TEST_*) compiled into it;
#   3. the amd64 package built, installed on this machine, inspected, run as its user with its
#      config (pages answer), upgraded, removed, purged (tests/package_install.sh);
#   4. the package under a real systemd in a booted container: Type=notify, watchdog, device
#      rules, pages (tests/unit_under_systemd.sh).
#
#   bash scripts/packaging-ci.sh [--skip-container]
#
# Needs root on Debian 12 (it installs Debian packages and the layso package); CI is both.
# Outside CI, set LAYSO_ALLOW_SYSTEM_INSTALL=1 to accept that.
set -euo pipefail

cd "$(dirname "$0")/.."

skip_container=0
[ "${1:-}" = --skip-container ] && skip_container=1

passed=0
failed=0
summary=()
step() {
    local name=$1 t0=$SECONDS code=0
    shift
    echo "== packaging: $name"
    "$@" || code=$?
    local took=$((SECONDS - t0))
    if [ "$code" -eq 0 ]; then
        passed=$((passed + 1))
        summary+=("ok   $name (${took} s)")
    else
        failed=$((failed + 1))
        summary+=("FAIL $name (${took} s, exit $code)")
    fi
}

step "unit exposure <= 2.0" bash scripts/check-unit-security.sh
step "aarch64 cross-build + qemu smoke + size" bash scripts/cross-build.sh aarch64
step "aarch64 binary has no test hooks" bash scripts/check-no-test-hooks.sh target/cross/aarch64-unknown-linux-gnu/release/layso
step "amd64 package install/upgrade/remove + newcomer run" bash tests/package_install.sh
if [ "$skip_container" -eq 0 ]; then
    step "package under systemd (container)" bash tests/unit_under_systemd.sh
fi

echo "== packaging summary"
printf '  %s\n' "${summary[@]}"
echo "packaging: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
