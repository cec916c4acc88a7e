//! ESC/POS printer emulator for tests: on a pseudo-terminal (reached through tokio-serial at
//! a symlink path, exactly like a USB-serial printer) or on a loopback TCP port. It parses the
//! stream, answers `DLE EOT` status queries, can be told to report paper out (or any state),
//! go silent, add stray bytes to its replies, or disconnect, and writes every ticket it
//! receives as a PNG under `target/test-output/printer/`.
#![allow(dead_code)]

// A test that uses several harnesses loads this file once per harness; each copy is private.
#[allow(clippy::duplicate_mod)]
#[path = "../pty.rs"]
mod pty;

pub mod page;
pub mod parser;

use layso::devices::printer::raster::Bitmap;
use layso::devices::printer::status::reply_for;
use layso::devices::printer::PrinterState;
use page::{Page, PlacedRaster};
use parser::{Cmd, Parser};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// One ticket received (from after the previous cut up to and including a cut).
#[derive(Clone)]
pub struct Ticket {
    pub bytes: Vec<u8>,
    pub cmds: Vec<Cmd>,
    pub image: Bitmap,
    pub rasters: Vec<PlacedRaster>,
    pub png: PathBuf,
}

struct Shared {
    name: String,
    paper_dots: usize,
    state: Mutex<PrinterState>,
    silent: AtomicBool,
    noisy: AtomicBool,
    drop_conn: AtomicBool,
    stop: AtomicBool,
    tickets: Mutex<Vec<Ticket>>,
    received: Mutex<Vec<u8>>,
    status_queries: AtomicUsize,
    connections: AtomicUsize,
}

/// Directory the emulator writes PNGs into.
pub fn output_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent()
        .unwrap_or(tmp)
        .join("test-output")
        .join("printer")
}

/// Per-connection protocol state.
struct Session {
    parser: Parser,
    page: Page,
    bytes: Vec<u8>,
    cmds: Vec<Cmd>,
}

impl Session {
    fn new(paper: usize) -> Self {
        Session {
            parser: Parser::default(),
            page: Page::new(paper),
            bytes: Vec::new(),
            cmds: Vec::new(),
        }
    }

    /// Feed received bytes; returns the bytes to answer.
    fn feed(&mut self, data: &[u8], sh: &Shared) -> Vec<u8> {
        if sh.silent.load(Ordering::SeqCst) {
            return Vec::new();
        }
        if let Ok(mut r) = sh.received.lock() {
            r.extend_from_slice(data);
        }
        let mut reply = Vec::new();
        for (cmd, raw) in self.parser.push(data) {
            if let Cmd::Status(n) = cmd {
                sh.status_queries.fetch_add(1, Ordering::SeqCst);
                if sh.noisy.load(Ordering::SeqCst) {
                    reply.extend_from_slice(&[0x13, 0x11, 0x00, 0x1B]);
                }
                let state = sh.state.lock().map(|s| *s).unwrap_or(PrinterState::Error);
                reply.push(reply_for(state, n));
                continue;
            }
            // status queries are not part of the ticket bytes
            self.bytes.extend_from_slice(&raw);
            let printed = self.page.apply(&cmd);
            self.cmds.push(cmd);
            if let Some(p) = printed {
                let Ok(mut tickets) = sh.tickets.lock() else {
                    continue;
                };
                let png = output_dir().join(format!("{}-{:03}.png", sh.name, tickets.len() + 1));
                if let Err(e) = page::write_png(&p.image, &png) {
                    eprintln!("printer emulator: {e}");
                }
                tickets.push(Ticket {
                    bytes: std::mem::take(&mut self.bytes),
                    cmds: std::mem::take(&mut self.cmds),
                    image: p.image,
                    rasters: p.rasters,
                    png,
                });
            }
        }
        reply
    }
}

/// A running emulator; stops (closing its device or port) when dropped.
pub struct Emulator {
    sh: Arc<Shared>,
    thread: Option<JoinHandle<()>>,
    port: Option<u16>,
    link: Option<PathBuf>,
}

fn shared(name: &str, paper_dots: usize) -> Arc<Shared> {
    Arc::new(Shared {
        name: name.to_string(),
        paper_dots,
        state: Mutex::new(PrinterState::Ok),
        silent: AtomicBool::new(false),
        noisy: AtomicBool::new(false),
        drop_conn: AtomicBool::new(false),
        stop: AtomicBool::new(false),
        tickets: Mutex::new(Vec::new()),
        received: Mutex::new(Vec::new()),
        status_queries: AtomicUsize::new(0),
        connections: AtomicUsize::new(0),
    })
}

