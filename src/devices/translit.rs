//! Vietnamese to ASCII transliteration for devices that cannot show diacritics
//! (HD44780 LCD ROM, 7-segment digits, ASCII LED boards): "Quầy" -> "Quay", "Đ" -> "D".

/// Precomposed Vietnamese letters (NFC) grouped by the ASCII letter they fall back to.
const TABLE: &[(char, &str)] = &[
    ('a', "àáảãạăằắẳẵặâầấẩẫậ"),
    ('A', "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ"),
    ('e', "èéẻẽẹêềếểễệ"),
    ('E', "ÈÉẺẼẸÊỀẾỂỄỆ"),
    ('i', "ìíỉĩị"),
    ('I', "ÌÍỈĨỊ"),
    ('o', "òóỏõọôồốổỗộơờớởỡợ"),
    ('O', "ÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ"),
    ('u', "ùúủũụưừứửữự"),
    ('U', "ÙÚỦŨỤƯỪỨỬỮỰ"),
    ('y', "ỳýỷỹỵ"),
    ('Y', "ỲÝỶỸỴ"),
    ('d', "đ"),
    ('D', "ĐÐ"),
];

/// Combining marks used by decomposed (NFD) Vietnamese text: tones, breve, circumflex, horn.
fn is_vietnamese_combining(c: char) -> bool {
    matches!(
        c,
        '\u{0300}'
            | '\u{0301}'
            | '\u{0302}'
            | '\u{0303}'
            | '\u{0306}'
            | '\u{0309}'
            | '\u{031B}'
            | '\u{0323}'
    )
}

/// The ASCII fallback for one character: `Some(c)` unchanged for ASCII, the base letter for a
/// Vietnamese letter, `None` for a combining mark (dropped), `Some(replacement)` otherwise.
pub(crate) fn fold_char(c: char, replacement: char) -> Option<char> {
    if c.is_ascii() {
        return Some(c);
    }
    if is_vietnamese_combining(c) {
        return None;
    }
    for (base, letters) in TABLE {
        if letters.contains(c) {
            return Some(*base);
        }
    }
    Some(match c {
        // Typographic look-alikes that often come from copy-and-paste.
        '\u{00A0}' => ' ',
        '\u{2013}' | '\u{2014}' => '-',
        '\u{2018}' | '\u{2019}' => '\'',
        '\u{201C}' | '\u{201D}' => '"',
        _ => replacement,
    })
}

/// Transliterates Vietnamese text (NFC or NFD) to ASCII; characters with no fallback become `?`.
pub(crate) fn to_ascii(text: &str) -> String {
    text.chars().filter_map(|c| fold_char(c, '?')).collect()
}

/// Transliterates and keeps only printable ASCII (0x20..=0x7E); control characters become spaces.
pub(crate) fn to_printable_ascii(text: &str) -> String {
    to_ascii(text)
        .chars()
        .map(|c| if (' '..='~').contains(&c) { c } else { ' ' })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quay_and_d() {
        assert_eq!(to_ascii("Quầy"), "Quay");
        assert_eq!(to_ascii("Đến quầy số 3"), "Den quay so 3");
        assert_eq!(
            to_ascii("Xin mời khách hàng số A012"),
            "Xin moi khach hang so A012"
        );
        assert_eq!(to_ascii("ƯU TIÊN người cao tuổi"), "UU TIEN nguoi cao tuoi");
    }

    #[test]
    fn decomposed_input() {
        // "Quầy" in NFD: a + circumflex + grave.
        assert_eq!(to_ascii("Qua\u{0302}\u{0300}y"), "Quay");
    }

    #[test]
    fn every_vietnamese_letter_is_covered() {
        let all: String = TABLE.iter().map(|(_, l)| *l).collect();
        // a 17, e 11, i 5, o 17, u 11, y 5 = 66 per case, plus đ, Đ and the look-alike Ð.
        assert_eq!(all.chars().count(), 2 * 66 + 3);
        for c in all.chars() {
            let folded = to_ascii(&c.to_string());
            assert!(folded.len() == 1 && folded != "?", "{c} folded to {folded}");
        }
    }

    #[test]
    fn unknown_becomes_question_mark() {
        assert_eq!(to_ascii("日本"), "??");
        assert_eq!(to_printable_ascii("a\tb"), "a b");
    }
}
