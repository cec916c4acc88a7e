//! Modbus RTU frames: the application data unit buffer, request parsing, reply building and the
//! slave's byte-by-byte receiver (frame boundaries by length and by t3.5 silence).

use crate::crc;

/// Largest RTU frame (address + PDU of 253 + CRC).
pub const MAX_ADU: usize = 256;

/// Function code: read holding registers.
pub const FN_READ_HOLDING: u8 = 0x03;
/// Function code: read input registers.
pub const FN_READ_INPUT: u8 = 0x04;
/// Function code: write single register.
pub const FN_WRITE_SINGLE: u8 = 0x06;
/// Function code: write multiple registers.
pub const FN_WRITE_MULTIPLE: u8 = 0x10;
/// Most registers one read may ask for.
pub const MAX_READ: u16 = 125;
/// Most registers one write-multiple may carry.
pub const MAX_WRITE: u16 = 123;

/// Modbus exception codes the keypad answers with.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Exception {
    /// Function code not supported.
    IllegalFunction = 1,
    /// Register address (range) outside the map.
    IllegalDataAddress = 2,
    /// A count or value the keypad cannot accept.
    IllegalDataValue = 3,
}

/// Why a frame was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FrameError {
    /// Fewer bytes than the smallest valid frame.
    TooShort,
    /// The CRC does not match.
    Crc,
    /// The length does not match what the function code and byte count say.
    Length,
    /// More bytes than [`MAX_ADU`].
    TooLong,
    /// A reply from a unit other than the one asked.
    WrongUnit,
    /// A reply with a function code other than the one asked (or its exception form).
    WrongFunction,
    /// A write reply that does not echo the request.
    BadEcho,
}

/// An RTU frame under construction or received: a fixed buffer plus a length.
#[derive(Clone)]
pub struct Adu {
    buf: [u8; MAX_ADU],
    len: usize,
}

impl core::fmt::Debug for Adu {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "Adu({:02x?})", self.as_bytes())
    }
}

impl PartialEq for Adu {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Default for Adu {
    fn default() -> Self {
        Adu::new()
    }
}

impl Adu {
    /// An empty frame.
    pub const fn new() -> Self {
        Adu {
            buf: [0; MAX_ADU],
            len: 0,
        }
    }

    /// A copy of `bytes` (an error if longer than [`MAX_ADU`]).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, FrameError> {
        let mut a = Adu::new();
        a.extend(bytes)?;
        Ok(a)
    }

    /// Append one byte.
    pub fn push(&mut self, b: u8) -> Result<(), FrameError> {
        if self.len >= MAX_ADU {
            return Err(FrameError::TooLong);
        }
        self.buf[self.len] = b;
        self.len += 1;
        Ok(())
    }

    /// Append bytes.
    pub fn extend(&mut self, bytes: &[u8]) -> Result<(), FrameError> {
        if self.len + bytes.len() > MAX_ADU {
            return Err(FrameError::TooLong);
        }
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
        Ok(())
    }

    /// Append a big-endian u16.
    pub fn push_u16(&mut self, v: u16) -> Result<(), FrameError> {
        self.extend(&v.to_be_bytes())
    }

    /// Append the CRC of everything so far (low byte first), completing the frame.
    pub fn seal(&mut self) -> Result<(), FrameError> {
        let c = crc::crc16(self.as_bytes());
        self.extend(&c.to_le_bytes())
    }

    /// The bytes of the frame.
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf[..self.len]
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no byte has been added.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// A request as the slave sees it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Request<'a> {
    /// 0x03.
    ReadHolding { start: u16, count: u16 },
    /// 0x04.
    ReadInput { start: u16, count: u16 },
    /// 0x06.
    WriteSingle { register: u16, value: u16 },
    /// 0x10; `data` holds `count` big-endian values.
    WriteMultiple {
        start: u16,
        count: u16,
        data: &'a [u8],
    },
    /// Any other function code (answered with [`Exception::IllegalFunction`]).
    Other { function: u8 },
}

/// How long a request frame is, judging from its first bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RequestLen {
    /// Not enough bytes yet to tell.
    NeedMore,
    /// The frame is this long in total.
    Known(usize),
    /// An unsupported function: only silence ends the frame.
    Unknown,
}

/// The total length of the request starting with `head`.
pub fn request_len(head: &[u8]) -> RequestLen {
    let Some(&function) = head.get(1) else {
        return RequestLen::NeedMore;
    };
    match function {
        FN_READ_HOLDING | FN_READ_INPUT | FN_WRITE_SINGLE => RequestLen::Known(8),
        FN_WRITE_MULTIPLE => match head.get(6) {
            Some(&n) => RequestLen::Known(9 + usize::from(n)),
            None => RequestLen::NeedMore,
        },
        _ => RequestLen::Unknown,
    }
}

