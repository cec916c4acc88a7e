//! The keypad as a Modbus RTU slave: buttons in, display out, requests answered from the
//! register map. Pure state machine; the board (or the host simulator) feeds it bytes, button
//! levels and time, and sends the replies it returns.

use crate::buttons::Debouncer;
use crate::frame::{
    exception_reply, parse_request, Adu, Exception, Request, RtuReceiver, RxStatus, MAX_READ,
    MAX_WRITE,
};
use crate::queue::PressQueue;
use crate::regs::*;
use crate::segments::{Display, DIGITS};

/// How many unacknowledged presses the keypad keeps.
pub const QUEUE_CAPACITY: usize = 16;

/// Start-up settings of a keypad.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KeypadConfig {
    /// Bus address (1..=247).
    pub address: u8,
    /// The address came from the fallback, not the pins (reported in the status register).
    pub fallback_address: bool,
    /// Boot epoch, different at every boot (0 is taken as 1).
    pub epoch: u8,
    /// Sequence number of the first press after boot (0 is taken as 1).
    pub first_seq: u16,
    /// Bus speed, for the t3.5 frame gap.
    pub baud: u32,
    /// Debounce time of the buttons.
    pub debounce_ms: u32,
}

impl KeypadConfig {
    /// Defaults for `address` at 19200 baud: 10 ms debounce, epoch 1, first press 1.
    pub fn new(address: u8) -> Self {
        KeypadConfig {
            address,
            fallback_address: false,
            epoch: 1,
            first_seq: 1,
            baud: 19_200,
            debounce_ms: 10,
        }
    }
}

/// What the buttons mean. A counter keypad (the default) has the seven counter keys; a
/// keypad in the rating layout, in the citizens' reach, reports its first three buttons as
/// the rating keys (Rất hài lòng, Hài lòng, Chưa hài lòng) and ignores the others.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Layout {
    #[default]
    Counter,
    Rating,
}

/// The keypad's whole state.
#[derive(Clone, Debug)]
pub struct Keypad {
    cfg: KeypadConfig,
    layout: Layout,
    rx: RtuReceiver,
    queue: PressQueue<QUEUE_CAPACITY>,
    debounce: Debouncer,
    display: Display,
    ack_reg: u16,
    rx_errors: u16,
}

fn ms_of(now_us: u64) -> u32 {
    (now_us / 1000) as u32
}

impl Keypad {
    /// A keypad just booted with `cfg`.
    pub fn new(mut cfg: KeypadConfig) -> Self {
        if cfg.epoch == 0 {
            cfg.epoch = 1;
        }
        Keypad {
            rx: RtuReceiver::new(cfg.address, rx_gap_us(cfg.baud)),
            queue: PressQueue::new(cfg.first_seq),
            debounce: Debouncer::new(cfg.debounce_ms),
            display: Display::new(),
            ack_reg: 0,
            rx_errors: 0,
            layout: Layout::Counter,
            cfg,
        }
    }

    /// Choose what the buttons mean (the board decides at boot; default [`Layout::Counter`]).
    pub fn set_layout(&mut self, layout: Layout) {
        self.layout = layout;
    }

    /// The key button `index` reports in the current layout.
    pub fn key_of_button(&self, index: usize) -> Option<KeyCode> {
        match self.layout {
            Layout::Counter => KeyCode::from_button(index),
            Layout::Rating => KeyCode::RATING.get(index).copied(),
        }
    }

    /// The bus address.
    pub fn address(&self) -> u8 {
        self.cfg.address
    }

    /// The boot epoch.
    pub fn epoch(&self) -> u8 {
        self.cfg.epoch
    }

    /// Feed raw button levels (bit i = button i pressed) sampled at `now_ms`; debounced presses
    /// are queued. Returns the buttons newly pressed.
    pub fn scan(&mut self, raw: u8, now_ms: u32) -> u8 {
        let pressed = self.debounce.update(raw, now_ms);
        for i in 0..8 {
            if pressed & (1 << i) != 0 {
                if let Some(key) = self.key_of_button(i) {
                    // A full queue counts the drop itself (reported in IR_DROPPED / STATUS).
                    let _ = self.queue.push(key);
                }
            }
        }
        pressed
    }

