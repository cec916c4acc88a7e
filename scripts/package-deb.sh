#!/usr/bin/env bash
# Build the layso Debian package with dpkg-deb (no debhelper, no cargo-deb: nothing to install).
#
#   scripts/package-deb.sh [amd64|arm64|armhf] [--version VERSION] [--out DIR]
#
# amd64  builds the host release binary (cargo build --release).
# arm64  uses scripts/cross-build.sh aarch64 (Raspberry Pi OS 64-bit, Pi 3/4/5).
# armhf  uses scripts/cross-build.sh armv7 (Raspberry Pi OS 32-bit on ARMv7 boards: Pi 2/3/4;
#        the ARMv6 Pi 1 and Pi Zero (not Zero 2) cannot run it).
#
# The version is the top entry of debian/changelog (its upstream part must equal Cargo.toml's
# version); --version overrides it (the upgrade test uses that). Output:
# DIR/layso_VERSION_ARCH.deb (default DIR: target/deb).
#
# Contents: /usr/bin/layso, /etc/layso/layso.toml (conffile, from config/layso.example.toml with the
# store in /var/lib/layso/store), the systemd unit, the udev rules (systemd/99-layso.rules),
# sysusers.d/layso.conf, and docs in /usr/share/doc/layso. Maintainer scripts: debian/.
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$(pwd)

say() { printf '[package-deb] %s\n' "$*"; }
die() { printf '[package-deb] ERROR: %s\n' "$*" >&2; exit 1; }

ARCH=amd64
VERSION=
OUT="$ROOT/target/deb"
while [ $# -gt 0 ]; do
    case "$1" in
        amd64 | arm64 | armhf) ARCH=$1 ;;
        --version) VERSION=${2:?--version needs a value}; shift ;;
        --out) OUT=${2:?--out needs a directory}; shift ;;
        *) die "unknown argument '$1'; usage: $0 [amd64|arm64|armhf] [--version VERSION] [--out DIR]" ;;
    esac
    shift
done

for tool in dpkg-deb readelf md5sum gzip; do
    command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (apt-get install dpkg binutils coreutils gzip)"
done

# --- inputs that other parts of the repo provide: fail loudly when one is missing --------------
EXAMPLE=config/layso.example.toml
UDEV_RULES=systemd/99-layso.rules
PI_CONFIG=firmware/pi/config.txt
for f in "$EXAMPLE" "$UDEV_RULES" "$PI_CONFIG" systemd/layso.service systemd/layso.sysusers \
    debian/control debian/conffiles debian/changelog debian/copyright \
    debian/postinst debian/prerm debian/postrm docs/install.md; do
    [ -f "$f" ] || die "$f is missing: the package needs it"
done

cargo_version=$(sed -nE '/^\[package\]/,/^\[/ s/^version *= *"([^"]+)".*/\1/p' Cargo.toml | head -n1)
changelog_version=$(sed -nE '1 s/^layso \(([^)]+)\).*/\1/p' debian/changelog)
[ -n "$changelog_version" ] || die "debian/changelog does not start with 'layso (VERSION) ...'"
if [ "${changelog_version%-*}" != "$cargo_version" ]; then
    die "debian/changelog's top version $changelog_version does not match Cargo.toml's $cargo_version: add a changelog entry '$cargo_version-1'"
fi
VERSION=${VERSION:-$changelog_version}

# --- the binary ------------------------------------------------------------------------------
case "$ARCH" in
    amd64)
        [ "$(dpkg --print-architecture)" = amd64 ] || die "the amd64 package is built on an amd64 host"
        say "cargo build --release (host)"
        # No default features: neither the province side nor the test hooks (LAYSO_FAULT_*) ship;
        # both are default features for cargo test. What ships stays lean.
        cargo build --release --locked --no-default-features --bin layso
        BIN="${CARGO_TARGET_DIR:-$ROOT/target}/release/layso"
        RUN=()
        ;;
    arm64)
        scripts/cross-build.sh aarch64
        BIN="$ROOT/target/cross/aarch64-unknown-linux-gnu/release/layso"
        RUN=(qemu-aarch64)
        ;;
    armhf)
        scripts/cross-build.sh armv7
        BIN="$ROOT/target/cross-armv7/armv7-unknown-linux-gnueabihf/release/layso"
        RUN=(qemu-arm -L /usr/arm-linux-gnueabihf)
        ;;
esac
bash scripts/check-no-test-hooks.sh "$BIN" || die "$BIN carries test hooks: build it with --no-default-features"
[ -x "$BIN" ] || die "no binary at $BIN"

