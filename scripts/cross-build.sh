#!/usr/bin/env bash
# Cross-build layso release binaries for the Raspberry Pi with Debian's own Rust toolchain
# (rustc-web), smoke-run them under qemu-user and print their stripped size.
#
#   scripts/cross-build.sh [aarch64|armv7|all]      (default: aarch64)
#
# aarch64-unknown-linux-gnu      Pi 3/4/5 on 64-bit Raspberry Pi OS; Debian's prebuilt arm64 std.
# armv7-unknown-linux-gnueabihf  Pi 2/3/4 on 32-bit Raspberry Pi OS; std built from rust-web-src
#                                with -Zbuild-std (RUSTC_BOOTSTRAP=1 for this build only).
#
# Recipe and pitfalls: shared/CROSS.md. Missing packages are installed with apt-get (needs root):
# only the arm64 architecture is added to dpkg (adding armhf breaks apt-get update here), and the
# arm64 std must have exactly the version of rustc-web.
#
# Outputs (the crate's release profile strips them):
#   target/cross/aarch64-unknown-linux-gnu/release/layso
#   target/cross-armv7/armv7-unknown-linux-gnueabihf/release/layso
# Each target has its own CARGO_TARGET_DIR, apart from the host build: the armv7 build's
# RUSTC_BOOTSTRAP/-Zbuild-std would otherwise invalidate the aarch64 build's host artifacts.
# Environment: LAYSO_CROSS_MAX_BYTES (default 10000000) — the aarch64 size limit.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

MAX_BYTES=${LAYSO_CROSS_MAX_BYTES:-10000000}
EXAMPLE_CONFIG=config/layso.example.toml

say() { printf '[cross-build] %s\n' "$*"; }
die() { printf '[cross-build] ERROR: %s\n' "$*" >&2; exit 1; }

usage() {
    echo "usage: $0 [aarch64|armv7|all]" >&2
    exit 2
}

case "${1:-aarch64}" in
    aarch64) ARCHES=(aarch64) ;;
    armv7) ARCHES=(armv7) ;;
    all) ARCHES=(aarch64 armv7) ;;
    -h | --help) usage ;;
    *) usage ;;
esac

installed_version() {
    # prints the installed version of package $1, or nothing
    { dpkg-query -W -f='${db:Status-Abbrev} ${Version}\n' "$1" 2>/dev/null || true; } | awk '$1 == "ii" { print $2 }'
}

apt_install() {
    if [ "$(id -u)" -ne 0 ]; then
        die "missing packages: $*; run this script as root once (or: sudo apt-get install --no-install-recommends $*)"
    fi
    say "apt-get install $*"
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >/dev/null
}

apt_updated=0
apt_update_once() {
    if [ "$apt_updated" -eq 0 ]; then
        say "apt-get update"
        apt-get update -qq
        apt_updated=1
    fi
}

ensure_toolchain() {
    local arch=$1 missing=() pkg
    local -a pkgs=(rustc-web cargo-web qemu-user)
    case "$arch" in
        aarch64) pkgs+=(gcc-aarch64-linux-gnu libc6-dev-arm64-cross) ;;
        armv7) pkgs+=(rust-web-src gcc-arm-linux-gnueabihf libc6-dev-armhf-cross) ;;
    esac

    if [ "$arch" = aarch64 ] && ! dpkg --print-foreign-architectures | grep -qx arm64; then
        [ "$(id -u)" -eq 0 ] || die "dpkg has no arm64 architecture; as root: dpkg --add-architecture arm64 && apt-get update"
        say "dpkg --add-architecture arm64 (arm64 only: adding armhf breaks apt-get update, see CROSS.md)"
        dpkg --add-architecture arm64
    fi

    for pkg in "${pkgs[@]}"; do
        [ -n "$(installed_version "$pkg")" ] || missing+=("$pkg")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        apt_update_once
        apt_install "${missing[@]}"
    fi

    local rustc_ver
    rustc_ver=$(installed_version rustc-web)
    [ -n "$rustc_ver" ] || die "rustc-web is not installed"

    if [ "$arch" = aarch64 ]; then
        # Debian's prebuilt std for arm64, exactly the version of the compiler.
        local std_ver
        std_ver=$(installed_version libstd-rust-web-dev:arm64)
        if [ "$std_ver" != "$rustc_ver" ]; then
            apt_update_once
            if ! apt-cache madison libstd-rust-web-dev:arm64 | awk -F'|' '{gsub(/ /, "", $2); print $2}' | grep -qxF "$rustc_ver"; then
                die "libstd-rust-web-dev:arm64 version $rustc_ver (the version of rustc-web) is not offered by apt; compare 'apt-cache policy rustc-web libstd-rust-web-dev:arm64' — both must come from the same suite (bookworm-security)"
            fi
            apt_install "libstd-rust-web-dev:arm64=$rustc_ver"
            std_ver=$(installed_version libstd-rust-web-dev:arm64)
        fi
        [ "$std_ver" = "$rustc_ver" ] || die "libstd-rust-web-dev:arm64 is '$std_ver' but rustc-web is '$rustc_ver'; they must match exactly"
    fi
}