    /// Feed one received byte at `now_us`; returns the reply to send, if the byte completed a
    /// request that needs one.
    pub fn on_byte(&mut self, byte: u8, now_us: u64) -> Option<Adu> {
        let status = self.rx.push(byte, now_us);
        self.after_rx(status, now_us)
    }

    /// Call regularly while no byte arrives: ends frames of unknown length by silence.
    pub fn poll(&mut self, now_us: u64) -> Option<Adu> {
        let status = self.rx.poll(now_us);
        self.after_rx(status, now_us)
    }

    fn after_rx(&mut self, status: RxStatus, now_us: u64) -> Option<Adu> {
        match status {
            RxStatus::Pending => None,
            RxStatus::Discarded(_) => {
                self.rx_errors = self.rx_errors.wrapping_add(1);
                None
            }
            RxStatus::Ready => {
                let mut frame = [0u8; crate::frame::MAX_ADU];
                let n = self.rx.frame().len();
                frame[..n].copy_from_slice(self.rx.frame());
                self.handle(&frame[..n], ms_of(now_us))
            }
        }
    }

    /// Answer one complete request frame (already addressed to this unit or broadcast).
    pub fn handle(&mut self, frame: &[u8], now_ms: u32) -> Option<Adu> {
        let (unit, req) = match parse_request(frame) {
            Ok(r) => r,
            Err(_) => {
                self.rx_errors = self.rx_errors.wrapping_add(1);
                return None;
            }
        };
        if unit != self.cfg.address && unit != 0 {
            return None;
        }
        let broadcast = unit == 0;
        let function = frame[1];
        let result = match req {
            Request::ReadInput { start, count } => self.read(start, count, IR_COUNT, now_ms, true),
            Request::ReadHolding { start, count } => {
                self.read(start, count, HR_COUNT, now_ms, false)
            }
            Request::WriteSingle { register, value } => {
                let mut data = [0u8; 2];
                data.copy_from_slice(&value.to_be_bytes());
                self.write(register, 1, &data, now_ms).map(|_| {
                    let mut a = Adu::new();
                    let _ = a.extend(&frame[..6]);
                    let _ = a.seal();
                    a
                })
            }
            Request::WriteMultiple { start, count, data } => {
                self.write(start, count, data, now_ms).map(|_| {
                    let mut a = Adu::new();
                    let _ = a.extend(&frame[..6]);
                    let _ = a.seal();
                    a
                })
            }
            Request::Other { .. } => Err(Exception::IllegalFunction),
        };
        if broadcast {
            // Broadcasts are carried out (writes) but never answered.
            return None;
        }
        Some(match result {
            Ok(reply) => reply,
            Err(e) => exception_reply(self.cfg.address, function, e),
        })
    }

    fn input_register(&self, reg: u16, now_ms: u32) -> u16 {
        let head = self.queue.head();
        match reg {
            IR_HEAD_SEQ => head.map_or(0, |p| p.seq),
            IR_HEAD_INFO => u16::from_be_bytes([self.cfg.epoch, head.map_or(0, |p| p.key.code())]),
            IR_QUEUE_LEN => self.queue.len() as u16,
            IR_STATUS => {
                let mut s = 0;
                if self.queue.dropped() > 0 {
                    s |= STATUS_OVERFLOW;
                }
                if self.display.is_blinking(now_ms) {
                    s |= STATUS_BLINKING;
                }
                if self.cfg.fallback_address {
                    s |= STATUS_FALLBACK_ADDRESS;
                }
                s
            }
            IR_DROPPED => self.queue.dropped(),
            IR_RX_ERRORS => self.rx_errors,
            IR_FW_VERSION => FW_VERSION,
            IR_BUTTONS => u16::from(self.debounce.state()),
            _ => 0,
        }
    }

    fn holding_register(&self, reg: u16, now_ms: u32) -> u16 {
        match reg {
            HR_ACK => self.ack_reg,
            HR_DISP_01 => self.display.register_pair(0),
            HR_DISP_23 => self.display.register_pair(1),
            HR_DISP_CTRL => self.display.ctrl(now_ms),
            HR_BLINK_MS => self.display.blink_ms(),
            _ => 0,
        }
    }

