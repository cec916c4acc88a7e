//! The HTTP server loop: accepts connections up to a cap, closes idle keep-alive
//! connections first when busy, bounds the time a request head may take (slowloris), and
//! tells handlers whether their client is still connected.
//!
//! Connection states, as the cap sees them:
//! - *busy*: a request is being handled or its response (an SSE stream too) is being
//!   sent. Never closed by the cap or the idle timer.
//! - *quiet*: no request in flight and not a byte received since the last response (or
//!   since the connection opened). Closed after `idle_timeout`, and first in line when the
//!   number of connections is above `keepalive_soft_limit`.
//! - *waiting*: no request in flight but part of a head has arrived (a slow client).
//!   hyper closes it when the head is not complete after `header_timeout`; at the hard
//!   cap the oldest waiting connection makes room for a new one.
//!
//! When the cap is reached and every connection is busy, a new connection is closed at
//! once. The cap is also kept below the process's open-file limit, with
//! [`FD_RESERVE`] descriptors left for the store, the devices and the uplink.

use crate::config::ConnLimits;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::Router;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, RawFd};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Notify};
use tower::ServiceExt;

/// Descriptors kept free for everything that is not an HTTP connection.
pub(crate) const FD_RESERVE: usize = 256;

/// The answer to a connection refused because every connection is busy.
const REFUSED: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: 161\r\n\r\n{\"error\":\"unavailable\",\"message_vi\":\"H\xe1\xbb\x87 th\xe1\xbb\x91ng \xc4\x91ang b\xe1\xba\xadn, vui l\xc3\xb2ng th\xe1\xbb\xad l\xe1\xba\xa1i.\",\"message_en\":\"Every connection is busy (web.max_connections); try again.\"}";

/// One connection as the cap and the handlers see it.
pub(crate) struct ClientConn {
    id: u64,
    fd: RawFd,
    opened_ms: u64,
    busy: AtomicUsize,
    bytes_in: AtomicU64,
    /// `bytes_in` when the connection last became free of requests.
    idle_mark: AtomicU64,
    idle_since_ms: AtomicU64,
    eof: AtomicBool,
    close: Notify,
}

impl ClientConn {
    /// Whether the client has closed its side (gave up waiting). A handler that is about
    /// to do something the client will never hear about can skip it.
    pub(crate) fn gone(&self) -> bool {
        if self.eof.load(Ordering::Acquire) {
            return true;
        }
        let mut b = [0u8; 1];
        // SAFETY: `fd` belongs to the socket of this connection, which lives for as long
        // as the connection's task runs the handler that calls this; the buffer is ours.
        let n = unsafe {
            libc::recv(
                self.fd,
                b.as_mut_ptr().cast(),
                1,
                libc::MSG_PEEK | libc::MSG_DONTWAIT,
            )
        };
        if n == 0 {
            return true;
        }
        if n < 0 {
            let e = std::io::Error::last_os_error().raw_os_error();
            return !matches!(e, Some(libc::EAGAIN) | Some(libc::EINTR));
        }
        false
    }

    fn quiet(&self) -> bool {
        self.busy.load(Ordering::Acquire) == 0
            && self.bytes_in.load(Ordering::Acquire) == self.idle_mark.load(Ordering::Acquire)
    }

    fn waiting(&self) -> bool {
        self.busy.load(Ordering::Acquire) == 0
    }
}

struct Registry {
    epoch: Instant,
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, Arc<ClientConn>>>,
}

impl Registry {
    fn now_ms(&self) -> u64 {
        self.epoch.elapsed().as_millis() as u64
    }

    fn remove(&self, id: u64) {
        if let Ok(mut m) = self.conns.lock() {
            m.remove(&id);
        }
    }

    /// Take the connection that has been free longest among those `pick` accepts.
    fn evict(m: &mut HashMap<u64, Arc<ClientConn>>, pick: impl Fn(&ClientConn) -> bool) -> bool {
        let victim = m
            .values()
            .filter(|c| pick(c))
            .min_by_key(|c| (c.idle_since_ms.load(Ordering::Acquire), c.opened_ms))
            .map(|c| c.id);
        match victim.and_then(|id| m.remove(&id)) {
            Some(c) => {
                c.close.notify_one();
                true
            }
            None => false,
        }
    }

    /// Make room for a new connection; false when it must be refused.
    fn admit(&self, limits: &ConnLimits, conn: Arc<ClientConn>) -> bool {
        let Ok(mut m) = self.conns.lock() else {
            return false;
        };
        if m.len() >= limits.keepalive_soft_limit {
            Self::evict(&mut m, ClientConn::quiet);
        }
        if m.len() >= limits.max_connections && !Self::evict(&mut m, ClientConn::waiting) {
            return false;
        }
        m.insert(conn.id, conn);
        true
    }

    /// Close quiet connections older than `idle`.
    fn sweep(&self, idle: Duration) {
        let now = self.now_ms();
        let idle = idle.as_millis() as u64;
        if let Ok(mut m) = self.conns.lock() {
            m.retain(|_, c| {
                let expired = c.quiet()
                    && now.saturating_sub(c.idle_since_ms.load(Ordering::Acquire)) >= idle;
                if expired {
                    c.close.notify_one();
                }
                !expired
            });
        }
    }

    fn len(&self) -> usize {
        self.conns.lock().map(|m| m.len()).unwrap_or(0)
    }
}

/// The effective cap: the configured one, lowered to fit the open-file limit.
pub(crate) fn effective_limits(mut limits: ConnLimits) -> ConnLimits {
    let mut rl = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct we pass.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut rl) } == 0;
    if ok && rl.rlim_cur != libc::RLIM_INFINITY {
        let room = (rl.rlim_cur as usize).saturating_sub(FD_RESERVE).max(16);
        if room < limits.max_connections {
            tracing::warn!(
                configured = limits.max_connections,
                used = room,
                open_file_limit = rl.rlim_cur,
                "web.max_connections lowered to fit the open-file limit (raise LimitNOFILE= in the unit)"
            );
            limits.max_connections = room;
            limits.keepalive_soft_limit = limits.keepalive_soft_limit.min(room);
        }
    }
    limits
}

