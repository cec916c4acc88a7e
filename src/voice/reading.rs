//! How Vietnamese reads numbers, digits and ticket letters aloud, as words (pure): the
//! Northern and Southern variants (nghìn/ngàn, linh/lẻ, bốn/tư, lăm/nhăm, mốt).

/// The regional variant of number reading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dialect {
    /// Hà Nội: "một nghìn không trăm linh năm", "hai mươi bốn", "hai mươi nhăm".
    North,
    /// Sài Gòn: "một ngàn không trăm lẻ năm", "hai mươi tư", "hai mươi lăm".
    South,
}

/// One spoken word: each is one clip of a voice pack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Word {
    /// 0 to 9 as plain digits: không, một, …, chín.
    Digit(u8),
    /// "mười": ten, and the tens word of 10-19.
    Muoi,
    /// "mươi": the tens word of 20-90.
    Muoi2,
    /// "mốt": 1 after mươi.
    Mot,
    /// "tư": 4 after mươi (Southern).
    Tu,
    /// "lăm": 5 after mười / mươi.
    Lam,
    /// "nhăm": 5 after mươi (Northern).
    Nham,
    /// "linh" (North) / "lẻ" (South): zero tens before a unit.
    Linh,
    Le,
    Tram,
    /// "nghìn" (North) / "ngàn" (South).
    Nghin,
    Ngan,
    Trieu,
    Ty,
    /// A Latin letter of a ticket prefix, 'A'..='Z'.
    Letter(char),
}

const DIGITS: [&str; 10] = [
    "không", "một", "hai", "ba", "bốn", "năm", "sáu", "bảy", "tám", "chín",
];
const DIGIT_IDS: [&str; 10] = [
    "khong", "mot", "hai", "ba", "bon", "nam", "sau", "bay", "tam", "chin",
];

/// Vietnamese names of the Latin letters, as said when spelling a code.
const LETTERS: [&str; 26] = [
    "a", "bê", "xê", "dê", "e", "ép", "giê", "hát", "i", "gi", "ca", "e lờ", "em mờ", "en nờ", "o",
    "pê", "quy", "e rờ", "ét xì", "tê", "u", "vê", "vê kép", "ích xì", "i dài", "dét",
];

impl Word {
    /// The text a speaker says (and espeak-ng is given).
    pub(crate) fn text(self) -> &'static str {
        match self {
            Word::Digit(d) => DIGITS[usize::from(d % 10)],
            Word::Muoi => "mười",
            Word::Muoi2 => "mươi",
            Word::Mot => "mốt",
            Word::Tu => "tư",
            Word::Lam => "lăm",
            Word::Nham => "nhăm",
            Word::Linh => "linh",
            Word::Le => "lẻ",
            Word::Tram => "trăm",
            Word::Nghin => "nghìn",
            Word::Ngan => "ngàn",
            Word::Trieu => "triệu",
            Word::Ty => "tỷ",
            Word::Letter(c) => {
                let i = (c.to_ascii_uppercase() as usize).wrapping_sub('A' as usize);
                LETTERS.get(i).copied().unwrap_or("")
            }
        }
    }

    /// The clip id in a pack (ASCII, also the file name without `.wav`).
    pub(crate) fn clip_id(self) -> String {
        match self {
            Word::Digit(d) => format!("so-{}", DIGIT_IDS[usize::from(d % 10)]),
            Word::Letter(c) => format!("chu-{}", c.to_ascii_lowercase()),
            Word::Muoi => "so-muoi".into(),
            Word::Muoi2 => "so-muoi-2".into(),
            Word::Mot => "so-mot-2".into(),
            Word::Tu => "so-tu".into(),
            Word::Lam => "so-lam".into(),
            Word::Nham => "so-nham".into(),
            Word::Linh => "so-linh".into(),
            Word::Le => "so-le".into(),
            Word::Tram => "so-tram".into(),
            Word::Nghin => "so-nghin".into(),
            Word::Ngan => "so-ngan".into(),
            Word::Trieu => "so-trieu".into(),
            Word::Ty => "so-ty".into(),
        }
    }

    /// Every number word a dialect can use (the clips a pack needs for numbers).
    pub(crate) fn number_words(d: Dialect) -> Vec<Word> {
        let mut v: Vec<Word> = (0..10).map(Word::Digit).collect();
        v.extend([Word::Muoi, Word::Muoi2, Word::Mot, Word::Lam, Word::Tram]);
        v.extend([Word::Trieu, Word::Ty]);
        match d {
            Dialect::North => v.extend([Word::Nham, Word::Linh, Word::Nghin]),
            Dialect::South => v.extend([Word::Tu, Word::Le, Word::Ngan]),
        }
        v
    }
}

/// Join words into the text said, e.g. "mười hai".
pub fn words_text(words: &[Word]) -> String {
    words.iter().map(|w| w.text()).collect::<Vec<_>>().join(" ")
}