fn be16(b: &[u8], i: usize) -> u16 {
    u16::from_be_bytes([b[i], b[i + 1]])
}

/// Parse a complete request frame (address, PDU, CRC) into its unit address and request.
pub fn parse_request(frame: &[u8]) -> Result<(u8, Request<'_>), FrameError> {
    if frame.len() < 4 {
        return Err(FrameError::TooShort);
    }
    if frame.len() > MAX_ADU {
        return Err(FrameError::TooLong);
    }
    if !crc::check(frame) {
        return Err(FrameError::Crc);
    }
    let unit = frame[0];
    let function = frame[1];
    let pdu_end = frame.len() - 2;
    let need = match request_len(frame) {
        RequestLen::Known(n) => n,
        RequestLen::NeedMore => return Err(FrameError::TooShort),
        RequestLen::Unknown => return Ok((unit, Request::Other { function })),
    };
    if frame.len() != need {
        return Err(FrameError::Length);
    }
    // Every request carries two 16-bit words first (bytes 2..6).
    let words = (be16(frame, 2), be16(frame, 4));
    let req = match (function, words) {
        (FN_READ_HOLDING, (start, count)) => Request::ReadHolding { start, count },
        (FN_READ_INPUT, (start, count)) => Request::ReadInput { start, count },
        (FN_WRITE_SINGLE, (register, value)) => Request::WriteSingle { register, value },
        (_, (start, count)) => Request::WriteMultiple {
            start,
            count,
            data: &frame[7..pdu_end],
        },
    };
    Ok((unit, req))
}

/// An exception reply: `unit`, `function | 0x80`, `code`, CRC.
pub fn exception_reply(unit: u8, function: u8, code: Exception) -> Adu {
    let mut a = Adu::new();
    // Five bytes always fit.
    let _ = a.extend(&[unit, function | 0x80, code as u8]);
    let _ = a.seal();
    a
}

/// What [`RtuReceiver::push`] / [`RtuReceiver::poll`] found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RxStatus {
    /// Nothing complete yet (or the traffic is not for this unit).
    Pending,
    /// A frame for this unit (or broadcast) with a good CRC is in [`RtuReceiver::frame`].
    Ready,
    /// A frame for this unit was discarded.
    Discarded(FrameError),
}

/// The slave's receiver: collects bytes addressed to `unit` (or broadcast, address 0) and ends a
/// frame as soon as its length is known and reached, or — for unknown functions — after t3.5 of
/// silence. Traffic for other units, and anything after a completed or broken frame, is skipped
/// until the line has been silent for t3.5, which is how RTU resynchronises.
#[derive(Clone, Debug)]
pub struct RtuReceiver {
    unit: u8,
    gap_us: u64,
    buf: [u8; MAX_ADU],
    len: usize,
    last_us: Option<u64>,
    skipping: bool,
    ready: bool,
}

impl RtuReceiver {
    /// A receiver for `unit` that treats a silence of `gap_us` (t3.5) as a frame boundary.
    pub fn new(unit: u8, gap_us: u64) -> Self {
        RtuReceiver {
            unit,
            gap_us,
            buf: [0; MAX_ADU],
            len: 0,
            last_us: None,
            skipping: false,
            ready: false,
        }
    }

    /// The completed frame after [`RxStatus::Ready`].
    pub fn frame(&self) -> &[u8] {
        if self.ready {
            &self.buf[..self.len]
        } else {
            &[]
        }
    }

    fn reset(&mut self) {
        self.len = 0;
        self.skipping = false;
        self.ready = false;
    }

    /// Close a frame that silence has ended; only frames of unknown length can be complete then.
    fn end_by_silence(&mut self) -> RxStatus {
        if self.len == 0 || self.skipping {
            return RxStatus::Pending;
        }
        let status = match request_len(&self.buf[..self.len]) {
            RequestLen::Unknown if self.len >= 4 && crc::check(&self.buf[..self.len]) => {
                self.ready = true;
                RxStatus::Ready
            }
            RequestLen::Unknown if self.len >= 4 => RxStatus::Discarded(FrameError::Crc),
            _ => RxStatus::Discarded(FrameError::TooShort),
        };
        self.skipping = true;
        status
    }

