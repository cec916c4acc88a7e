//! The server-sent event stream of the real daemon: live events, and catch-up from the
//! log with `Last-Event-ID` after a disconnect.

mod support;

use std::time::Duration;
use support::daemon::Site;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;

/// Open the stream and collect `(id, kind)` until `want` ticket_issued events arrived
/// (bounded by time).
async fn read_ids(port: u16, last_id: Option<u64>, want: usize) -> Vec<(u64, String)> {
    let mut s = TcpStream::connect(("127.0.0.1", port))
        .await
        .expect("connect");
    let mut req =
        "GET /api/v1/events HTTP/1.1\r\nHost: x\r\nAccept: text/event-stream\r\n".to_string();
    if let Some(id) = last_id {
        req += &format!("Last-Event-ID: {id}\r\n");
    }
    req += "\r\n";
    s.write_all(req.as_bytes()).await.expect("send");
    let mut lines = BufReader::new(s).lines();
    let mut out = Vec::new();
    let mut id = None;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while out.iter().filter(|(_, k)| k == "ticket_issued").count() < want {
        let line = tokio::time::timeout_at(deadline, lines.next_line())
            .await
            .expect("events arrive in time")
            .expect("read")
            .expect("stream open");
        if let Some(v) = line.strip_prefix("id: ") {
            id = v.trim().parse().ok();
        } else if let Some(kind) = line.strip_prefix("event: ") {
            if let Some(i) = id.take() {
                out.push((i, kind.trim().to_string()));
            }
        }
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_and_resumed_streams() {
    let site = Site::new("");
    let d = tokio::task::block_in_place(|| site.start());
    let client = reqwest::Client::new();
    let port = site.port;
    let live = tokio::spawn(async move { read_ids(port, None, 2).await });
    tokio::time::sleep(Duration::from_millis(200)).await;
    for s in ["A", "B"] {
        let body = serde_json::json!({"service": s});
        site.post_json(&client, "/api/v1/tickets", &body).await;
    }
    let live = live.await.expect("live reader");
    let kinds: Vec<_> = live
        .iter()
        .map(|(_, k)| k.as_str())
        .filter(|k| *k != "device_status")
        .collect();
    assert_eq!(kinds, ["day_started", "ticket_issued", "ticket_issued"]);
    let ids: Vec<u64> = live.iter().map(|(i, _)| *i).collect();
    assert!(
        ids.windows(2).all(|w| w[1] == w[0] + 1),
        "no gap in seq: {ids:?}"
    );

    // Disconnected after the first event: resume and get exactly the rest, in order.
    let first = live[0].0;
    let resumed = read_ids(port, Some(first), 2).await;
    assert_eq!(resumed, live[1..].to_vec());
    // Works across a restart too: the catch-up comes from the log.
    assert_eq!(d.stop(), Some(0));
    let d = tokio::task::block_in_place(|| site.start());
    let again = read_ids(port, Some(first - 1), 2).await;
    assert_eq!(again, live);
    d.kill9();
}