/// Read a group of three digits (0..=999). `full`: the group follows a higher group, so
/// hundreds are always said ("không trăm") and zero tens say linh/lẻ.
fn group(n: u32, full: bool, d: Dialect, out: &mut Vec<Word>) {
    let (h, t, u) = ((n / 100) as u8, (n / 10 % 10) as u8, (n % 10) as u8);
    if full || h > 0 {
        out.push(Word::Digit(h));
        out.push(Word::Tram);
    }
    match t {
        0 => {
            if u > 0 && (full || h > 0) {
                out.push(match d {
                    Dialect::North => Word::Linh,
                    Dialect::South => Word::Le,
                });
            }
            if u > 0 {
                out.push(Word::Digit(u));
            }
        }
        1 => {
            out.push(Word::Muoi);
            match u {
                0 => {}
                5 => out.push(Word::Lam),
                _ => out.push(Word::Digit(u)),
            }
        }
        _ => {
            out.push(Word::Digit(t));
            out.push(Word::Muoi2);
            match (u, d) {
                (0, _) => {}
                (1, _) => out.push(Word::Mot),
                (4, Dialect::South) => out.push(Word::Tu),
                (5, Dialect::North) => out.push(Word::Nham),
                (5, Dialect::South) => out.push(Word::Lam),
                _ => out.push(Word::Digit(u)),
            }
        }
    }
}

/// Read a whole number as Vietnamese words: 12 → "mười hai", 1005 → "một nghìn không
/// trăm linh năm" (North). Covers every `u32` (up to "bốn tỷ …").
pub fn number(n: u32, d: Dialect) -> Vec<Word> {
    if n == 0 {
        return vec![Word::Digit(0)];
    }
    let thousand = match d {
        Dialect::North => Word::Nghin,
        Dialect::South => Word::Ngan,
    };
    let groups = [
        (n / 1_000_000_000, Some(Word::Ty)),
        (n / 1_000_000 % 1000, Some(Word::Trieu)),
        (n / 1000 % 1000, Some(thousand)),
        (n % 1000, None),
    ];
    let mut out = Vec::new();
    for (g, unit) in groups {
        if g == 0 {
            continue;
        }
        group(g, !out.is_empty(), d, &mut out);
        if let Some(u) = unit {
            out.push(u);
        }
    }
    out
}

/// Read digits one by one: "012" → "không một hai".
pub(crate) fn digits(s: &str) -> Vec<Word> {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| Word::Digit(b - b'0'))
        .collect()
}

/// How the digits of a ticket are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DigitsMode {
    /// As a number: A012 → "a mười hai".
    Number,
    /// Digit by digit: A012 → "a không một hai".
    Digits,
}

