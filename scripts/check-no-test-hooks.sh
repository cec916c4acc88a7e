#!/usr/bin/env bash
# Checks that a layso binary carries none of the test hooks (the `test-hooks` Cargo feature:
# LAYSO_FAULT_STALL_ENGINE_MS, LAYSO_FAULT_STORE_ERRNO_FILE, LAYSO_TEST_ASSUME_CLOCK_SYNCED).
# Shipped binaries are built with --no-default-features, which leaves them out.
#
#   bash scripts/check-no-test-hooks.sh PATH/TO/layso
set -euo pipefail

bin=${1:-}
[ -n "$bin" ] || { echo "usage: $0 PATH/TO/layso" >&2; exit 2; }
[ -f "$bin" ] || { echo "[test-hooks] ERROR: no binary at $bin; build it first" >&2; exit 2; }
found=0
for hook in LAYSO_FAULT_STALL_ENGINE_MS LAYSO_FAULT_STORE_ERRNO_FILE LAYSO_TEST_ASSUME_CLOCK_SYNCED LAYSO_FAULT_ LAYSO_TEST_; do
    if grep -a -q -F "$hook" "$bin"; then
        echo "[test-hooks] ERROR: $bin contains the test hook string $hook" >&2
        found=1
    fi
done
if [ "$found" -ne 0 ]; then
    echo "[test-hooks] build it with --no-default-features (see Cargo.toml [features])" >&2
    exit 1
fi
echo "[test-hooks] ok: $bin has no LAYSO_FAULT_* / LAYSO_TEST_* hook"