# --- Depends from the binary's shared libraries ---------------------------------------------
depends_of() {
    local bin=$1 lib glibc deps=()
    glibc=$(readelf -W --dyn-syms "$bin" | grep -oE '@GLIBC_[0-9]+(\.[0-9]+)+' | sed 's/@GLIBC_//' | sort -uV | tail -n1)
    for lib in $(readelf -d "$bin" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p'); do
        case "$lib" in
            libc.so.6 | libm.so.6 | libpthread.so.0 | libdl.so.2 | librt.so.1 | libutil.so.1 | ld-linux*)
                deps+=("libc6${glibc:+ (>= $glibc)}") ;;
            libgcc_s.so.1) deps+=("libgcc-s1") ;;
            libudev.so.1) deps+=("libudev1") ;;
            *) die "$bin needs $lib, which this script cannot map to a Debian package: add it to depends_of()" ;;
        esac
    done
    # The postinst creates the user with systemd-sysusers.
    deps+=("systemd | systemd-standalone-sysusers")
    printf '%s\n' "${deps[@]}" | awk '!seen[$0]++' | paste -sd, | sed 's/,/, /g'
}
DEPENDS=$(depends_of "$BIN")

# --- stage the tree ---------------------------------------------------------------------------
STAGE="$ROOT/target/deb/$ARCH/root"
rm -rf "$STAGE"
mkdir -p "$STAGE/DEBIAN"

install -D -m 0755 "$BIN" "$STAGE/usr/bin/layso"

# The packaged config: the commented example with the store under /var/lib/layso (the unit's
# StateDirectory, the only place the daemon may write).
config="$STAGE/etc/layso/layso.toml"
mkdir -p "$(dirname "$config")"
awk '
    /^[[:space:]]*\[/ { in_store = ($0 ~ /^[[:space:]]*\[store\][[:space:]]*(#.*)?$/) }
    in_store && /^[[:space:]]*path[[:space:]]*=/ { print "path = \"/var/lib/layso/store\""; done = 1; next }
    { print }
    END { if (!done) exit 3 }
' "$EXAMPLE" >"$config" || die "$EXAMPLE has no 'path = ...' line in a [store] section to point at /var/lib/layso/store"
chmod 0640 "$config"
say "layso check on the packaged config"
"${RUN[@]}" "$BIN" check --config "$config" >/dev/null ||
    die "the packaged config does not pass 'layso check' (run: $BIN check --config $config)"

# The default voice pack (docs/voice.md): made here, at package build, with espeak-ng's
# Vietnamese voice, so the Pi needs neither espeak-ng nor a network; WAVs suit every arch.
command -v espeak-ng >/dev/null ||
    die "espeak-ng builds the default voice pack: apt-get install espeak-ng"
say "voice pack (espeak-ng -v vi) into /usr/share/layso/voice"
"${RUN[@]}" "$BIN" voice build-pack --out "$STAGE/usr/share/layso/voice" >/dev/null ||
    die "layso voice build-pack failed (run: $BIN voice build-pack --out /tmp/pack)"
chmod -R u=rwX,go=rX "$STAGE/usr/share/layso"

install -D -m 0644 systemd/layso.service "$STAGE/usr/lib/systemd/system/layso.service"
install -D -m 0644 "$UDEV_RULES" "$STAGE/usr/lib/udev/rules.d/99-layso.rules"
install -D -m 0644 systemd/layso.sysusers "$STAGE/usr/lib/sysusers.d/layso.conf"

doc="$STAGE/usr/share/doc/layso"
install -D -m 0644 debian/copyright "$doc/copyright"
gzip -9nc debian/changelog >"$doc/changelog.Debian.gz"
chmod 0644 "$doc/changelog.Debian.gz"
install -D -m 0644 docs/install.md "$doc/install.md"
install -D -m 0644 "$PI_CONFIG" "$doc/examples/raspberry-pi-config.txt"
install -D -m 0644 "$EXAMPLE" "$doc/examples/layso.example.toml"

install -m 0644 debian/conffiles "$STAGE/DEBIAN/conffiles"
install -m 0755 debian/postinst debian/prerm debian/postrm "$STAGE/DEBIAN/"

installed_size=$(du -sk --exclude=DEBIAN "$STAGE" | cut -f1)
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@INSTALLED_SIZE@/$installed_size/" \
    -e "s/@DEPENDS@/$DEPENDS/" debian/control >"$STAGE/DEBIAN/control"

(cd "$STAGE" && find . -type f ! -path './DEBIAN/*' ! -path './etc/*' -printf '%P\n' | LC_ALL=C sort |
    xargs md5sum) >"$STAGE/DEBIAN/md5sums"
chmod 0644 "$STAGE/DEBIAN/md5sums" "$STAGE/DEBIAN/control"

# Reproducible timestamps: the last commit's time unless the caller chose one.
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
mkdir -p "$OUT"
DEB="$OUT/layso_${VERSION}_${ARCH}.deb"
dpkg-deb --root-owner-group -Zxz --build "$STAGE" "$DEB" >/dev/null

say "built $DEB ($(stat -c %s "$DEB") bytes)"
say "Depends: $DEPENDS"
dpkg-deb --contents "$DEB" | awk '{ print "  " $1, $2, $6 }'
