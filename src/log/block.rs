//! The block layout of the sled log: a format byte, then `(offset in block: u8, length:
//! u16 LE, record)` for each entry in seq order; each record is a [`crate::codec`]
//! encoding. Blocks are stored LZ4-compressed behind a CRC32 (format `0xB3`: the CRC of
//! the compressed bytes, then the compressed `0xB1` block), so a damaged block is
//! reported, never decoded into something else. Format `0xB2` (compressed, no CRC, written
//! by earlier builds) is still read.

use std::borrow::Cow;

const FORMAT: u8 = 0xB1;
const COMPRESSED: u8 = 0xB2;
const CHECKED: u8 = 0xB3;

/// The stored form of a block.
pub(crate) fn pack(raw: &[u8]) -> Vec<u8> {
    let body = lz4_flex::compress_prepend_size(raw);
    let mut out = Vec::with_capacity(body.len() + 5);
    out.push(CHECKED);
    out.extend_from_slice(&crc32fast::hash(&body).to_le_bytes());
    out.extend_from_slice(&body);
    out
}

/// The plain form of a stored block; an error when its checksum or compression is wrong.
pub(crate) fn unpack(stored: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    match stored.split_first() {
        Some((&CHECKED, rest)) => {
            let Some((crc, body)) = rest.split_first_chunk::<4>() else {
                return Err("checked block shorter than its checksum".into());
            };
            let want = u32::from_le_bytes(*crc);
            let got = crc32fast::hash(body);
            if want != got {
                return Err(format!(
                    "block checksum mismatch (stored {want:#010x}, computed {got:#010x}): the block is damaged"
                ));
            }
            decompress(body)
        }
        Some((&COMPRESSED, body)) => decompress(body),
        _ => Ok(Cow::Borrowed(stored)),
    }
}

fn decompress(body: &[u8]) -> Result<Cow<'_, [u8]>, String> {
    lz4_flex::decompress_size_prepended(body)
        .map(Cow::Owned)
        .map_err(|e| format!("compressed block does not decompress: {e}"))
}

pub(crate) fn empty() -> Vec<u8> {
    vec![FORMAT]
}

/// Add a record (the caller keeps seq order within the block).
pub(crate) fn push(buf: &mut Vec<u8>, offset: u8, record: &[u8]) -> Result<(), String> {
    let len = u16::try_from(record.len())
        .map_err(|_| format!("record of {} bytes is too large", record.len()))?;
    buf.push(offset);
    buf.extend_from_slice(&len.to_le_bytes());
    buf.extend_from_slice(record);
    Ok(())
}

/// The records of a block: `(offset, record)`; an error for a damaged block.
pub(crate) fn records(buf: &[u8]) -> Result<Vec<(u8, &[u8])>, String> {
    let mut out = Vec::new();
    let Some((&FORMAT, mut rest)) = buf.split_first() else {
        return Err(format!(
            "unknown block format {:?}; this daemon reads {FORMAT:#x}",
            buf.first()
        ));
    };
    while let [offset, l0, l1, tail @ ..] = rest {
        let len = usize::from(u16::from_le_bytes([*l0, *l1]));
        if tail.len() < len {
            return Err("block truncated".into());
        }
        out.push((*offset, &tail[..len]));
        rest = &tail[len..];
    }
    if !rest.is_empty() {
        return Err("block has trailing bytes".into());
    }
    Ok(out)
}

/// A block holding `records` (any order; the first copy of an offset wins).
pub(crate) fn from_records(records: &[(u8, &[u8])]) -> Result<Vec<u8>, String> {
    let mut sorted: Vec<&(u8, &[u8])> = records.iter().collect();
    sorted.sort_by_key(|r| r.0);
    sorted.dedup_by_key(|r| r.0);
    let mut buf = empty();
    for (off, rec) in sorted {
        push(&mut buf, *off, rec)?;
    }
    Ok(buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flipped_bit_is_reported_not_decoded() {
        let mut raw = empty();
        assert!(push(&mut raw, 3, b"hello").is_ok());
        let stored = pack(&raw);
        assert_eq!(unpack(&stored).as_deref().ok(), Some(&raw[..]));
        for i in 1..stored.len() {
            let mut bad = stored.clone();
            bad[i] ^= 0x10;
            assert!(unpack(&bad).is_err(), "flip at {i} must be detected");
        }
    }
}
