//! Property tests: the keypad and the master codec over a noisy, lossy channel, and fuzzed input.

use layso_keypad::frame::{parse_request, Adu};
use layso_keypad::master::{self, HeadDecision, PressTracker, Reply, ReplyStatus};
use layso_keypad::segments::label_chars;
use layso_keypad::{KeyCode, Keypad, KeypadConfig};
use proptest::prelude::*;

const CHAR_US: u64 = 573;

/// One transaction over a channel that may flip a bit in the request, drop the reply or flip a
/// bit in the reply. Returns the reply bytes the master receives.
fn exchange(k: &mut Keypad, req: &[u8], t: &mut u64, fault: (u8, usize, u8)) -> Option<Vec<u8>> {
    *t += 3000;
    let (kind, pos, bit) = fault;
    let mut reply = None;
    for (i, &b) in req.iter().enumerate() {
        let b = if kind == 1 && pos % req.len() == i {
            b ^ (1 << (bit % 8))
        } else {
            b
        };
        if let Some(r) = k.on_byte(b, *t) {
            reply = Some(r);
        }
        *t += CHAR_US;
    }
    if reply.is_none() {
        if let Some(r) = k.poll(*t + 3000) {
            reply = Some(r);
        }
    }
    let mut bytes = reply?.as_bytes().to_vec();
    *t += CHAR_US * bytes.len() as u64;
    match kind {
        2 => None,
        3 => {
            let i = pos % bytes.len();
            bytes[i] ^= 1 << (bit % 8);
            Some(bytes)
        }
        _ => Some(bytes),
    }
}

fn complete(e: &master::Expect, bytes: Option<Vec<u8>>) -> Option<Reply> {
    match master::parse_reply(e, &bytes?) {
        Ok(ReplyStatus::Complete { reply, .. }) => Some(reply),
        _ => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// Every press is applied exactly once, in order, whatever the channel does, as long as it
    /// eventually lets frames through.
    #[test]
    fn presses_applied_exactly_once(
        buttons in proptest::collection::vec(0usize..7, 1..12),
        faults in proptest::collection::vec((0u8..4, 0usize..64, 0u8..8), 0..400),
        first_seq in any::<u16>(),
    ) {
        let mut k = Keypad::new(KeypadConfig { epoch: 7, first_seq, ..KeypadConfig::new(3) });
        let mut ms = 0u32;
        for &b in &buttons {
            for _ in 0..15 { k.scan(1 << b, ms); ms += 1; }
            for _ in 0..15 { k.scan(0, ms); ms += 1; }
        }
        prop_assert_eq!(k.queue_len(), buttons.len());
        let mut t = 0u64;
        let mut tracker = PressTracker::new();
        let mut applied = Vec::new();
        let mut faults = faults.into_iter();
        // Bounded: each loop takes at most two transactions; after the faults run out the
        // channel is clean and every remaining press needs two.
        for _ in 0..(400 + 4 * buttons.len()) {
            let (req, e) = master::poll_request(3).unwrap();
            let f = faults.next().unwrap_or((0, 0, 0));
            let Some(Reply::Registers(regs)) = complete(&e, exchange(&mut k, req.as_bytes(), &mut t, f)) else { continue };
            let head = master::decode_head(regs.as_slice()).unwrap();
            let seq = match tracker.decide(head) {
                HeadDecision::Idle => {
                    if faults.len() == 0 { break; }
                    continue;
                }
                HeadDecision::Apply { key, seq } => { applied.push(key); tracker.applied(head); seq }
                HeadDecision::AckAgain { seq } => seq,
                HeadDecision::Discard { .. } => { prop_assert!(false, "keypad reported an unknown key"); 0 }
            };
            let (w, _) = master::display_request(3, Some(seq), label_chars(Some("A001")), true);
            let f = faults.next().unwrap_or((0, 0, 0));
            let _ = exchange(&mut k, w.as_bytes(), &mut t, f);
        }
        let want: Vec<KeyCode> = buttons.iter().map(|&b| KeyCode::from_button(b).unwrap()).collect();
        prop_assert_eq!(applied, want);
        prop_assert_eq!(k.queue_len(), 0);
    }

    /// Arbitrary bytes at arbitrary times never panic the keypad, and it still answers after.
    #[test]
    fn keypad_survives_garbage(bytes in proptest::collection::vec(any::<u8>(), 0..600), gaps in proptest::collection::vec(0u64..5000, 600)) {
        let mut k = Keypad::new(KeypadConfig::new(1));
        let mut t = 0u64;
        for (b, g) in bytes.iter().zip(gaps.iter()) {
            t += g;
            let _ = k.on_byte(*b, t);
            let _ = k.poll(t);
        }
        let (req, e) = master::poll_request(1).unwrap();
        t += 10_000;
        let _ = k.poll(t);
        let mut reply = None;
        for &b in req.as_bytes() {
            if let Some(r) = k.on_byte(b, t) { reply = Some(r); }
            t += CHAR_US;
        }
        let reply = reply.expect("keypad answers a clean poll after garbage");
        let ok = matches!(master::parse_reply(&e, reply.as_bytes()), Ok(ReplyStatus::Complete { .. }));
        prop_assert!(ok, "reply after garbage does not parse");
    }

    /// The master's reply parser never panics and never accepts a frame with a bad CRC.
    #[test]
    fn reply_parser_total(bytes in proptest::collection::vec(any::<u8>(), 0..300), count in 1u16..10) {
        let (_, e) = master::read_input(bytes.first().copied().unwrap_or(1).max(1), 0, count).unwrap();
        if let Ok(ReplyStatus::Complete { len, .. }) = master::parse_reply(&e, &bytes) {
            prop_assert!(layso_keypad::crc::check(&bytes[..len]));
        }
    }

    /// Requests the master builds are parsed back to what was meant.
    #[test]
    fn write_requests_round_trip(unit in 1u8..=247, start in any::<u16>(), values in proptest::collection::vec(any::<u16>(), 1..=123)) {
        let (a, _) = master::write_multiple(unit, start, &values).unwrap();
        let (u, req) = parse_request(a.as_bytes()).unwrap();
        prop_assert_eq!(u, unit);
        match req {
            layso_keypad::frame::Request::WriteMultiple { start: s, count, data } => {
                prop_assert_eq!(s, start);
                prop_assert_eq!(usize::from(count), values.len());
                let back: Vec<u16> = data.chunks(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                prop_assert_eq!(back, values);
            }
            other => prop_assert!(false, "parsed as {:?}", other),
        }
        let cut = Adu::from_bytes(&a.as_bytes()[..a.len() - 1]).unwrap();
        prop_assert!(parse_request(cut.as_bytes()).is_err());
    }
}