    /// Feed one byte received at `now_us`.
    pub fn push(&mut self, byte: u8, now_us: u64) -> RxStatus {
        let mut status = RxStatus::Pending;
        if let Some(last) = self.last_us {
            if now_us.saturating_sub(last) >= self.gap_us {
                if !self.ready {
                    status = self.end_by_silence();
                }
                self.reset();
            }
        }
        self.last_us = Some(now_us);
        if self.skipping || self.ready {
            // Bytes straight after a complete frame, without a gap: the frame was not what it
            // seemed (or the master broke the t3.5 rule). Drop it all until silence.
            if self.ready {
                self.ready = false;
                self.skipping = true;
                return RxStatus::Discarded(FrameError::Length);
            }
            return status;
        }
        if self.len == 0 && byte != self.unit && byte != 0 {
            self.skipping = true;
            return status;
        }
        if self.len >= MAX_ADU {
            self.skipping = true;
            return RxStatus::Discarded(FrameError::TooLong);
        }
        self.buf[self.len] = byte;
        self.len += 1;
        match request_len(&self.buf[..self.len]) {
            RequestLen::Known(n) if self.len >= n => {
                if crc::check(&self.buf[..self.len]) {
                    self.ready = true;
                    RxStatus::Ready
                } else {
                    self.skipping = true;
                    RxStatus::Discarded(FrameError::Crc)
                }
            }
            _ => status,
        }
    }