    fn read(
        &self,
        start: u16,
        count: u16,
        size: u16,
        now_ms: u32,
        input: bool,
    ) -> Result<Adu, Exception> {
        if count == 0 || count > MAX_READ {
            return Err(Exception::IllegalDataValue);
        }
        if u32::from(start) + u32::from(count) > u32::from(size) {
            return Err(Exception::IllegalDataAddress);
        }
        let mut a = Adu::new();
        let function = if input {
            crate::frame::FN_READ_INPUT
        } else {
            crate::frame::FN_READ_HOLDING
        };
        let _ = a.extend(&[self.cfg.address, function, (count * 2) as u8]);
        for r in start..start + count {
            let v = if input {
                self.input_register(r, now_ms)
            } else {
                self.holding_register(r, now_ms)
            };
            let _ = a.push_u16(v);
        }
        let _ = a.seal();
        Ok(a)
    }

    fn write(&mut self, start: u16, count: u16, data: &[u8], now_ms: u32) -> Result<(), Exception> {
        if count == 0 || count > MAX_WRITE || data.len() != 2 * usize::from(count) {
            return Err(Exception::IllegalDataValue);
        }
        if u32::from(start) + u32::from(count) > u32::from(HR_COUNT) {
            return Err(Exception::IllegalDataAddress);
        }
        let value =
            |i: u16| u16::from_be_bytes([data[2 * usize::from(i)], data[2 * usize::from(i) + 1]]);
        // Validate the whole frame before changing anything.
        for i in 0..count {
            if start + i == HR_DISP_CTRL && value(i) & !CTRL_MASK != 0 {
                return Err(Exception::IllegalDataValue);
            }
        }
        let mut ctrl = None;
        let mut ack = None;
        for i in 0..count {
            let v = value(i);
            match start + i {
                HR_ACK => ack = Some(v),
                HR_DISP_01 => self.display.set_register_pair(0, v),
                HR_DISP_23 => self.display.set_register_pair(1, v),
                HR_DISP_CTRL => ctrl = Some(v),
                _ => self.display.set_blink_ms(v),
            }
        }
        // Blink duration written in the same frame applies to the blink it starts.
        if let Some(c) = ctrl {
            self.display.set_ctrl(c, now_ms);
        }
        if let Some(seq) = ack {
            self.ack_reg = seq;
            self.queue.ack(seq);
        }
        Ok(())
    }

    /// The segments to light at `now_ms`.
    pub fn segments(&self, now_ms: u32) -> [u8; DIGITS] {
        self.display.segments(now_ms)
    }

    /// The display state (characters, blink).
    pub fn display(&self) -> &Display {
        &self.display
    }

    /// Unacknowledged presses.
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// Sequence number of the oldest unacknowledged press.
    pub fn head_seq(&self) -> Option<u16> {
        self.queue.head().map(|p| p.seq)
    }