/// Serve `router` on `listener` until `stop` turns true; then ask every connection to
/// finish its current response and return when all are closed.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnLimits,
    mut stop: watch::Receiver<bool>,
) {
    let limits = effective_limits(limits);
    let reg = Arc::new(Registry {
        epoch: Instant::now(),
        next_id: AtomicU64::new(1),
        conns: Mutex::new(HashMap::new()),
    });
    let sweeper = tokio::spawn({
        let reg = reg.clone();
        async move {
            let every = (limits.idle_timeout / 4).max(Duration::from_millis(250));
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                reg.sweep(limits.idle_timeout);
            }
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .keep_alive(true);
    let mut last_accept_error: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            _ = stopped(&mut stop) => break,
            a = listener.accept() => a,
        };
        let (sock, peer) = match accepted {
            Ok(a) => a,
            Err(e) => {
                // EMFILE/ENFILE: wait for descriptors to come back instead of spinning.
                if last_accept_error.is_none_or(|t| t.elapsed() > Duration::from_secs(10)) {
                    tracing::warn!(%e, "cannot accept a connection; retrying");
                    last_accept_error = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let _ = sock.set_nodelay(true);
        let now = reg.now_ms();
        let conn = Arc::new(ClientConn {
            id: reg.next_id.fetch_add(1, Ordering::Relaxed),
            fd: sock.as_raw_fd(),
            opened_ms: now,
            busy: AtomicUsize::new(0),
            bytes_in: AtomicU64::new(0),
            idle_mark: AtomicU64::new(0),
            idle_since_ms: AtomicU64::new(now),
            eof: AtomicBool::new(false),
            close: Notify::new(),
        });
        if !reg.admit(&limits, conn.clone()) {
            // Every connection is busy: say so (best effort, never waits) and close.
            let _ = sock.try_write(REFUSED);
            drop(sock);
            continue;
        }
        tokio::spawn(connection(
            builder.clone(),
            sock,
            peer,
            router.clone(),
            conn,
            reg.clone(),
            stop.clone(),
        ));
    }
    drop(listener);
    // Bounded: the daemon gives the server 2 s before it stops the rest anyway.
    for _ in 0..200 {
        if reg.len() == 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    sweeper.abort();
}

async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

async fn connection(
    builder: http1::Builder,
    sock: TcpStream,
    peer: SocketAddr,
    router: Router,
    conn: Arc<ClientConn>,
    reg: Arc<Registry>,
    mut stop: watch::Receiver<bool>,
) {
    let io = CountingIo {
        inner: sock,
        conn: conn.clone(),
    };
    let svc_conn = conn.clone();
    let epoch = reg.epoch;
    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
        let router = router.clone();
        let c = svc_conn.clone();
        async move {
            c.busy.fetch_add(1, Ordering::AcqRel);
            let guard = BusyGuard {
                conn: c.clone(),
                epoch,
            };
            let mut req = req.map(Body::new);
            req.extensions_mut().insert(ConnectInfo(peer));
            req.extensions_mut().insert(c);
            let resp = match router.oneshot(req).await {
                Ok(r) => r,
                Err(never) => match never {},
            };
            Ok::<_, Infallible>(resp.map(|inner| Tracked {
                inner,
                _guard: guard,
            }))
        }
    });
    let served = builder.serve_connection(TokioIo::new(io), svc);
    tokio::pin!(served);
    tokio::select! {
        r = served.as_mut() => {
            if let Err(e) = r {
                tracing::debug!(%peer, %e, "connection ended");
            }
        }
        _ = conn.close.notified() => {
            if conn.busy.load(Ordering::Acquire) > 0 {
                served.as_mut().graceful_shutdown();
                let _ = served.as_mut().await;
            }
        }
        _ = stopped(&mut stop) => {
            served.as_mut().graceful_shutdown();
            let _ = tokio::time::timeout(Duration::from_secs(2), served.as_mut()).await;
        }
    }
    reg.remove(conn.id);
}

/// Marks its connection busy until the response body is finished or dropped.
struct BusyGuard {
    conn: Arc<ClientConn>,
    epoch: Instant,
}

impl Drop for BusyGuard {
    fn drop(&mut self) {
        let c = &self.conn;
        if c.busy.fetch_sub(1, Ordering::AcqRel) == 1 {
            c.idle_since_ms
                .store(self.epoch.elapsed().as_millis() as u64, Ordering::Release);
            c.idle_mark
                .store(c.bytes_in.load(Ordering::Acquire), Ordering::Release);
        }
    }
}

/// A response body that keeps its connection busy while it is being sent.
struct Tracked {
    inner: Body,
    _guard: BusyGuard,
}

impl hyper::body::Body for Tracked {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        Pin::new(&mut self.get_mut().inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The socket, counting the bytes read (quiet or not) and noticing end of stream.
struct CountingIo {
    inner: TcpStream,
    conn: Arc<ClientConn>,
}

impl AsyncRead for CountingIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(())) = &r {
            let n = buf.filled().len() - before;
            if n == 0 && buf.remaining() > 0 {
                this.conn.eof.store(true, Ordering::Release);
            } else {
                this.conn.bytes_in.fetch_add(n as u64, Ordering::AcqRel);
            }
        }
        r
    }
}

impl AsyncWrite for CountingIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn conn(id: u64, idle_since: u64, busy: usize, bytes: u64) -> Arc<ClientConn> {
        Arc::new(ClientConn {
            id,
            fd: -1,
            opened_ms: idle_since,
            busy: AtomicUsize::new(busy),
            bytes_in: AtomicU64::new(bytes),
            idle_mark: AtomicU64::new(0),
            idle_since_ms: AtomicU64::new(idle_since),
            eof: AtomicBool::new(false),
            close: Notify::new(),
        })
    }

    fn reg() -> Registry {
        Registry {
            epoch: Instant::now(),
            next_id: AtomicU64::new(1),
            conns: Mutex::new(HashMap::new()),
        }
    }

    fn ids(r: &Registry) -> Vec<u64> {
        let mut v: Vec<u64> = r
            .conns
            .lock()
            .map(|m| m.keys().copied().collect())
            .unwrap_or_default();
        v.sort();
        v
    }

    #[test]
    fn quiet_connections_go_first_then_waiting_ones_busy_never() {
        let limits = ConnLimits {
            max_connections: 3,
            keepalive_soft_limit: 2,
            ..ConnLimits::default()
        };
        let r = reg();
        assert!(r.admit(&limits, conn(1, 10, 1, 5))); // busy (an SSE stream)
        assert!(r.admit(&limits, conn(2, 20, 0, 3))); // waiting: part of a head
                                                      // Above the soft limit a quiet one would go; there is none, so 3 joins.
        assert!(r.admit(&limits, conn(3, 30, 0, 0))); // quiet
        assert_eq!(ids(&r), vec![1, 2, 3]);
        // At the cap: the quiet 3 goes first (soft limit), not the older waiting 2.
        assert!(r.admit(&limits, conn(4, 40, 0, 1)));
        assert_eq!(ids(&r), vec![1, 2, 4]);
        // Nothing quiet: the longest-waiting (2) makes room.
        assert!(r.admit(&limits, conn(5, 50, 1, 1)));
        assert_eq!(ids(&r), vec![1, 4, 5]);
        assert!(r.admit(&limits, conn(6, 60, 1, 1)));
        assert_eq!(ids(&r), vec![1, 5, 6]);
        // Everything busy: the newcomer is refused.
        assert!(!r.admit(&limits, conn(7, 70, 0, 0)));
        assert_eq!(ids(&r), vec![1, 5, 6]);
    }

    #[test]
    fn gone_sees_a_client_that_closed_its_connection() {
        let listener = match std::net::TcpListener::bind("127.0.0.1:0") {
            Ok(l) => l,
            Err(e) => panic!("bind: {e}"),
        };
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let client = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
        let (server, _) = listener.accept().unwrap_or_else(|e| panic!("{e}"));
        let mut c = conn(1, 0, 1, 0);
        if let Some(c) = Arc::get_mut(&mut c) {
            c.fd = server.as_raw_fd();
        }
        assert!(!c.gone(), "connected, nothing sent");
        std::io::Write::write_all(&mut &client, b"GET / HTTP/1.1\r\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(!c.gone(), "unread bytes are not a close");
        let mut buf = [0u8; 64];
        let _ = std::io::Read::read(&mut &server, &mut buf);
        drop(client);
        let mut seen = false;
        for _ in 0..100 {
            if c.gone() {
                seen = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert!(seen, "the client's close is seen");
    }

    #[test]
    fn refusal_is_a_complete_json_answer() {
        let text = std::str::from_utf8(REFUSED).unwrap_or_else(|e| panic!("{e}"));
        let (head, body) = text
            .split_once("\r\n\r\n")
            .unwrap_or_else(|| panic!("no head"));
        assert!(
            head.contains(&format!("Content-Length: {}", body.len())),
            "{head} / {}",
            body.len()
        );
        let v: serde_json::Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(v["error"], "unavailable");
        assert_eq!(v["message_vi"], "Hệ thống đang bận, vui lòng thử lại.");
    }

    #[test]
    fn sweep_closes_only_quiet_connections_past_the_idle_time() {
        let r = reg();
        let limits = ConnLimits::default();
        assert!(r.admit(&limits, conn(1, 0, 0, 0)));
        assert!(r.admit(&limits, conn(2, 0, 1, 0)));
        assert!(r.admit(&limits, conn(3, 0, 0, 7)));
        r.sweep(Duration::ZERO);
        assert_eq!(ids(&r), vec![2, 3]);
    }
}