target_dir_of() {
    case "$1" in
        aarch64) echo "$ROOT/target/cross" ;;
        armv7) echo "$ROOT/target/cross-armv7" ;;
    esac
}

binary_of() {
    echo "$(target_dir_of "$1")/$(triple_of "$1")/release/layso"
}

triple_of() {
    case "$1" in
        aarch64) echo aarch64-unknown-linux-gnu ;;
        armv7) echo armv7-unknown-linux-gnueabihf ;;
    esac
}

build() {
    local arch=$1 triple
    triple=$(triple_of "$arch")
    # Debian's toolchain, not rustup's: rustup's cargo/rustc come first on PATH and only know x86_64.
    local -a env=(
        RUSTC=/usr/bin/rustc
        RUSTDOC=/usr/bin/rustdoc
        CARGO_TARGET_DIR="$(target_dir_of "$arch")"
        CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
        CARGO_TARGET_ARMV7_UNKNOWN_LINUX_GNUEABIHF_LINKER=arm-linux-gnueabihf-gcc
        CC_aarch64_unknown_linux_gnu=aarch64-linux-gnu-gcc
        CC_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-gcc
        AR_aarch64_unknown_linux_gnu=aarch64-linux-gnu-ar
        AR_armv7_unknown_linux_gnueabihf=arm-linux-gnueabihf-ar
        PATH="/usr/bin:$PATH"
    )
    # No default features: neither the province side nor the test hooks (LAYSO_FAULT_*) ship;
    # both are default features for cargo test. What ships stays lean.
    local -a args=(build --release --locked --no-default-features --bin layso --target "$triple")
    if [ "$arch" = armv7 ]; then
        # No armhf std package (see CROSS.md): build std from rust-web-src. The release profile
        # unwinds on panic (the daemon catches a panicking store open), so build panic_unwind.
        env+=(RUSTC_BOOTSTRAP=1)
        args+=("-Zbuild-std=std,panic_unwind")
    fi
    say "building $triple with $(/usr/bin/rustc --version)"
    local t0=$SECONDS
    env -u RUSTUP_TOOLCHAIN -u RUSTC_WRAPPER "${env[@]}" /usr/bin/cargo "${args[@]}"
    say "built $triple in $((SECONDS - t0)) s"
}

smoke() {
    local arch=$1 triple bin
    triple=$(triple_of "$arch")
    bin=$(binary_of "$arch")
    [ -x "$bin" ] || die "no binary at $bin"
    local -a run
    case "$arch" in
        # No -L for aarch64: the cross sysroot's loader would pick up the multiarch libc6:arm64
        # in /lib and hang at the first thread (CROSS.md).
        aarch64) run=(qemu-aarch64 "$bin") ;;
        armv7) run=(qemu-arm -L /usr/arm-linux-gnueabihf "$bin") ;;
    esac
    say "smoke: ${run[0]} layso --version"
    local out
    out=$(timeout 60 "${run[@]}" --version) || die "$triple: 'layso --version' under qemu failed"
    printf '  %s\n' "$out"
    case "$out" in
        *layso*) ;;
        *) die "$triple: 'layso --version' printed '$out', expected 'layso <version>'" ;;
    esac
    [ -f "$EXAMPLE_CONFIG" ] || die "$EXAMPLE_CONFIG is missing: the smoke run checks it with 'layso check'"
    say "smoke: layso check --config $EXAMPLE_CONFIG"
    timeout 60 "${run[@]}" check --config "$EXAMPLE_CONFIG" ||
        die "$triple: 'layso check --config $EXAMPLE_CONFIG' under qemu failed"
}

report_size() {
    local arch=$1 triple bin stripped size
    triple=$(triple_of "$arch")
    bin=$(binary_of "$arch")
    stripped="$bin.stripped"
    # The release profile already strips; strip a copy anyway so the figure is the stripped size
    # whatever the profile says.
    case "$arch" in
        aarch64) aarch64-linux-gnu-strip -o "$stripped" "$bin" ;;
        armv7) arm-linux-gnueabihf-strip -o "$stripped" "$bin" ;;
    esac
    size=$(stat -c %s "$stripped")
    rm -f "$stripped"
    say "stripped size $triple: $size bytes ($(awk -v s="$size" 'BEGIN { printf "%.2f", s / 1000000 }') MB)"
    if [ "$arch" = aarch64 ] && [ "$size" -gt "$MAX_BYTES" ]; then
        die "the stripped aarch64 binary is $size bytes, over the limit of $MAX_BYTES"
    fi
}

total0=$SECONDS
for arch in "${ARCHES[@]}"; do
    t0=$SECONDS
    ensure_toolchain "$arch"
    say "toolchain for $arch ready in $((SECONDS - t0)) s"
    build "$arch"
    smoke "$arch"
    report_size "$arch"
done
say "done (${ARCHES[*]}) in $((SECONDS - total0)) s"