    /// Check for a frame ended by silence at `now_us` (call regularly while idle).
    pub fn poll(&mut self, now_us: u64) -> RxStatus {
        match self.last_us {
            Some(last) if !self.ready && now_us.saturating_sub(last) >= self.gap_us => {
                let s = self.end_by_silence();
                if s != RxStatus::Ready {
                    self.reset();
                    self.skipping = false;
                }
                s
            }
            _ => RxStatus::Pending,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sealed(bytes: &[u8]) -> Adu {
        let mut a = Adu::from_bytes(bytes).unwrap();
        a.seal().unwrap();
        a
    }

    /// Feeds `bytes` one every 500 µs from `t0`: the last status that was not pending, and
    /// the time after the last byte.
    fn feed(rx: &mut RtuReceiver, bytes: &[u8], t0: u64) -> (RxStatus, u64) {
        let mut last = RxStatus::Pending;
        let mut t = t0;
        for &b in bytes {
            let s = rx.push(b, t);
            if s != RxStatus::Pending {
                last = s;
            }
            t += 500;
        }
        (last, t)
    }

    /// Feeds each frame `gap` µs after the previous one ended (the first at 0) and checks the
    /// status it ends with.
    fn feed_frames(rx: &mut RtuReceiver, frames: &[(&[u8], u64, RxStatus)]) {
        let mut t = 0;
        for (i, (bytes, gap, want)) in frames.iter().enumerate() {
            let (s, end) = feed(rx, bytes, t + gap);
            assert_eq!(&s, want, "frame {i}");
            t = end;
        }
    }

    /// A receiver for unit 5 (2 ms of silence ends a frame) and a poll addressed to it.
    fn unit5_and_poll() -> (RtuReceiver, Adu) {
        (RtuReceiver::new(5, 2000), sealed(&[5, 0x04, 0, 0, 0, 2]))
    }

    #[test]
    fn parses_each_function() {
        let f = sealed(&[5, 0x04, 0, 1, 0, 2]);
        assert_eq!(
            parse_request(f.as_bytes()),
            Ok((5, Request::ReadInput { start: 1, count: 2 }))
        );
        let f = sealed(&[5, 0x03, 0, 0, 0, 5]);
        assert_eq!(
            parse_request(f.as_bytes()),
            Ok((5, Request::ReadHolding { start: 0, count: 5 }))
        );
        let f = sealed(&[5, 0x06, 0, 3, 0, 1]);
        assert_eq!(
            parse_request(f.as_bytes()),
            Ok((
                5,
                Request::WriteSingle {
                    register: 3,
                    value: 1
                }
            ))
        );
        let f = sealed(&[5, 0x10, 0, 1, 0, 2, 4, 0x41, 0x30, 0x31, 0x32]);
        assert_eq!(
            parse_request(f.as_bytes()),
            Ok((
                5,
                Request::WriteMultiple {
                    start: 1,
                    count: 2,
                    data: &[0x41, 0x30, 0x31, 0x32]
                }
            ))
        );
        let f = sealed(&[5, 0x2B, 0x0E, 1, 0]);
        assert_eq!(
            parse_request(f.as_bytes()),
            Ok((5, Request::Other { function: 0x2B }))
        );
    }

    #[test]
    fn rejects_bad_frames() {
        let f = sealed(&[5, 0x04, 0, 1, 0, 2]);
        let mut bad = f.clone();
        bad.buf[3] ^= 0x10;
        assert_eq!(parse_request(bad.as_bytes()), Err(FrameError::Crc));
        assert_eq!(parse_request(&f.as_bytes()[..3]), Err(FrameError::TooShort));
        // Valid CRC but wrong length for the function.
        let f = sealed(&[5, 0x04, 0, 1, 0]);
        assert_eq!(parse_request(f.as_bytes()), Err(FrameError::Length));
        let f = sealed(&[5, 0x10, 0, 1, 0, 2, 4, 0x41, 0x30]);
        assert_eq!(parse_request(f.as_bytes()), Err(FrameError::Length));
    }

    #[test]
    fn golden_exception() {
        // Unit 1, illegal data address for function 4: 01 84 02 C2 C1.
        assert_eq!(
            exception_reply(1, 0x04, Exception::IllegalDataAddress).as_bytes(),
            &[0x01, 0x84, 0x02, 0xC2, 0xC1]
        );
    }

    #[test]
    fn receiver_completes_by_length() {
        let (mut rx, f) = unit5_and_poll();
        let (s, _) = feed(&mut rx, f.as_bytes(), 0);
        assert_eq!(s, RxStatus::Ready);
        assert_eq!(rx.frame(), f.as_bytes());
    }

    #[test]
    fn receiver_ignores_other_units_and_their_replies() {
        let (mut rx, mine) = unit5_and_poll();
        let other = sealed(&[6, 0x04, 0, 0, 0, 2]);
        // A reply from unit 6 that contains our address byte in its data.
        let reply = sealed(&[6, 0x04, 4, 5, 0x04, 0, 0]);
        feed_frames(
            &mut rx,
            &[
                (other.as_bytes(), 0, RxStatus::Pending),
                (reply.as_bytes(), 2500, RxStatus::Pending),
                (mine.as_bytes(), 2500, RxStatus::Ready),
            ],
        );
    }

    #[test]
    fn receiver_discards_truncated_then_recovers() {
        let (mut rx, f) = unit5_and_poll();
        let (s, t) = feed(&mut rx, &f.as_bytes()[..5], 0);
        assert_eq!(s, RxStatus::Pending);
        // Silence ends the truncated frame.
        assert_eq!(rx.poll(t + 2000), RxStatus::Discarded(FrameError::TooShort));
        assert_eq!(rx.poll(t + 4000), RxStatus::Pending);
        let (s, _) = feed(&mut rx, f.as_bytes(), t + 5000);
        assert_eq!(s, RxStatus::Ready);
    }

    #[test]
    fn receiver_truncated_frame_noticed_by_next_byte() {
        let (mut rx, f) = unit5_and_poll();
        let (_, t) = feed(&mut rx, &f.as_bytes()[..3], 0);
        // No poll in between: the next frame's first byte reveals the gap.
        assert_eq!(
            rx.push(5, t + 3000),
            RxStatus::Discarded(FrameError::TooShort)
        );
        let (s, _) = feed(&mut rx, &f.as_bytes()[1..], t + 3500);
        assert_eq!(s, RxStatus::Ready);
    }

    #[test]
    fn receiver_crc_error_skips_to_silence() {
        let (mut rx, good) = unit5_and_poll();
        let mut bad = good.clone();
        bad.buf[4] ^= 1;
        feed_frames(
            &mut rx,
            &[
                (bad.as_bytes(), 0, RxStatus::Discarded(FrameError::Crc)),
                // Trailing garbage without a gap is skipped, not parsed as a new frame.
                (&[5, 4, 0, 0, 0, 2, 0x71, 0xCB], 0, RxStatus::Pending),
                (good.as_bytes(), 2500, RxStatus::Ready),
            ],
        );
    }

    #[test]
    fn receiver_unknown_function_ends_by_silence() {
        let mut rx = RtuReceiver::new(5, 2000);
        let f = sealed(&[5, 0x2B, 0x0E, 1, 0]);
        let (s, t) = feed(&mut rx, f.as_bytes(), 0);
        assert_eq!(s, RxStatus::Pending);
        assert_eq!(rx.poll(t + 1000), RxStatus::Pending);
        assert_eq!(rx.poll(t + 2000), RxStatus::Ready);
        assert_eq!(rx.frame(), f.as_bytes());
    }

    #[test]
    fn receiver_too_long_frame() {
        let mut rx = RtuReceiver::new(5, 2000);
        let mut status = RxStatus::Pending;
        for i in 0..300u64 {
            let s = rx.push(if i == 0 { 5 } else { 0x2B }, i * 10);
            if s != RxStatus::Pending {
                status = s;
            }
        }
        assert_eq!(status, RxStatus::Discarded(FrameError::TooLong));
    }
}
