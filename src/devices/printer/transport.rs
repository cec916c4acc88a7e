//! Printer transports (thin async shell): serial via tokio-serial, the USB printer-class
//! device file or a plain file, and raw TCP. Also the status poll over a live link.

use super::config::{FlowControl, Parity, PrinterConfig, TransportKind};
use super::escpos;
use super::status::{ReplyScanner, StatusReplies, QUERIES};
use std::io::{Read, Write};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Duration;
use tokio::io::unix::AsyncFd;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::time::{timeout, Instant};

/// A byte stream to the printer.
pub trait PrinterIo: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> PrinterIo for T {}

/// A live connection to a printer.
pub struct Link {
    io: Box<dyn PrinterIo>,
    /// Where it goes, for log lines.
    pub target: String,
}

/// Why a transport operation failed (the message says what was wrong).
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("cannot open printer {target}: {source}")]
    Open {
        target: String,
        source: std::io::Error,
    },
    #[error("config: {0}")]
    Config(String),
    #[error("printer {target}: write failed: {source}")]
    Write {
        target: String,
        source: std::io::Error,
    },
    #[error("printer {target}: read failed: {source}")]
    Read {
        target: String,
        source: std::io::Error,
    },
    #[error("printer {target}: connection closed by the printer")]
    Closed { target: String },
    #[error("printer {target}: {what} timed out after {after:?}")]
    Timeout {
        target: String,
        what: &'static str,
        after: Duration,
    },
}

/// Open the transport configured in `cfg`, within `limit`.
pub async fn connect(cfg: &PrinterConfig, limit: Duration) -> Result<Link, TransportError> {
    let target = describe(cfg);
    let t = target.clone();
    match timeout(limit, open(cfg, &target)).await {
        Ok(r) => r,
        Err(_) => Err(TransportError::Timeout {
            target: t,
            what: "connect",
            after: limit,
        }),
    }
}

/// "serial /dev/ttyUSB0 @19200", "tcp 10.0.0.5:9100", "file ./var/printer.bin".
pub fn describe(cfg: &PrinterConfig) -> String {
    let path = cfg.path.as_ref().map_or("?", |p| p.get_ref().as_str());
    match cfg.transport() {
        TransportKind::Serial => format!("serial {path} @{}", cfg.baud.get_ref()),
        TransportKind::File => format!("file {path}"),
        TransportKind::Tcp => {
            format!(
                "tcp {}:{}",
                cfg.host.as_ref().map_or("?", |h| h.get_ref().as_str()),
                cfg.port.get_ref()
            )
        }
    }
}

async fn open(cfg: &PrinterConfig, target: &str) -> Result<Link, TransportError> {
    let open_err = |source| TransportError::Open {
        target: target.to_string(),
        source,
    };
    let io: Box<dyn PrinterIo> = match cfg.transport() {
        TransportKind::Serial => {
            let path = cfg
                .path
                .as_ref()
                .ok_or_else(|| TransportError::Config("serial transport needs `path`".into()))?;
            let parity = match cfg.parity {
                Parity::None => tokio_serial::Parity::None,
                Parity::Odd => tokio_serial::Parity::Odd,
                Parity::Even => tokio_serial::Parity::Even,
            };
            let flow = match cfg.flow_control {
                FlowControl::None => tokio_serial::FlowControl::None,
                FlowControl::Software => tokio_serial::FlowControl::Software,
                FlowControl::Hardware => tokio_serial::FlowControl::Hardware,
            };
            // serialport ignores the DTR ioctl failure that a pseudo-terminal gives, and a
            // pseudo-terminal ignores the baud rate: both are fine here.
            let builder = tokio_serial::new(path.get_ref().as_str(), *cfg.baud.get_ref())
                .parity(parity)
                .flow_control(flow)
                .data_bits(tokio_serial::DataBits::Eight)
                .stop_bits(tokio_serial::StopBits::One);
            let port = tokio_serial::SerialStream::open(&builder)
                .map_err(|e| open_err(std::io::Error::other(e.to_string())))?;
            Box::new(port)
        }
        TransportKind::File => {
            let path = cfg
                .path_buf()
                .ok_or_else(|| TransportError::Config("file transport needs `path`".into()))?;
            // A character device (`/dev/usb/lp0`) is driven non-blocking through the reactor,
            // so a printer that stops reading cannot tie up a thread; a plain file (dev
            // config) is appended to.
            let is_char_device = std::fs::metadata(&path)
                .map(|m| m.file_type().is_char_device())
                .unwrap_or(false);
            if is_char_device {
                Box::new(DeviceFile::open(&path, cfg.status_enabled()).map_err(open_err)?)
            } else {
                let under_dev = path.starts_with("/dev");
                if !under_dev {
                    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                        tokio::fs::create_dir_all(dir).await.map_err(open_err)?;
                    }
                }
                let mut opts = tokio::fs::OpenOptions::new();
                opts.append(true);
                if cfg.status_enabled() {
                    opts.read(true);
                }
                // Never create files under /dev: a missing printer stays missing.
                opts.create(!under_dev);
                Box::new(opts.open(&path).await.map_err(open_err)?)
            }
        }
        TransportKind::Tcp => {
            let host = cfg
                .host
                .as_ref()
                .ok_or_else(|| TransportError::Config("tcp transport needs `host`".into()))?;
            let s = tokio::net::TcpStream::connect((host.get_ref().as_str(), *cfg.port.get_ref()))
                .await
                .map_err(open_err)?;
            // Best effort: a failure here only costs latency.
            let _ = s.set_nodelay(true);
            Box::new(s)
        }
    };
    Ok(Link {
        io,
        target: target.to_string(),
    })
}

