//! The bus master's side of the protocol (used by the daemon): request frames, reply parsing,
//! and the press tracker that turns polled heads into apply-once decisions.

use crate::crc;
use crate::frame::{
    Adu, FrameError, FN_READ_HOLDING, FN_READ_INPUT, FN_WRITE_MULTIPLE, FN_WRITE_SINGLE, MAX_READ,
    MAX_WRITE,
};
use crate::regs::{KeyCode, CTRL_BLINK, HR_ACK, HR_DISP_01, IR_HEAD_SEQ, POLL_COUNT};
use crate::segments::DIGITS;

/// A request the master cannot build.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestError {
    /// Register count 0 or above the Modbus limit for the function.
    BadCount,
    /// Unit 0 (broadcast) was asked for a read, which gets no reply.
    BroadcastRead,
}

/// What the master expects back for the request it sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// Registers from a read (0x03 / 0x04).
    Read { unit: u8, function: u8, count: u16 },
    /// The echo of a write single (0x06).
    WriteSingle { unit: u8, register: u16, value: u16 },
    /// The echo of a write multiple (0x10).
    WriteMultiple { unit: u8, start: u16, count: u16 },
}

impl Expect {
    fn unit(&self) -> u8 {
        match *self {
            Expect::Read { unit, .. }
            | Expect::WriteSingle { unit, .. }
            | Expect::WriteMultiple { unit, .. } => unit,
        }
    }

    fn function(&self) -> u8 {
        match *self {
            Expect::Read { function, .. } => function,
            Expect::WriteSingle { .. } => FN_WRITE_SINGLE,
            Expect::WriteMultiple { .. } => FN_WRITE_MULTIPLE,
        }
    }

    /// Length of the normal (non-exception) reply.
    pub fn reply_len(&self) -> usize {
        match *self {
            Expect::Read { count, .. } => 5 + 2 * usize::from(count),
            Expect::WriteSingle { .. } | Expect::WriteMultiple { .. } => 8,
        }
    }
}

/// Registers read back (at most [`MAX_READ`]).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Registers {
    values: [u16; MAX_READ as usize],
    count: usize,
}

impl core::fmt::Debug for Registers {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Registers({:?})", self.as_slice())
    }
}

impl Registers {
    /// The values, in register order.
    pub fn as_slice(&self) -> &[u16] {
        &self.values[..self.count]
    }
}

/// A parsed reply. (Kept by value, no allocation: the register array is deliberately inline.)
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reply {
    /// The registers of a read.
    Registers(Registers),
    /// A write was carried out.
    Written,
    /// The slave answered with this exception code.
    Exception(u8),
}

/// Result of looking at the bytes received so far.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplyStatus {
    /// More bytes are needed.
    Incomplete,
    /// A complete, valid reply of `len` bytes.
    Complete { len: usize, reply: Reply },
}

fn read_request(
    unit: u8,
    function: u8,
    start: u16,
    count: u16,
) -> Result<(Adu, Expect), RequestError> {
    if unit == 0 {
        return Err(RequestError::BroadcastRead);
    }
    if count == 0 || count > MAX_READ {
        return Err(RequestError::BadCount);
    }
    let mut a = Adu::new();
    let _ = a.extend(&[unit, function]);
    let _ = a.push_u16(start);
    let _ = a.push_u16(count);
    let _ = a.seal();
    Ok((
        a,
        Expect::Read {
            unit,
            function,
            count,
        },
    ))
}

/// Read `count` input registers (0x04) from `start`.
pub fn read_input(unit: u8, start: u16, count: u16) -> Result<(Adu, Expect), RequestError> {
    read_request(unit, FN_READ_INPUT, start, count)
}

/// Read `count` holding registers (0x03) from `start`.
pub fn read_holding(unit: u8, start: u16, count: u16) -> Result<(Adu, Expect), RequestError> {
    read_request(unit, FN_READ_HOLDING, start, count)
}

