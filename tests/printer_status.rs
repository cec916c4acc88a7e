//! Status parser tests: arbitrary bytes never panic; replies survive stray bytes.

use layso::devices::printer::status::{
    is_status_byte, parse_replies, reply_for, ReplyScanner, StatusReplies, QUERIES,
};
use layso::devices::printer::PrinterState;
use proptest::prelude::*;

/// The states a status reply can report: every state but `Unreachable` (no reply at all).
fn reply_states() -> Vec<PrinterState> {
    PrinterState::ALL
        .into_iter()
        .filter(|s| *s != PrinterState::Unreachable)
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                                   cut in 0usize..512) {
        let replies = parse_replies(&bytes);
        prop_assert!(replies.iter().all(|&b| is_status_byte(b)));
        // chunked scanning consumes within bounds and finds the same first reply
        let mut s = ReplyScanner::default();
        let cut = cut.min(bytes.len());
        let (a, b) = bytes.split_at(cut);
        let first = match s.scan(a) {
            Some((r, used)) => { prop_assert!(used <= a.len()); Some(r) }
            None => s.scan(b).map(|(r, used)| { assert!(used <= b.len()); r }),
        };
        prop_assert_eq!(first, replies.first().copied());
    }

    #[test]
    fn arbitrary_replies_classify_without_panic(p in proptest::option::of(any::<u8>()),
                                                o in proptest::option::of(any::<u8>()),
                                                r in proptest::option::of(any::<u8>())) {
        let (state, detail) = StatusReplies { printer: p, offline_cause: o, paper: r }.classify();
        prop_assert!(!detail.is_empty());
        prop_assert_eq!(p.is_none(), state == PrinterState::Unreachable);
    }

    #[test]
    fn replies_survive_noise(state in 0usize..6,
                             noise in proptest::collection::vec(any::<u8>().prop_filter("not a status byte", |b| !is_status_byte(*b)), 0..16)) {
        let st = reply_states()[state];
        let mut replies = StatusReplies::default();
        for n in QUERIES {
            let mut stream = noise.clone();
            stream.push(reply_for(st, n));
            stream.extend_from_slice(&[0x11, 0x13]);
            let (b, used) = ReplyScanner::default().scan(&stream).expect("reply found");
            prop_assert_eq!(used, noise.len() + 1);
            replies.set(n, b);
        }
        prop_assert_eq!(replies.classify().0, st);
    }
}
