#!/usr/bin/env bash
# Runs every test of layso: formatting, lints, unit/property/integration tests (real
# Mosquitto, pseudo-terminal device emulators, headless Chromium), the keypad firmware
# build for the RP2040, the Pi cross-build with a qemu smoke run, and the Debian package
# installed and run under a real systemd. On a bare Debian machine run it as root: it
# installs what the tests need through apt-get. Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
started=$SECONDS

if [ "$(id -u)" != 0 ]; then
  echo "scripts/test.sh installs Debian packages and installs the layso package into this" >&2
  echo "machine to test it: run it as root (sudo bash scripts/test.sh), or on a throw-away VM." >&2
  exit 1
fi

# Debian packages the tests use: command -> package.
declare -A NEED=(
  [chromium]=chromium
  [chromedriver]=chromium-driver
  [mosquitto]=mosquitto
  [openssl]=openssl
  [espeak-ng]=espeak-ng
  [prlimit]=util-linux
  [mount]=mount
  [fusermount3]=fuse3
)
missing=()
for cmd in "${!NEED[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${NEED[$cmd]}")
done
# PostgreSQL server binaries (the province tests' throw-away cluster): initdb is not on PATH.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -gt 0 ]; then
  echo "== installing ${missing[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
# The crash and watchdog tests print totals worth reading: run them with their output.
cargo test --workspace --all-targets -- \
  --skip sigkill_under_load_loses_nothing_acknowledged \
  --skip ready_then_pings_then_silence_when_stalled \
  --skip storage_fault_matrix
cargo test --test crash --test watchdog --test store_faults -- --nocapture

echo "== keypad firmware for the RP2040 (thumbv6m-none-eabi)"
bash scripts/build-firmware.sh

echo "== packaging: unit hardening, aarch64 cross-build + qemu, Debian package, systemd"
LAYSO_ALLOW_SYSTEM_INSTALL=1 bash scripts/packaging-ci.sh

echo "== all tests passed in $(( (SECONDS - started) / 60 )) min $(( (SECONDS - started) % 60 )) s"