impl Emulator {
    /// A printer on a new pseudo-terminal; `link` is (re)pointed at its slave device.
    pub fn pty(link: &Path, paper_dots: usize, name: &str) -> std::io::Result<Self> {
        let (master, slave, slave_path) = pty::open_raw()?;
        let _ = std::fs::remove_file(link);
        std::os::unix::fs::symlink(&slave_path, link)?;
        let sh = shared(name, paper_dots);
        let s2 = sh.clone();
        let thread = std::thread::spawn(move || {
            let _slave = slave; // keep the slave open so the master never sees a hang-up
            let mut session = Session::new(s2.paper_dots);
            let mut buf = [0u8; 4096];
            s2.connections.fetch_add(1, Ordering::SeqCst);
            while !s2.stop.load(Ordering::SeqCst) {
                let mut pfd = libc::pollfd {
                    fd: master.as_raw_fd(),
                    events: libc::POLLIN,
                    revents: 0,
                };
                // SAFETY: one valid pollfd.
                let n = unsafe { libc::poll(&mut pfd, 1, 20) };
                if n <= 0 {
                    continue;
                }
                // SAFETY: reading into a valid buffer from an owned descriptor.
                let k =
                    unsafe { libc::read(master.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
                if k <= 0 {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                }
                let reply = session.feed(&buf[..k as usize], &s2);
                if !reply.is_empty() {
                    // SAFETY: writing a valid buffer to an owned descriptor.
                    unsafe { libc::write(master.as_raw_fd(), reply.as_ptr().cast(), reply.len()) };
                }
            }
            drop(master);
        });
        Ok(Emulator {
            sh,
            thread: Some(thread),
            port: None,
            link: Some(link.to_path_buf()),
        })
    }

    /// A network printer on 127.0.0.1:`port` (0 picks a free port).
    pub fn tcp(port: u16, paper_dots: usize, name: &str) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", port))?;
        let port = listener.local_addr()?.port();
        listener.set_nonblocking(true)?;
        let sh = shared(name, paper_dots);
        let s2 = sh.clone();
        let thread = std::thread::spawn(move || {
            while !s2.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        s2.connections.fetch_add(1, Ordering::SeqCst);
                        s2.drop_conn.store(false, Ordering::SeqCst);
                        serve_tcp(stream, &s2);
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
        });
        Ok(Emulator {
            sh,
            thread: Some(thread),
            port: Some(port),
            link: None,
        })
    }

    pub fn port(&self) -> u16 {
        self.port.unwrap_or(0)
    }

    /// The state reported to status queries.
    pub fn set_state(&self, s: PrinterState) {
        if let Ok(mut st) = self.sh.state.lock() {
            *st = s;
        }
    }

    /// Stop reading and answering (a hung printer).
    pub fn set_silent(&self, on: bool) {
        self.sh.silent.store(on, Ordering::SeqCst);
    }

    /// Put XOFF/XON and stray bytes before every status reply.
    pub fn set_noisy(&self, on: bool) {
        self.sh.noisy.store(on, Ordering::SeqCst);
    }

    /// Drop the current TCP connection (the listener stays).
    pub fn disconnect(&self) {
        self.sh.drop_conn.store(true, Ordering::SeqCst);
    }

    pub fn tickets(&self) -> Vec<Ticket> {
        self.sh
            .tickets
            .lock()
            .map(|t| t.clone())
            .unwrap_or_default()
    }

    pub fn received(&self) -> Vec<u8> {
        self.sh
            .received
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    pub fn status_queries(&self) -> usize {
        self.sh.status_queries.load(Ordering::SeqCst)
    }

    pub fn connections(&self) -> usize {
        self.sh.connections.load(Ordering::SeqCst)
    }

    /// Wait (bounded) until at least `n` tickets arrived.
    pub async fn wait_tickets(&self, n: usize, limit: Duration) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if self.tickets().len() >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        self.tickets().len() >= n
    }

    /// Stop: close the device (the PTY master) or the listener and any connection.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        self.sh.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        if let Some(link) = self.link.take() {
            let _ = std::fs::remove_file(link);
        }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn serve_tcp(mut stream: TcpStream, sh: &Shared) {
    let _ = stream.set_read_timeout(Some(Duration::from_millis(20)));
    let mut session = Session::new(sh.paper_dots);
    let mut buf = [0u8; 4096];
    while !sh.stop.load(Ordering::SeqCst) && !sh.drop_conn.load(Ordering::SeqCst) {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(k) => {
                let reply = session.feed(&buf[..k], sh);
                if !reply.is_empty() && stream.write_all(&reply).is_err() {
                    return;
                }
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(_) => return,
        }
    }
    let _ = stream.shutdown(std::net::Shutdown::Both);
}
