//! Incremental ESC/POS stream parser for the printer emulator (pure).

/// One command recognised in the stream.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cmd {
    Init,
    CancelKanji,
    Align(u8),
    Bold(bool),
    /// `GS !` multipliers.
    Size {
        w: u8,
        h: u8,
    },
    FeedLines(u8),
    FeedDots(u8),
    /// Printable bytes (a line may arrive in several pieces).
    Text(Vec<u8>),
    LineFeed,
    Raster {
        bpr: usize,
        rows: usize,
        data: Vec<u8>,
    },
    QrModel(u8),
    QrModule(u8),
    QrEcc(u8),
    QrStore(Vec<u8>),
    QrPrint,
    Cut,
    /// `DLE EOT n`.
    Status(u8),
    /// Anything else, kept for inspection.
    Other(Vec<u8>),
}

/// Feeds bytes, returns complete commands; keeps an incomplete tail for the next push.
#[derive(Default)]
pub struct Parser {
    buf: Vec<u8>,
}

impl Parser {
    /// Each complete command with its raw bytes.
    pub fn push(&mut self, bytes: &[u8]) -> Vec<(Cmd, Vec<u8>)> {
        self.buf.extend_from_slice(bytes);
        let mut cmds = Vec::new();
        let mut at = 0;
        while at < self.buf.len() {
            match parse_one(&self.buf[at..]) {
                Some((cmd, used)) => {
                    cmds.push((cmd, self.buf[at..at + used].to_vec()));
                    at += used;
                }
                None => break,
            }
        }
        self.buf.drain(..at);
        cmds
    }

    /// Bytes waiting for the rest of a command.
    pub fn pending(&self) -> usize {
        self.buf.len()
    }
}

fn need(b: &[u8], n: usize) -> Option<&[u8]> {
    (b.len() >= n).then(|| &b[..n])
}

/// One command at the start of `b`, and its length; `None` if incomplete.
pub fn parse_one(b: &[u8]) -> Option<(Cmd, usize)> {
    let first = *b.first()?;
    match first {
        0x1B => {
            let c = *b.get(1)?;
            match c {
                b'@' => Some((Cmd::Init, 2)),
                b'2' => Some((Cmd::Other(b[..2].to_vec()), 2)),
                b'a' => need(b, 3).map(|x| (Cmd::Align(x[2] % 48), 3)),
                b'E' => need(b, 3).map(|x| (Cmd::Bold(x[2] & 1 == 1), 3)),
                b'd' => need(b, 3).map(|x| (Cmd::FeedLines(x[2]), 3)),
                b'J' => need(b, 3).map(|x| (Cmd::FeedDots(x[2]), 3)),
                _ => need(b, 3).map(|x| (Cmd::Other(x.to_vec()), 3)),
            }
        }
        0x1D => {
            let c = *b.get(1)?;
            match c {
                b'!' => need(b, 3).map(|x| {
                    (
                        Cmd::Size {
                            w: (x[2] >> 4) + 1,
                            h: (x[2] & 7) + 1,
                        },
                        3,
                    )
                }),
                b'v' => {
                    let h = need(b, 8)?;
                    let bpr = usize::from(h[4]) | usize::from(h[5]) << 8;
                    let rows = usize::from(h[6]) | usize::from(h[7]) << 8;
                    let total = 8 + bpr * rows;
                    let all = need(b, total)?;
                    Some((
                        Cmd::Raster {
                            bpr,
                            rows,
                            data: all[8..].to_vec(),
                        },
                        total,
                    ))
                }
                b'(' => {
                    let h = need(b, 5)?;
                    let len = usize::from(h[3]) | usize::from(h[4]) << 8;
                    let all = need(b, 5 + len)?;
                    let p = &all[5..];
                    let cmd = match (h[2], p) {
                        (b'k', [49, 65, m, ..]) => Cmd::QrModel(*m),
                        (b'k', [49, 67, n]) => Cmd::QrModule(*n),
                        (b'k', [49, 69, n]) => Cmd::QrEcc(*n),
                        (b'k', [49, 80, 48, data @ ..]) => Cmd::QrStore(data.to_vec()),
                        (b'k', [49, 81, 48]) => Cmd::QrPrint,
                        _ => Cmd::Other(all.to_vec()),
                    };
                    Some((cmd, 5 + len))
                }
                b'V' => {
                    let m = *b.get(2)?;
                    let len = if matches!(m, 65 | 66 | 97 | 98 | 103 | 104) {
                        4
                    } else {
                        3
                    };
                    need(b, len).map(|_| (Cmd::Cut, len))
                }
                b'L' | b'W' => need(b, 4).map(|x| (Cmd::Other(x.to_vec()), 4)),
                _ => need(b, 3).map(|x| (Cmd::Other(x.to_vec()), 3)),
            }
        }
        0x1C => {
            let c = *b.get(1)?;
            Some((
                if c == b'.' {
                    Cmd::CancelKanji
                } else {
                    Cmd::Other(vec![0x1C, c])
                },
                2,
            ))
        }
        0x10 => {
            let c = *b.get(1)?;
            if c == 0x04 {
                need(b, 3).map(|x| (Cmd::Status(x[2]), 3))
            } else {
                Some((Cmd::Other(vec![0x10]), 1))
            }
        }
        0x0A => Some((Cmd::LineFeed, 1)),
        x if x < 0x20 => Some((Cmd::Other(vec![x]), 1)),
        _ => {
            let run = b.iter().take_while(|&&x| x >= 0x20).count();
            Some((Cmd::Text(b[..run].to_vec()), run))
        }
    }
}