/// Read a ticket label: letters by name, then the digits (as a number or one by one).
/// `prefix_len` is the length of the service prefix (which may itself hold digits, read
/// one by one); without it the label splits before its trailing digits.
pub(crate) fn ticket(
    label: &str,
    prefix_len: Option<usize>,
    d: Dialect,
    mode: DigitsMode,
) -> Vec<Word> {
    let split = prefix_len
        .filter(|&p| p <= label.len() && label.is_char_boundary(p))
        .unwrap_or_else(|| label.trim_end_matches(|c: char| c.is_ascii_digit()).len());
    let (prefix, num) = label.split_at(split);
    let mut out = Vec::new();
    for c in prefix.chars() {
        if c.is_ascii_alphabetic() {
            out.push(Word::Letter(c.to_ascii_uppercase()));
        } else if let Some(v) = c.to_digit(10) {
            out.push(Word::Digit(v as u8));
        }
    }
    match mode {
        DigitsMode::Digits => out.extend(digits(num)),
        DigitsMode::Number => match num.parse::<u32>() {
            Ok(n) => out.extend(number(n, d)),
            Err(_) => out.extend(digits(num)),
        },
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn say(n: u32, d: Dialect) -> String {
        words_text(&number(n, d))
    }

    #[test]
    fn table_of_readings() {
        use Dialect::{North as N, South as S};
        let table: &[(u32, Dialect, &str)] = &[
            (0, N, "không"),
            (1, N, "một"),
            (4, S, "bốn"),
            (5, N, "năm"),
            (10, N, "mười"),
            (11, N, "mười một"),
            (14, S, "mười bốn"),
            (15, N, "mười lăm"),
            (15, S, "mười lăm"),
            (20, N, "hai mươi"),
            (21, N, "hai mươi mốt"),
            (21, S, "hai mươi mốt"),
            (24, N, "hai mươi bốn"),
            (24, S, "hai mươi tư"),
            (25, N, "hai mươi nhăm"),
            (25, S, "hai mươi lăm"),
            (55, S, "năm mươi lăm"),
            (99, N, "chín mươi chín"),
            (100, N, "một trăm"),
            (101, N, "một trăm linh một"),
            (101, S, "một trăm lẻ một"),
            (104, N, "một trăm linh bốn"),
            (105, S, "một trăm lẻ năm"),
            (110, N, "một trăm mười"),
            (111, N, "một trăm mười một"),
            (115, N, "một trăm mười lăm"),
            (121, S, "một trăm hai mươi mốt"),
            (999, N, "chín trăm chín mươi chín"),
            (1000, N, "một nghìn"),
            (1000, S, "một ngàn"),
            (1005, N, "một nghìn không trăm linh năm"),
            (1005, S, "một ngàn không trăm lẻ năm"),
            (1010, N, "một nghìn không trăm mười"),
            (1234, S, "một ngàn hai trăm ba mươi tư"),
            (2021, N, "hai nghìn không trăm hai mươi mốt"),
            (10000, N, "mười nghìn"),
            (15000, S, "mười lăm ngàn"),
            (21000, S, "hai mươi mốt ngàn"),
            (100_001, N, "một trăm nghìn không trăm linh một"),
            (999_999, S, "chín trăm chín mươi chín ngàn chín trăm chín mươi chín"),
            (1_000_000, N, "một triệu"),
            (1_000_005, N, "một triệu không trăm linh năm"),
            (1_001_000, S, "một triệu không trăm lẻ một ngàn"),
            (
                4_294_967_295,
                N,
                "bốn tỷ hai trăm chín mươi bốn triệu chín trăm sáu mươi bảy nghìn hai trăm chín mươi nhăm",
            ),
        ];
        for (n, d, want) in table {
            assert_eq!(say(*n, *d), *want, "{n} in {d:?}");
        }
    }

    #[test]
    fn tickets_letters_and_digit_modes() {
        let t = |l, p, m| words_text(&ticket(l, p, Dialect::North, m));
        assert_eq!(t("A012", Some(1), DigitsMode::Number), "a mười hai");
        assert_eq!(t("A012", Some(1), DigitsMode::Digits), "a không một hai");
        assert_eq!(t("B100", None, DigitsMode::Number), "bê một trăm");
        assert_eq!(
            t("HT2005", Some(2), DigitsMode::Number),
            "hát tê hai nghìn không trăm linh năm"
        );
        // A prefix holding a digit: its digit is read alone, the number after it.
        assert_eq!(t("A1007", Some(2), DigitsMode::Number), "a một bảy");
        assert_eq!(t("007", Some(0), DigitsMode::Number), "bảy");
        assert_eq!(Word::Letter('W').text(), "vê kép");
    }

    /// Inverse reading: words back to the number, used to check the property below.
    fn parse(words: &[Word]) -> u64 {
        let (mut total, mut group, mut cur) = (0u64, 0u64, 0u64);
        for w in words {
            match w {
                Word::Digit(v) => cur += u64::from(*v),
                Word::Mot => cur += 1,
                Word::Tu => cur += 4,
                Word::Lam | Word::Nham => cur += 5,
                Word::Muoi => cur += 10,
                Word::Muoi2 => cur *= 10,
                Word::Linh | Word::Le | Word::Letter(_) => {}
                Word::Tram => {
                    group += cur * 100;
                    cur = 0;
                }
                Word::Nghin | Word::Ngan => {
                    total += (group + cur) * 1000;
                    (group, cur) = (0, 0);
                }
                Word::Trieu => {
                    total += (group + cur) * 1_000_000;
                    (group, cur) = (0, 0);
                }
                Word::Ty => {
                    total += (group + cur) * 1_000_000_000;
                    (group, cur) = (0, 0);
                }
            }
        }
        total + group + cur
    }

    proptest! {
        #[test]
        fn every_number_reads_back_and_follows_the_rules(n in any::<u32>(), south in any::<bool>()) {
            let d = if south { Dialect::South } else { Dialect::North };
            let w = number(n, d);
            prop_assert_eq!(parse(&w), u64::from(n));
            let allowed = Word::number_words(d);
            for x in &w {
                prop_assert!(allowed.contains(x), "{:?} not a {:?} word in {}", x, d, words_text(&w));
            }
            for pair in w.windows(2) {
                // mốt, tư, nhăm only after mươi; lăm only after mười/mươi; "mười một", never "mười mốt".
                match pair[1] {
                    Word::Mot | Word::Tu | Word::Nham => prop_assert_eq!(pair[0], Word::Muoi2),
                    Word::Lam => prop_assert!(matches!(pair[0], Word::Muoi | Word::Muoi2)),
                    _ => {}
                }
                // After mươi a 1 is always mốt and a 5 never năm.
                if pair[0] == Word::Muoi2 {
                    prop_assert!(pair[1] != Word::Digit(1) && pair[1] != Word::Digit(5));
                }
                // linh/lẻ only before a single digit unit.
                if matches!(pair[0], Word::Linh | Word::Le) {
                    prop_assert!(matches!(pair[1], Word::Digit(1..=9)));
                }
            }
        }

        #[test]
        fn digit_mode_says_every_digit(n in 0u32..1_000_000, width in 1usize..7) {
            let label = format!("A{n:0width$}");
            let w = ticket(&label, Some(1), Dialect::South, DigitsMode::Digits);
            prop_assert_eq!(w.len(), label.len());
            prop_assert_eq!(w[0], Word::Letter('A'));
        }
    }
}
