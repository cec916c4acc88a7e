//! LED-board emulator on a pseudo-terminal: the daemon reaches it through tokio-serial exactly as
//! a board on a USB-serial adapter. It decodes and checks every frame with the board's template.
//! "Unplugging" closes the PTY (the daemon's side hangs up); "plugging" a new emulator re-points
//! the same symlink path at a fresh PTY, as udev re-creates `/dev/layso-ledboard-*`.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

#[path = "pty.rs"]
mod pty;

use layso::devices::ledboard::{decode_frame, Decoded, FrameConfig, FrameError};

/// A frame the board received: its raw bytes and what they decode to.
#[derive(Debug, Clone)]
pub struct Received {
    pub raw: Vec<u8>,
    pub frame: Decoded,
}

#[derive(Default)]
struct Shared {
    frames: Vec<Received>,
    errors: Vec<String>,
}

pub struct LedBoardEmu {
    link: PathBuf,
    stop: Arc<AtomicBool>,
    shared: Arc<Mutex<Shared>>,
    thread: Option<JoinHandle<()>>,
}

impl LedBoardEmu {
    /// Opens a new PTY, makes `link` point at its device and starts decoding frames.
    pub fn plug(link: &Path, template: FrameConfig) -> std::io::Result<Self> {
        Self::plug_with_reply(link, template, Vec::new())
    }

    /// Like [`LedBoardEmu::plug`], answering every good frame with `reply` (e.g. ACK 0x06),
    /// as many boards do.
    pub fn plug_with_reply(
        link: &Path,
        template: FrameConfig,
        reply: Vec<u8>,
    ) -> std::io::Result<Self> {
        // Close-on-exec (unplugging must really hang up), raw (a real board has no line
        // discipline), and a non-blocking master so the reader thread can notice `stop`.
        let (master, slave, device) = pty::open_raw()?;
        let tmp = link.with_extension("new");
        let _ = std::fs::remove_file(&tmp);
        std::os::unix::fs::symlink(&device, &tmp)?;
        std::fs::rename(&tmp, link)?;
        let master = File::from(master);
        let stop = Arc::new(AtomicBool::new(false));
        let shared = Arc::new(Mutex::new(Shared::default()));
        let (stop2, shared2) = (stop.clone(), shared.clone());
        let thread = std::thread::spawn(move || {
            let _slave = slave; // kept open so reads on the master block instead of failing
            let mut master = master;
            let mut acc: Vec<u8> = Vec::new();
            let mut buf = [0u8; 512];
            while !stop2.load(Ordering::SeqCst) {
                match master.read(&mut buf) {
                    Ok(0) => std::thread::sleep(Duration::from_millis(5)),
                    Ok(n) => {
                        acc.extend_from_slice(&buf[..n]);
                        loop {
                            match decode_frame(&template, &acc) {
                                Ok(frame) => {
                                    let raw: Vec<u8> = acc.drain(..frame.consumed).collect();
                                    lock(&shared2).frames.push(Received { raw, frame });
                                    if !reply.is_empty() {
                                        if let Err(e) =
                                            std::io::Write::write_all(&mut master, &reply)
                                        {
                                            lock(&shared2).errors.push(format!("reply: {e}"));
                                        }
                                    }
                                }
                                Err(FrameError::Incomplete) => break,
                                Err(e) => {
                                    lock(&shared2).errors.push(format!("{e} in {acc:02X?}"));
                                    acc.remove(0); // resynchronise on the next byte
                                }
                            }
                            if acc.is_empty() {
                                break;
                            }
                        }
                    }
                    Err(e)
                        if e.kind() == ErrorKind::WouldBlock
                            || e.kind() == ErrorKind::Interrupted =>
                    {
                        wait_readable(&master, 20)
                    }
                    Err(e) => {
                        lock(&shared2).errors.push(format!("read: {e}"));
                        std::thread::sleep(Duration::from_millis(5));
                    }
                }
            }
        });
        Ok(LedBoardEmu {
            link: link.to_path_buf(),
            stop,
            shared,
            thread: Some(thread),
        })
    }

    /// Frames received so far.
    pub fn frames(&self) -> Vec<Received> {
        lock(&self.shared).frames.clone()
    }

    /// Bytes the board could not decode (bad checksum, garbage).
    pub fn errors(&self) -> Vec<String> {
        lock(&self.shared).errors.clone()
    }

    /// Waits until a frame whose decoded text is `text` arrives.
    pub fn wait_for_text(&self, text: &str, timeout: Duration) -> Option<Received> {
        let until = Instant::now() + timeout;
        while Instant::now() < until {
            if let Some(r) = self
                .frames()
                .into_iter()
                .find(|r| r.frame.text == text.as_bytes())
            {
                return Some(r);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        None
    }

    /// Pulls the plug: the PTY closes and the link is left dangling.
    pub fn unplug(mut self) -> Vec<Received> {
        self.shutdown();
        self.frames()
    }

    pub fn link(&self) -> &Path {
        &self.link
    }

    fn shutdown(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for LedBoardEmu {
    fn drop(&mut self) {
        self.shutdown();
    }
}

/// Waits up to `ms` for bytes on the master (so frames are seen at once, yet `stop` is noticed).
fn wait_readable(master: &File, ms: u16) {
    use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
    use std::os::fd::AsFd;
    let mut fds = [PollFd::new(master.as_fd(), PollFlags::POLLIN)];
    if poll(&mut fds, PollTimeout::from(ms)).is_err() {
        std::thread::sleep(Duration::from_millis(u64::from(ms)));
    }
}

fn lock(m: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
