//! CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), table-driven, `const`-built.

const fn build_table() -> [u16; 256] {
    let mut table = [0u16; 256];
    let mut i = 0;
    while i < 256 {
        let mut crc = i as u16;
        let mut bit = 0;
        while bit < 8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xA001
            } else {
                crc >> 1
            };
            bit += 1;
        }
        table[i] = crc;
        i += 1;
    }
    table
}

static TABLE: [u16; 256] = build_table();

/// CRC of `data` as Modbus defines it. On the wire the low byte goes first.
pub fn crc16(data: &[u8]) -> u16 {
    let mut crc: u16 = 0xFFFF;
    for &b in data {
        crc = (crc >> 8) ^ TABLE[((crc ^ b as u16) & 0xFF) as usize];
    }
    crc
}

/// True when the last two bytes of `frame` are the CRC of the bytes before them.
pub fn check(frame: &[u8]) -> bool {
    if frame.len() < 3 {
        return false;
    }
    let (body, tail) = frame.split_at(frame.len() - 2);
    crc16(body) == u16::from_le_bytes([tail[0], tail[1]])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_vectors() {
        // "123456789" check value of CRC-16/MODBUS.
        assert_eq!(crc16(b"123456789"), 0x4B37);
        // Read holding registers 0x006B..+3 from unit 0x11, from the Modbus spec examples.
        assert_eq!(crc16(&[0x11, 0x03, 0x00, 0x6B, 0x00, 0x03]), 0x8776);
        assert_eq!(crc16(&[]), 0xFFFF);
    }

    #[test]
    fn check_accepts_good_and_rejects_flipped() {
        let mut f = [0x01, 0x04, 0x00, 0x00, 0x00, 0x02, 0, 0];
        let c = crc16(&f[..6]).to_le_bytes();
        f[6] = c[0];
        f[7] = c[1];
        assert!(check(&f));
        for i in 0..f.len() {
            for bit in 0..8 {
                let mut g = f;
                g[i] ^= 1 << bit;
                assert!(!check(&g), "flip byte {i} bit {bit} undetected");
            }
        }
        assert!(!check(&f[..2]));
    }
}