/// Seconds on the wire for `bytes` at `baud` (8N1: 10 bits per byte).
pub fn wire_time(bytes: usize, baud: u32) -> Duration {
    Duration::from_secs_f64(bytes as f64 * 10.0 / f64::from(baud.max(1)))
}

impl Link {
    /// Write all of `bytes` and flush, within `limit`.
    pub async fn send(&mut self, bytes: &[u8], limit: Duration) -> Result<(), TransportError> {
        let target = self.target.clone();
        let io = &mut self.io;
        let fut = async {
            io.write_all(bytes).await?;
            io.flush().await
        };
        match timeout(limit, fut).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(TransportError::Write { target, source }),
            Err(_) => Err(TransportError::Timeout {
                target,
                what: "write",
                after: limit,
            }),
        }
    }

    /// Discard bytes already waiting (late replies from an earlier poll), for at most a
    /// few milliseconds.
    async fn drain(&mut self) -> Result<(), TransportError> {
        let mut buf = [0u8; 256];
        for _ in 0..16 {
            match timeout(Duration::from_millis(2), self.io.read(&mut buf)).await {
                Ok(Ok(0)) => {
                    return Err(TransportError::Closed {
                        target: self.target.clone(),
                    })
                }
                Ok(Ok(_)) => continue,
                Ok(Err(source)) => {
                    return Err(TransportError::Read {
                        target: self.target.clone(),
                        source,
                    })
                }
                Err(_) => return Ok(()),
            }
        }
        Ok(())
    }

    /// Send `DLE EOT 1, 2, 4` one after the other and collect the replies, each within
    /// `per_query`. A query without reply leaves its field `None`; a dead link is an error.
    pub async fn poll_status(
        &mut self,
        per_query: Duration,
    ) -> Result<StatusReplies, TransportError> {
        self.drain().await?;
        let mut replies = StatusReplies::default();
        for n in QUERIES {
            self.send(&escpos::status_query(n), per_query).await?;
            let deadline = Instant::now() + per_query;
            let mut scanner = ReplyScanner::default();
            let mut buf = [0u8; 64];
            // Bounded: each read waits at most until the deadline.
            loop {
                let now = Instant::now();
                if now >= deadline {
                    break;
                }
                match timeout(deadline - now, self.io.read(&mut buf)).await {
                    Err(_) => break,
                    Ok(Ok(0)) => {
                        return Err(TransportError::Closed {
                            target: self.target.clone(),
                        })
                    }
                    Ok(Ok(k)) => {
                        if let Some((b, _)) = scanner.scan(&buf[..k]) {
                            replies.set(n, b);
                            break;
                        }
                    }
                    Ok(Err(source)) => {
                        return Err(TransportError::Read {
                            target: self.target.clone(),
                            source,
                        })
                    }
                }
            }
            if n == 1 && replies.printer.is_none() {
                // A printer that does not answer the first query will not answer the others.
                break;
            }
        }
        Ok(replies)
    }
}

/// Connect, send `bytes` once and close (for `layso print-test`).
pub async fn send_once(cfg: &PrinterConfig, bytes: &[u8]) -> Result<(), TransportError> {
    let mut link = connect(cfg, Duration::from_secs(5)).await?;
    let limit = match cfg.transport() {
        TransportKind::Serial => {
            wire_time(bytes.len(), *cfg.baud.get_ref()) * 2 + Duration::from_secs(2)
        }
        _ => Duration::from_secs(10),
    };
    link.send(bytes, limit).await
}

/// A character device opened `O_NONBLOCK` and driven by the tokio reactor.
struct DeviceFile {
    fd: AsyncFd<std::fs::File>,
}

impl DeviceFile {
    fn open(path: &Path, read: bool) -> std::io::Result<Self> {
        let file = std::fs::OpenOptions::new()
            .write(true)
            .read(read)
            .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
            .open(path)?;
        // SAFETY: the `File` is moved into the `AsyncFd` and owned by it, so its descriptor
        // stays open and refers to the same device until the `AsyncFd` is dropped.
        let fd = unsafe { AsyncFd::register(file) }.map_err(std::io::Error::from)?;
        Ok(DeviceFile { fd })
    }
}

impl AsyncRead for DeviceFile {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        loop {
            let mut guard = ready!(self.fd.poll_read_ready(cx))?;
            let unfilled = buf.initialize_unfilled();
            match guard.try_io(|f| f.get_ref().read(unfilled)) {
                Ok(Ok(n)) => {
                    buf.advance(n);
                    return Poll::Ready(Ok(()));
                }
                Ok(Err(e)) => return Poll::Ready(Err(e)),
                Err(_would_block) => continue,
            }
        }
    }
}

impl AsyncWrite for DeviceFile {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        loop {
            let mut guard = ready!(self.fd.poll_write_ready(cx))?;
            match guard.try_io(|f| f.get_ref().write(data)) {
                Ok(r) => return Poll::Ready(r),
                Err(_would_block) => continue,
            }
        }
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}