/// Write one holding register (0x06).
pub fn write_single(unit: u8, register: u16, value: u16) -> (Adu, Expect) {
    let mut a = Adu::new();
    let _ = a.extend(&[unit, FN_WRITE_SINGLE]);
    let _ = a.push_u16(register);
    let _ = a.push_u16(value);
    let _ = a.seal();
    (
        a,
        Expect::WriteSingle {
            unit,
            register,
            value,
        },
    )
}

/// Write consecutive holding registers (0x10) from `start`.
pub fn write_multiple(unit: u8, start: u16, values: &[u16]) -> Result<(Adu, Expect), RequestError> {
    if values.is_empty() || values.len() > usize::from(MAX_WRITE) {
        return Err(RequestError::BadCount);
    }
    let count = values.len() as u16;
    let mut a = Adu::new();
    let _ = a.extend(&[unit, FN_WRITE_MULTIPLE]);
    let _ = a.push_u16(start);
    let _ = a.push_u16(count);
    let _ = a.push((2 * count) as u8);
    for &v in values {
        let _ = a.push_u16(v);
    }
    let _ = a.seal();
    Ok((a, Expect::WriteMultiple { unit, start, count }))
}

fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

/// Parse the bytes received so far (starting at the first byte after the request) against
/// what the request expects.
pub fn parse_reply(expect: &Expect, buf: &[u8]) -> Result<ReplyStatus, FrameError> {
    if buf.is_empty() {
        return Ok(ReplyStatus::Incomplete);
    }
    if buf[0] != expect.unit() {
        return Err(FrameError::WrongUnit);
    }
    let Some(&function) = buf.get(1) else {
        return Ok(ReplyStatus::Incomplete);
    };
    let len = if function == expect.function() | 0x80 {
        5
    } else if function == expect.function() {
        expect.reply_len()
    } else {
        return Err(FrameError::WrongFunction);
    };
    if buf.len() < len {
        // A read reply announces its byte count early: reject a wrong one at once.
        if let (Expect::Read { count, .. }, Some(&n), false) =
            (expect, buf.get(2), function & 0x80 != 0)
        {
            if usize::from(n) != 2 * usize::from(*count) {
                return Err(FrameError::Length);
            }
        }
        return Ok(ReplyStatus::Incomplete);
    }
    let frame = &buf[..len];
    if !crc::check(frame) {
        return Err(FrameError::Crc);
    }
    if function & 0x80 != 0 {
        return Ok(ReplyStatus::Complete {
            len,
            reply: Reply::Exception(frame[2]),
        });
    }
    let reply = match *expect {
        Expect::Read { count, .. } => {
            if usize::from(frame[2]) != 2 * usize::from(count) {
                return Err(FrameError::Length);
            }
            let mut regs = Registers {
                values: [0; MAX_READ as usize],
                count: usize::from(count),
            };
            for i in 0..regs.count {
                regs.values[i] = be16(frame, 3 + 2 * i);
            }
            Reply::Registers(regs)
        }
        Expect::WriteSingle {
            register, value, ..
        } => {
            if be16(frame, 2) != register || be16(frame, 4) != value {
                return Err(FrameError::BadEcho);
            }
            Reply::Written
        }
        Expect::WriteMultiple { start, count, .. } => {
            if be16(frame, 2) != start || be16(frame, 4) != count {
                return Err(FrameError::BadEcho);
            }
            Reply::Written
        }
    };
    Ok(ReplyStatus::Complete { len, reply })
}

// ---- The keypad protocol on top of the codec ----

/// The poll request: read the head of the press queue.
pub fn poll_request(unit: u8) -> Result<(Adu, Expect), RequestError> {
    read_input(unit, IR_HEAD_SEQ, POLL_COUNT)
}

/// The head of a keypad's press queue as polled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Head {
    /// Boot epoch of the keypad.
    pub epoch: u8,
    /// Sequence number, 0 = queue empty.
    pub seq: u16,
    /// Raw key code (0 = none).
    pub key_code: u8,
}

/// Decode the registers of a poll reply.
pub fn decode_head(regs: &[u16]) -> Option<Head> {
    match regs {
        [seq, info, ..] => {
            let [epoch, key_code] = info.to_be_bytes();
            Some(Head {
                epoch,
                seq: *seq,
                key_code,
            })
        }
        _ => None,
    }
}

