//! A throw-away PostgreSQL cluster for tests: `initdb` into a temp dir (Debian's
//! /usr/lib/postgresql/*/bin), the server on a free loopback port with its socket in the
//! temp dir, killable and restartable on the same port; removed on drop. As root the
//! server runs as the `postgres` user (initdb refuses root).
#![allow(dead_code)]

// A test that uses several harnesses loads this file once per harness; each copy is private.
#[allow(clippy::duplicate_mod)]
#[path = "process.rs"]
mod process;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PG_HINT: &str =
    "install it with `apt-get install -y postgresql` (scripts/test.sh does this)";

/// The newest installed PostgreSQL bin directory.
pub fn pg_bin() -> PathBuf {
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .map(|e| e.path().join("bin"))
                .filter(|p| p.join("initdb").is_file())
                .collect()
        })
        .unwrap_or_default();
    found.sort_by_key(|p| {
        p.parent()
            .and_then(|v| v.file_name())
            .and_then(|v| v.to_str())
            .and_then(|v| v.parse::<u32>().ok())
            .unwrap_or(0)
    });
    match found.pop() {
        Some(p) => p,
        None => panic!(
            "PostgreSQL server binaries (/usr/lib/postgresql/*/bin/initdb) are missing: {PG_HINT}"
        ),
    }
}

fn postgres_ids() -> Option<(u32, u32)> {
    if unsafe { libc::geteuid() } != 0 {
        return None;
    }
    let name = std::ffi::CString::new("postgres").ok()?;
    let pw = unsafe { libc::getpwnam(name.as_ptr()) };
    if pw.is_null() {
        panic!("running as root needs a `postgres` user to run the test cluster; {PG_HINT}");
    }
    Some(unsafe { ((*pw).pw_uid, (*pw).pw_gid) })
}

pub struct Pg {
    pub port: u16,
    pub dir: tempfile::TempDir,
    ids: Option<(u32, u32)>,
    child: Option<Child>,
}

impl Pg {
    pub fn start() -> Pg {
        let bin = pg_bin();
        let dir = tempfile::Builder::new()
            .prefix("layso-pg")
            .tempdir()
            .unwrap_or_else(|e| panic!("{e}"));
        let ids = postgres_ids();
        let data = dir.path().join("data");
        std::fs::create_dir_all(&data).unwrap_or_else(|e| panic!("{e}"));
        if let Some((u, g)) = ids {
            for p in [dir.path(), data.as_path()] {
                std::os::unix::fs::chown(p, Some(u), Some(g)).unwrap_or_else(|e| panic!("{e}"));
            }
        }
        let mut cmd = Command::new(bin.join("initdb"));
        cmd.args(["-D"])
            .arg(&data)
            .args([
                "-U",
                "layso",
                "--auth=trust",
                "-E",
                "UTF8",
                "--no-sync",
                "--locale=C",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        if let Some((u, g)) = ids {
            cmd.uid(u).gid(g);
        }
        process::run_ok("initdb", PG_HINT, &mut cmd);
        let port = process::free_port().unwrap_or_else(|e| panic!("{e}"));
        let mut pg = Pg {
            port,
            dir,
            ids,
            child: None,
        };
        pg.run();
        pg
    }

    pub fn url(&self) -> String {
        format!("postgresql://layso@127.0.0.1:{}/postgres", self.port)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join("postgres.log")
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.log_path()).unwrap_or_default()
    }

    /// Start the server and wait until it accepts connections.
    pub fn run(&mut self) {
        assert!(self.child.is_none(), "postgres already running");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.log_path())
            .unwrap_or_else(|e| panic!("{e}"));
        if let Some((u, g)) = self.ids {
            let _ = std::os::unix::fs::chown(self.log_path(), Some(u), Some(g));
        }
        let err = log.try_clone().unwrap_or_else(|e| panic!("{e}"));
        let mut cmd = Command::new(pg_bin().join("postgres"));
        cmd.arg("-D")
            .arg(self.dir.path().join("data"))
            .args([
                "-p",
                &self.port.to_string(),
                "-c",
                "listen_addresses=127.0.0.1",
            ])
            .arg("-c")
            .arg(format!(
                "unix_socket_directories={}",
                self.dir.path().display()
            ))
            .args(["-c", "fsync=off", "-c", "max_connections=50"])
            .stdout(log)
            .stderr(err);
        if let Some((u, g)) = self.ids {
            cmd.uid(u).gid(g);
        }
        self.child = Some(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("cannot start postgres: {e}; {PG_HINT}")),
        );
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                std::thread::sleep(Duration::from_millis(200));
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("postgres did not listen within 30 s; log:\n{}", self.log());
    }

    /// Stop: SIGKILL (`crash`) or a fast shutdown (SIGINT).
    pub fn stop(&mut self, crash: bool) {
        if let Some(mut c) = self.child.take() {
            unsafe {
                libc::kill(
                    c.id() as i32,
                    if crash { libc::SIGKILL } else { libc::SIGINT },
                );
            }
            let _ = c.wait();
            if crash {
                // Children of a killed postmaster end on their own; give them a moment,
                // and remove the stale pid file so that the next start is not refused.
                std::thread::sleep(Duration::from_millis(500));
                let _ = std::fs::remove_file(self.dir.path().join("data/postmaster.pid"));
            }
        }
    }

    pub fn data_dir(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for Pg {
    fn drop(&mut self) {
        self.stop(false);
    }
}

/// Connect a client (the connection runs on the current runtime).
pub async fn client(url: &str) -> tokio_postgres::Client {
    let (c, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
        .await
        .unwrap_or_else(|e| panic!("cannot connect to the test PostgreSQL: {e}"));
    tokio::spawn(async move {
        let _ = conn.await;
    });
    c
}
