//! The per-site announcement template ("Xin mời công dân có số thứ tự {ticket} đến quầy
//! số {counter}") and the script it makes for one call: which clips, which pauses (pure).

use super::reading::{self, Dialect, DigitsMode, Word};

/// The template used when the site sets none.
pub(crate) const DEFAULT: &str = "Xin mời công dân có số thứ tự {ticket} đến quầy số {counter}";

/// Pause between the words of a number or a ticket.
pub(crate) const WORD_GAP_MS: u32 = 40;
/// Pause between a phrase and a number (a breath).
pub(crate) const PHRASE_GAP_MS: u32 = 220;
/// Pause after the chime.
pub(crate) const CHIME_GAP_MS: u32 = 350;
/// Pause before the announcement is said again.
pub(crate) const REPEAT_GAP_MS: u32 = 900;

/// The clip id of the chime.
pub(crate) const CHIME: &str = "chuong";

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Fixed words, one recorded clip.
    Text(String),
    /// The ticket: letters by name, digits as a number or one by one.
    Ticket,
    /// The counter's number, read as a number.
    Counter,
    /// The counter's name from the configuration, one recorded clip per counter.
    CounterName,
}

/// A parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    pub segments: Vec<Segment>,
}

/// Parse a template. Placeholders: `{ticket}` (required), `{counter}`, `{counter_name}`.
pub(crate) fn parse(s: &str) -> Result<Template, String> {
    let mut segments = Vec::new();
    let mut rest = s;
    while let Some(open) = rest.find('{') {
        push_text(&mut segments, &rest[..open]);
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or_else(|| {
            format!("template has a '{{' without '}}' at \"{}\"; placeholders are {{ticket}}, {{counter}}, {{counter_name}}", &rest[open..])
        })?;
        segments.push(match &after[..close] {
            "ticket" => Segment::Ticket,
            "counter" => Segment::Counter,
            "counter_name" => Segment::CounterName,
            other => {
                return Err(format!(
                    "template placeholder {{{other}}} is unknown; use {{ticket}}, {{counter}} or {{counter_name}}"
                ))
            }
        });
        rest = &after[close + 1..];
    }
    if rest.contains('}') {
        return Err("template has a '}' without '{'".into());
    }
    push_text(&mut segments, rest);
    if !segments.contains(&Segment::Ticket) {
        return Err(format!(
            "template never says the ticket: put {{ticket}} in it, e.g. \"{DEFAULT}\""
        ));
    }
    Ok(Template { segments })
}

fn push_text(out: &mut Vec<Segment>, text: &str) {
    let t = text.split_whitespace().collect::<Vec<_>>().join(" ");
    let t = t.trim_matches(|c: char| c == ',' || c == '.' || c.is_whitespace());
    if !t.is_empty() {
        out.push(Segment::Text(t.to_string()));
    }
}

/// The clip id of a fixed phrase: "cau-" and its words without diacritics.
pub(crate) fn phrase_id(text: &str) -> String {
    let ascii = crate::devices::translit::to_ascii(text).to_ascii_lowercase();
    let words: Vec<&str> = ascii
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    format!("cau-{}", words.join("-"))
}

/// The clip id of counter `n`'s name.
pub(crate) fn counter_name_id(n: u16) -> String {
    format!("quay-ten-{n}")
}

/// One step of an announcement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Step {
    Clip { id: String, text: String },
    Pause(u32),
}

/// What a site says and how: everything needed to turn a call into a script.
#[derive(Debug, Clone)]
pub struct Speech {
    pub template: Template,
    pub dialect: Dialect,
    pub digits: DigitsMode,
    /// How many times the announcement is said (1 to 3).
    pub repeat: u8,
    pub chime: bool,
    /// Ticket prefixes of the services, longest first.
    pub prefixes: Vec<String>,
    /// Counter number → name, from `[[counters]] name`.
    pub counter_names: Vec<(u16, String)>,
}

impl Speech {
    fn prefix_len(&self, ticket: &str) -> Option<usize> {
        self.prefixes
            .iter()
            .filter(|p| {
                ticket.starts_with(p.as_str())
                    && ticket[p.len()..].bytes().all(|b| b.is_ascii_digit())
            })
            .map(String::len)
            .max()
    }

    fn words(out: &mut Vec<Step>, words: &[Word]) {
        for (i, w) in words.iter().enumerate() {
            if i > 0 {
                out.push(Step::Pause(WORD_GAP_MS));
            }
            out.push(Step::Clip {
                id: w.clip_id(),
                text: w.text().to_string(),
            });
        }
    }