/// Write the display (and optionally acknowledge a press in the same frame).
///
/// Writes `[ACK, DISP_01, DISP_23, CTRL]` from [`HR_ACK`] when `ack` is given, else
/// `[DISP_01, DISP_23, CTRL]` from [`HR_DISP_01`]. `blink` starts the keypad's blink.
pub fn display_request(
    unit: u8,
    ack: Option<u16>,
    chars: [u8; DIGITS],
    blink: bool,
) -> (Adu, Expect) {
    let d01 = u16::from_be_bytes([chars[0], chars[1]]);
    let d23 = u16::from_be_bytes([chars[2], chars[3]]);
    let ctrl = if blink { CTRL_BLINK } else { 0 };
    let built = match ack {
        Some(seq) => write_multiple(unit, HR_ACK, &[seq, d01, d23, ctrl]),
        None => write_multiple(unit, HR_DISP_01, &[d01, d23, ctrl]),
    };
    match built {
        Ok(r) => r,
        // Three or four values are always a valid count.
        Err(_) => write_single(unit, HR_ACK, ack.unwrap_or(0)),
    }
}

/// Acknowledge a press alone.
pub fn ack_request(unit: u8, seq: u16) -> (Adu, Expect) {
    write_single(unit, HR_ACK, seq)
}

/// What to do with a polled head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HeadDecision {
    /// The queue is empty.
    Idle,
    /// A new press: apply it, then call [`PressTracker::applied`] and acknowledge `seq`.
    Apply { key: KeyCode, seq: u16 },
    /// A press with a code this master does not know: acknowledge it without applying it.
    Discard { key_code: u8, seq: u16 },
    /// Already applied (its acknowledgement was lost): acknowledge `seq` again, apply nothing.
    AckAgain { seq: u16 },
}

/// Per keypad: the last press applied, so a head read again is never applied twice.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PressTracker {
    last: Option<(u8, u16)>,
}

impl PressTracker {
    /// A tracker that has applied nothing yet.
    pub fn new() -> Self {
        PressTracker { last: None }
    }

    /// Decide what a polled head means.
    pub fn decide(&self, head: Head) -> HeadDecision {
        if head.seq == 0 {
            return HeadDecision::Idle;
        }
        if self.last == Some((head.epoch, head.seq)) {
            return HeadDecision::AckAgain { seq: head.seq };
        }
        match KeyCode::from_code(head.key_code) {
            Some(key) => HeadDecision::Apply { key, seq: head.seq },
            None => HeadDecision::Discard {
                key_code: head.key_code,
                seq: head.seq,
            },
        }
    }

    /// Record that the press `(epoch, seq)` has been applied (or deliberately discarded).
    pub fn applied(&mut self, head: Head) {
        self.last = Some((head.epoch, head.seq));
    }

