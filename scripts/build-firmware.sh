#!/usr/bin/env bash
# Builds the counter keypad firmware for the Raspberry Pi Pico (RP2040, thumbv6m-none-eabi) with
# Debian's Rust toolchain (see shared CROSS.md), installing it first when missing, and makes the
# flashable images: target/keypad/layso-keypad.bin (raw, at 0x10000000) and .uf2 (drag-and-drop).
# Prints the image size. Usage: scripts/build-firmware.sh   (as root, or with the toolchain installed)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BOARD="$ROOT/firmware/keypad/board"
OUT="$ROOT/target/keypad"
RUSTLIB_BIN="/usr/lib/rustlib/x86_64-unknown-linux-gnu/bin"
# Exactly what a thumbv6m build needs: compiler, cargo, core's source for -Zbuild-std,
# rust-objcopy (rust-web-llvm) and rust-lld (lld-22).
PACKAGES=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)

need_install=0
for tool in /usr/bin/rustc /usr/bin/cargo /usr/bin/rust-lld "$RUSTLIB_BIN/rust-objcopy"; do
  [[ -x "$tool" ]] || need_install=1
done
[[ -d /usr/lib/rustlib/src/rust/library/core ]] || need_install=1

if [[ $need_install == 1 ]]; then
  if [[ $(id -u) != 0 ]]; then
    echo "error: Debian's Rust toolchain is missing; run as root, or install it with:" >&2
    echo "  apt-get update && apt-get install -y --no-install-recommends ${PACKAGES[*]}" >&2
    exit 1
  fi
  echo "== installing Debian's Rust toolchain: ${PACKAGES[*]}"
  apt-get update
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${PACKAGES[@]}"
fi

echo "== $(/usr/bin/rustc --version) / $(/usr/bin/cargo --version)"
# Debian's toolchain for this build only; RUSTC_BOOTSTRAP only to allow -Zbuild-std.
(
  cd "$BOARD"
  RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc RUSTC_BOOTSTRAP=1 \
    CARGO_BUILD_JOBS="${CARGO_BUILD_JOBS:-2}" \
    /usr/bin/cargo build -Zbuild-std=core --release --target-dir "$ROOT/target/keypad-board"
)

ELF="$ROOT/target/keypad-board/thumbv6m-none-eabi/release/layso-keypad-board"
mkdir -p "$OUT"
cp "$ELF" "$OUT/layso-keypad.elf"
"$RUSTLIB_BIN/rust-objcopy" -O binary "$ELF" "$OUT/layso-keypad.bin"

# UF2 for the RP2040 boot ROM's USB drive: 512-byte blocks of 256 payload bytes each.
python3 - "$OUT/layso-keypad.bin" "$OUT/layso-keypad.uf2" <<'PY'
import struct, sys
src, dst = sys.argv[1], sys.argv[2]
data = open(src, "rb").read()
base, family = 0x10000000, 0xE48BFF56  # XIP flash start; RP2040 family id
chunks = [data[i:i + 256] for i in range(0, len(data), 256)]
with open(dst, "wb") as f:
    for n, chunk in enumerate(chunks):
        head = struct.pack("<IIIIIIII", 0x0A324655, 0x9E5D5157, 0x00002000, base + 256 * n,
                           256, n, len(chunks), family)
        f.write(head + chunk.ljust(476, b"\0") + struct.pack("<I", 0x0AB16F30))
PY

bin_size=$(stat -c %s "$OUT/layso-keypad.bin")
uf2_size=$(stat -c %s "$OUT/layso-keypad.uf2")
if [[ $bin_size -lt 1024 ]]; then
  echo "error: image $OUT/layso-keypad.bin is only $bin_size bytes: the link produced no firmware" >&2
  exit 1
fi
echo "== firmware image: $OUT/layso-keypad.bin $bin_size bytes (flash 0x10000000, incl. 256-byte boot2)"
echo "== firmware image: $OUT/layso-keypad.uf2 $uf2_size bytes (copy onto the Pico's RPI-RP2 drive)"