    /// The script of one call: chime, then the template said `repeat` times.
    pub(crate) fn script(&self, ticket: &str, counter: u16) -> Vec<Step> {
        let mut once = Vec::new();
        for (i, seg) in self.template.segments.iter().enumerate() {
            if i > 0 {
                once.push(Step::Pause(PHRASE_GAP_MS));
            }
            match seg {
                Segment::Text(t) => once.push(Step::Clip {
                    id: phrase_id(t),
                    text: t.clone(),
                }),
                Segment::Ticket => Self::words(
                    &mut once,
                    &reading::ticket(ticket, self.prefix_len(ticket), self.dialect, self.digits),
                ),
                Segment::Counter => Self::words(
                    &mut once,
                    &reading::number(u32::from(counter), self.dialect),
                ),
                Segment::CounterName => match self.counter_names.iter().find(|c| c.0 == counter) {
                    Some((n, name)) => once.push(Step::Clip {
                        id: counter_name_id(*n),
                        text: name.clone(),
                    }),
                    None => Self::words(
                        &mut once,
                        &reading::number(u32::from(counter), self.dialect),
                    ),
                },
            }
        }
        let mut out = Vec::new();
        if self.chime {
            out.push(Step::Clip {
                id: CHIME.into(),
                text: "(chuông)".into(),
            });
            out.push(Step::Pause(CHIME_GAP_MS));
        }
        for r in 0..self.repeat.max(1) {
            if r > 0 {
                out.push(Step::Pause(REPEAT_GAP_MS));
            }
            out.extend(once.iter().cloned());
        }
        out
    }

    /// The words said, for people (`layso announce` prints it).
    pub fn text(&self, ticket: &str, counter: u16) -> String {
        let said: Vec<String> = self
            .script(ticket, counter)
            .into_iter()
            .filter_map(|s| match s {
                Step::Clip { id, text } if id != CHIME => Some(text),
                _ => None,
            })
            .collect();
        said.join(" ")
    }

    /// Every clip this site can need, with its text, in a stable order: the chime,
    /// phrases, counter names, number words of the dialect, letters of the prefixes.
    pub(crate) fn needed_clips(&self) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        let mut add = |id: String, text: String| {
            if !out.iter().any(|(i, _)| *i == id) {
                out.push((id, text));
            }
        };
        if self.chime {
            add(CHIME.into(), "(chuông: hai tiếng \"ding dong\")".into());
        }
        for seg in &self.template.segments {
            match seg {
                Segment::Text(t) => add(phrase_id(t), t.clone()),
                Segment::CounterName => {
                    for (n, name) in &self.counter_names {
                        add(counter_name_id(*n), name.clone());
                    }
                }
                _ => {}
            }
        }
        // Digit-by-digit tickets still say the counter as a number: all number words.
        for w in Word::number_words(self.dialect) {
            add(w.clip_id(), w.text().into());
        }
        for p in &self.prefixes {
            for c in p.chars().filter(char::is_ascii_alphabetic) {
                let w = Word::Letter(c.to_ascii_uppercase());
                add(w.clip_id(), w.text().into());
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn speech() -> Speech {
        Speech {
            template: parse(DEFAULT).unwrap_or_else(|e| panic!("{e}")),
            dialect: Dialect::North,
            digits: DigitsMode::Number,
            repeat: 1,
            chime: true,
            prefixes: vec!["A".into(), "B".into()],
            counter_names: vec![(3, "Quầy đất đai".into())],
        }
    }

    #[test]
    fn default_template_says_the_call() {
        let s = speech();
        assert_eq!(
            s.text("A012", 3),
            "Xin mời công dân có số thứ tự a mười hai đến quầy số ba"
        );
        let script = s.script("A012", 3);
        assert!(matches!(&script[0], Step::Clip { id, .. } if id == CHIME));
        assert!(script.contains(&Step::Clip {
            id: "cau-xin-moi-cong-dan-co-so-thu-tu".into(),
            text: "Xin mời công dân có số thứ tự".into()
        }));
    }

    #[test]
    fn counter_names_repeat_and_errors() {
        let mut s = speech();
        s.template =
            parse("Mời số {ticket}, tới {counter_name}.").unwrap_or_else(|e| panic!("{e}"));
        s.repeat = 2;
        s.chime = false;
        assert_eq!(
            s.text("B105", 3),
            "Mời số bê một trăm linh năm tới Quầy đất đai Mời số bê một trăm linh năm tới Quầy đất đai"
        );
        assert!(s
            .needed_clips()
            .iter()
            .any(|(id, t)| id == "quay-ten-3" && t == "Quầy đất đai"));
        assert!(parse("Mời {counter}").unwrap_err().contains("{ticket}"));
        assert!(parse("Mời {tiket}").unwrap_err().contains("unknown"));
        assert!(parse("Mời {ticket").unwrap_err().contains("without"));
    }
}