    /// The last press applied.
    pub fn last(&self) -> Option<(u8, u16)> {
        self.last
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn golden_poll_request() {
        let (a, e) = poll_request(1).unwrap();
        // 01 04 0000 0002 + CRC 71CB.
        assert_eq!(
            a.as_bytes(),
            &[0x01, 0x04, 0x00, 0x00, 0x00, 0x02, 0x71, 0xCB]
        );
        assert_eq!(e.reply_len(), 9);
        assert_eq!(poll_request(0), Err(RequestError::BroadcastRead));
        assert_eq!(
            read_input(1, 0, 0).map(|r| r.1),
            Err(RequestError::BadCount)
        );
        assert_eq!(
            read_input(1, 0, 126).map(|r| r.1),
            Err(RequestError::BadCount)
        );
    }

    #[test]
    fn golden_display_request() {
        let (a, e) = display_request(3, Some(0x0102), *b"A012", true);
        let mut want = Adu::from_bytes(&[
            3, 0x10, 0, 0, 0, 4, 8, 0x01, 0x02, b'A', b'0', b'1', b'2', 0, 1,
        ])
        .unwrap();
        want.seal().unwrap();
        assert_eq!(a, want);
        assert_eq!(
            e,
            Expect::WriteMultiple {
                unit: 3,
                start: 0,
                count: 4
            }
        );
        let (a, _) = display_request(3, None, *b"----", false);
        assert_eq!(&a.as_bytes()[..7], &[3, 0x10, 0, 1, 0, 3, 6]);
        assert!(write_multiple(1, 0, &[]).is_err());
    }

    fn reply(bytes: &[u8]) -> Adu {
        let mut a = Adu::from_bytes(bytes).unwrap();
        a.seal().unwrap();
        a
    }

    #[test]
    fn parses_read_reply_incrementally() {
        let (_, e) = poll_request(1).unwrap();
        let r = reply(&[1, 4, 4, 0x00, 0x07, 0x2A, 0x01]);
        for n in 0..r.len() {
            assert_eq!(
                parse_reply(&e, &r.as_bytes()[..n]),
                Ok(ReplyStatus::Incomplete),
                "prefix {n}"
            );
        }
        match parse_reply(&e, r.as_bytes()) {
            Ok(ReplyStatus::Complete {
                len: 9,
                reply: Reply::Registers(regs),
            }) => {
                assert_eq!(regs.as_slice(), &[7, 0x2A01]);
                assert_eq!(
                    decode_head(regs.as_slice()),
                    Some(Head {
                        epoch: 0x2A,
                        seq: 7,
                        key_code: 1
                    })
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rejects_corrupt_replies() {
        let (_, e) = poll_request(1).unwrap();
        let r = reply(&[1, 4, 4, 0x00, 0x07, 0x2A, 0x01]);
        for i in 0..r.len() {
            let mut b = [0u8; 9];
            b.copy_from_slice(r.as_bytes());
            b[i] ^= 0x04;
            assert!(parse_reply(&e, &b).is_err(), "flip in byte {i} accepted");
        }
        assert_eq!(parse_reply(&e, &[2]), Err(FrameError::WrongUnit));
        assert_eq!(parse_reply(&e, &[1, 3]), Err(FrameError::WrongFunction));
        assert_eq!(parse_reply(&e, &[1, 4, 6]), Err(FrameError::Length));
    }

    #[test]
    fn parses_exception_and_write_echo() {
        let (_, polled) = poll_request(9).unwrap();
        let (shown, display) = display_request(9, Some(5), *b"A001", false);
        let (acked, ack) = ack_request(9, 77);
        let complete = |len, reply| Ok(ReplyStatus::Complete { len, reply });
        let cases = [
            (
                polled,
                reply(&[9, 0x84, 2]),
                complete(5, Reply::Exception(2)),
            ),
            // A write is answered by the echo of its first six bytes.
            (
                display,
                reply(&shown.as_bytes()[..6]),
                complete(8, Reply::Written),
            ),
            (
                display,
                reply(&[9, 0x10, 0, 1, 0, 4]),
                Err(FrameError::BadEcho),
            ),
            (ack, acked, complete(8, Reply::Written)),
            (ack, reply(&[9, 6, 0, 0, 0, 78]), Err(FrameError::BadEcho)),
        ];
        for (expect, answer, want) in cases {
            assert_eq!(parse_reply(&expect, answer.as_bytes()), want, "{answer:?}");
        }
    }

    #[test]
    fn tracker_applies_once_per_epoch_and_seq() {
        let mut t = PressTracker::new();
        let h = Head {
            epoch: 3,
            seq: 10,
            key_code: 1,
        };
        assert_eq!(t.decide(Head { seq: 0, ..h }), HeadDecision::Idle);
        assert_eq!(
            t.decide(h),
            HeadDecision::Apply {
                key: KeyCode::Next,
                seq: 10
            }
        );
        t.applied(h);
        assert_eq!(t.decide(h), HeadDecision::AckAgain { seq: 10 });
        // Same seq after a reboot (new epoch) is a new press.
        assert_eq!(
            t.decide(Head { epoch: 4, ..h }),
            HeadDecision::Apply {
                key: KeyCode::Next,
                seq: 10
            }
        );
        assert_eq!(
            t.decide(Head {
                seq: 11,
                key_code: 99,
                ..h
            }),
            HeadDecision::Discard {
                key_code: 99,
                seq: 11
            }
        );
    }
}