    /// Frames for this unit discarded as corrupt or truncated.
    pub fn rx_errors(&self) -> u16 {
        self.rx_errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::master::{self, HeadDecision, PressTracker, Reply, ReplyStatus};
    use crate::segments::{label_chars, render};
    use std::vec;

    fn kp(addr: u8) -> Keypad {
        Keypad::new(KeypadConfig {
            epoch: 9,
            first_seq: 100,
            ..KeypadConfig::new(addr)
        })
    }

    /// Send a request byte by byte at 19200-ish pacing; return the reply, if any.
    fn transact(k: &mut Keypad, req: &[u8], t: &mut u64) -> Option<Adu> {
        *t += 5000; // t3.5 of silence before every frame
        let mut out = None;
        for &b in req {
            if let Some(r) = k.on_byte(b, *t) {
                out = Some(r);
            }
            *t += 573;
        }
        out
    }

    fn press(k: &mut Keypad, button: usize, t_ms: &mut u32) {
        for _ in 0..20 {
            k.scan(1 << button, *t_ms);
            *t_ms += 1;
        }
        for _ in 0..20 {
            k.scan(0, *t_ms);
            *t_ms += 1;
        }
    }

    fn regs_of(e: &master::Expect, reply: &Adu) -> [u16; 8] {
        match master::parse_reply(e, reply.as_bytes()) {
            Ok(ReplyStatus::Complete {
                reply: Reply::Registers(r),
                ..
            }) => {
                let mut out = [0u16; 8];
                out[..r.as_slice().len()].copy_from_slice(r.as_slice());
                out
            }
            other => panic!("bad reply {other:?}"),
        }
    }

    #[test]
    fn press_poll_ack_cycle() {
        let mut k = kp(4);
        let mut t = 0u64;
        let mut ms = 0u32;
        let (req, e) = master::poll_request(4).unwrap();
        let r = transact(&mut k, req.as_bytes(), &mut t).unwrap();
        assert_eq!(regs_of(&e, &r)[..2], [0, 0x0900]);

        press(&mut k, 0, &mut ms);
        press(&mut k, 2, &mut ms);
        assert_eq!(k.queue_len(), 2);
        let r = transact(&mut k, req.as_bytes(), &mut t).unwrap();
        let head = master::decode_head(&regs_of(&e, &r)).unwrap();
        assert_eq!(
            head,
            master::Head {
                epoch: 9,
                seq: 100,
                key_code: KeyCode::Next.code()
            }
        );

        let mut tracker = PressTracker::new();
        assert_eq!(
            tracker.decide(head),
            HeadDecision::Apply {
                key: KeyCode::Next,
                seq: 100
            }
        );
        tracker.applied(head);
        let (w, we) = master::display_request(4, Some(100), label_chars(Some("A012")), true);
        let r = transact(&mut k, w.as_bytes(), &mut t).unwrap();
        assert!(matches!(
            master::parse_reply(&we, r.as_bytes()),
            Ok(ReplyStatus::Complete {
                reply: Reply::Written,
                ..
            })
        ));
        assert_eq!(k.display().chars(), *b"A012");
        assert!(k.display().is_blinking((t / 1000) as u32));
        assert_eq!(k.segments((t / 1000) as u32), render(*b"A012"));
        assert_eq!(k.head_seq(), Some(101));

        // The ack's reply was "lost": a repeated ack of 100 must not drop 101.
        transact(&mut k, master::ack_request(4, 100).0.as_bytes(), &mut t).unwrap();
        assert_eq!(k.head_seq(), Some(101));
    }

    #[test]
    fn rating_layout_reports_the_rating_keys() {
        let mut k = kp(4);
        k.set_layout(crate::keypad::Layout::Rating);
        let mut t = 0u64;
        let mut ms = 0u32;
        let (req, e) = master::poll_request(4).unwrap();
        press(&mut k, 2, &mut ms);
        press(&mut k, 5, &mut ms); // no fourth rating key: ignored
        assert_eq!(k.queue_len(), 1);
        let r = transact(&mut k, req.as_bytes(), &mut t).unwrap();
        let head = master::decode_head(&regs_of(&e, &r)).unwrap();
        assert_eq!(head.key_code, KeyCode::RateUnsatisfied.code());
        let tracker = PressTracker::new();
        assert_eq!(
            tracker.decide(head),
            HeadDecision::Apply {
                key: KeyCode::RateUnsatisfied,
                seq: 100
            }
        );
        // The default layout is unchanged: button 2 is Skip.
        assert_eq!(kp(5).key_of_button(2), Some(KeyCode::Skip));
    }

    #[test]
    fn full_map_reads_and_exceptions() {
        let mut k = kp(4);
        let mut t = 0;
        let (req, e) = master::read_input(4, 0, IR_COUNT).unwrap();
        let r = transact(&mut k, req.as_bytes(), &mut t).unwrap();
        let regs = regs_of(&e, &r);
        assert_eq!(regs[IR_FW_VERSION as usize], FW_VERSION);
        let (req, e) = master::read_holding(4, 0, HR_COUNT).unwrap();
        let r = transact(&mut k, req.as_bytes(), &mut t).unwrap();
        assert_eq!(
            regs_of(&e, &r)[..5],
            [
                0,
                u16::from_be_bytes(*b"--"),
                u16::from_be_bytes(*b"--"),
                0,
                DEFAULT_BLINK_MS
            ]
        );

        let exc = |k: &mut Keypad, req: &Adu, t: &mut u64| {
            transact(k, req.as_bytes(), t).map(|r| r.as_bytes()[1..3].to_vec())
        };
        let (req, _) = master::read_input(4, 7, 2).unwrap();
        assert_eq!(exc(&mut k, &req, &mut t), Some(vec![0x84, 2]));
        let (req, _) = master::read_holding(4, HR_COUNT, 1).unwrap();
        assert_eq!(exc(&mut k, &req, &mut t), Some(vec![0x83, 2]));
        let (req, _) = master::write_single(4, HR_DISP_CTRL, 0x80);
        assert_eq!(exc(&mut k, &req, &mut t), Some(vec![0x86, 3]));
        let (req, _) = master::write_multiple(4, 3, &[0, 0, 0]).unwrap();
        assert_eq!(exc(&mut k, &req, &mut t), Some(vec![0x90, 2]));
        // Unknown function 0x2B: answered after silence.
        let mut odd = Adu::from_bytes(&[4, 0x2B, 0x0E, 1, 0]).unwrap();
        odd.seal().unwrap();
        assert_eq!(transact(&mut k, odd.as_bytes(), &mut t), None);
        let r = k.poll(t + 3000).unwrap();
        assert_eq!(&r.as_bytes()[1..3], &[0xAB, 1]);
        // Count 0 read (hand-built, the master codec refuses to build it).
        let mut zero = Adu::from_bytes(&[4, 4, 0, 0, 0, 0]).unwrap();
        zero.seal().unwrap();
        assert_eq!(exc(&mut k, &zero, &mut t), Some(vec![0x84, 3]));
        // Nothing changed by the rejected writes.
        assert_eq!(k.display().ctrl(0), 0);
    }

    #[test]
    fn broadcast_write_is_applied_silently() {
        let mut k = kp(4);
        let mut t = 0;
        let (req, _) = master::display_request(0, None, *b"8888", false);
        assert_eq!(transact(&mut k, req.as_bytes(), &mut t), None);
        assert_eq!(k.display().chars(), *b"8888");
        let mut bread = Adu::from_bytes(&[0, 4, 0, 0, 0, 2]).unwrap();
        bread.seal().unwrap();
        assert_eq!(transact(&mut k, bread.as_bytes(), &mut t), None);
    }

    #[test]
    fn corrupted_and_truncated_requests_get_no_reply_and_count() {
        let mut k = kp(4);
        let mut t = 0;
        let (req, _) = master::poll_request(4).unwrap();
        for i in 1..req.len() {
            let mut b = [0u8; 8];
            b.copy_from_slice(req.as_bytes());
            b[i] ^= 0x20;
            assert_eq!(
                transact(&mut k, &b, &mut t),
                None,
                "flip in byte {i} answered"
            );
        }
        // A flipped address byte makes the frame someone else's: ignored, not counted.
        assert_eq!(k.rx_errors(), 7);
        for n in 1..req.len() {
            assert_eq!(transact(&mut k, &req.as_bytes()[..n], &mut t), None);
        }
        assert_eq!(k.poll(t + 10_000), None);
        // Truncated frames are counted as they are ended by the next frame's gap.
        assert!(k.rx_errors() >= 13, "rx errors {}", k.rx_errors());
        assert!(
            transact(&mut k, req.as_bytes(), &mut t).is_some(),
            "keypad must recover"
        );
    }

    #[test]
    fn display_without_ack_does_not_drop_presses() {
        let mut k = kp(4);
        let mut t = 0;
        let mut ms = 0;
        press(&mut k, 1, &mut ms);
        let (w, _) = master::display_request(4, None, *b"A001", false);
        transact(&mut k, w.as_bytes(), &mut t).unwrap();
        assert_eq!(k.queue_len(), 1);
        assert!(!k.display().is_blinking((t / 1000) as u32));
    }
}
