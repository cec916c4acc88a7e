//! Headless Chromium for page tests: finds Debian's `chromium` + `chromedriver`, starts the
//! driver on a free loopback port and opens WebDriver sessions (fantoccini over plain HTTP).
#![allow(dead_code)]

// A test that uses several harnesses loads this file once per harness; each copy is private.
#[allow(clippy::duplicate_mod)]
#[path = "process.rs"]
mod process;

use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::{json, Value};

const INSTALL_HINT: &str = "install them with `sudo scripts/ensure-chromium.sh` \
     (runs `apt-get update && apt-get install -y chromium chromium-driver`), \
     or point LAYSO_CHROMIUM / LAYSO_CHROMEDRIVER at the binaries";

/// Flags every test browser starts with (fresh profile added per session).
pub const CHROMIUM_FLAGS: &[&str] = &[
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
    "--disable-breakpad",
    "--disable-crash-reporter",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--autoplay-policy=no-user-gesture-required",
    "--lang=vi-VN",
];

fn locate(env: &str, default: &str) -> Result<PathBuf, String> {
    let path = std::env::var_os(env)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default));
    if path.is_file() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found (looked at {}); the browser test needs a real Chromium: {INSTALL_HINT}",
            Path::new(default)
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
            path.display()
        ))
    }
}

/// Paths of chromium and chromedriver, or a message telling how to install them.
pub fn require_chromium() -> Result<(PathBuf, PathBuf), String> {
    Ok((
        locate("LAYSO_CHROMIUM", "/usr/bin/chromium")?,
        locate("LAYSO_CHROMEDRIVER", "/usr/bin/chromedriver")?,
    ))
}

pub use process::free_port;

/// Where page screenshots for reviewers go: target/screenshots/.
pub fn screenshot_dir() -> PathBuf {
    let tmp = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent()
        .map(|t| t.join("screenshots"))
        .unwrap_or_else(|| tmp.join("screenshots"))
}

/// A running chromedriver; sessions are opened with [`Driver::session`].
pub struct Driver {
    child: Child,
    url: String,
    chromium: PathBuf,
    dir: tempfile::TempDir,
    sessions: usize,
}

impl Driver {
    pub async fn start() -> Result<Driver, String> {
        let (chromium, chromedriver) = require_chromium()?;
        let dir = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
        let port = free_port()?;
        let log = dir.path().join("chromedriver.log");
        // Own process group: dropping the driver kills chromedriver and every Chromium it
        // started, even when a test fails before closing its sessions.
        let child = Command::new(&chromedriver)
            .process_group(0)
            .env("XDG_CONFIG_HOME", dir.path())
            .env("XDG_CACHE_HOME", dir.path())
            .arg(format!("--port={port}"))
            .arg(format!("--log-path={}", log.display()))
            .arg("--allowed-ips=127.0.0.1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", chromedriver.display()))?;
        let mut driver = Driver {
            child,
            url: format!("http://127.0.0.1:{port}"),
            chromium,
            dir,
            sessions: 0,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = driver.child.try_wait() {
                return Err(format!(
                    "chromedriver exited at start-up ({status}); see {}",
                    log.display()
                ));
            }
            if tokio::net::TcpStream::connect(("127.0.0.1", port))
                .await
                .is_ok()
            {
                return Ok(driver);
            }
            if Instant::now() > deadline {
                let _ = driver.child.kill();
                return Err("chromedriver did not listen within 20 s".into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Opens a new Chromium (own fresh profile) with a viewport of `width` x `height`.
    pub async fn session(&mut self, width: u32, height: u32) -> Result<Page, String> {
        self.sessions += 1;
        let profile = self.dir.path().join(format!("profile-{}", self.sessions));
        std::fs::create_dir_all(&profile).map_err(|e| format!("profile dir: {e}"))?;
        let mut args: Vec<String> = CHROMIUM_FLAGS.iter().map(|s| s.to_string()).collect();
        args.push(format!("--user-data-dir={}", profile.display()));
        args.push(format!("--window-size={width},{height}"));
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({ "binary": self.chromium.display().to_string(), "args": args }),
        );
        let client = ClientBuilder::new(hyper_util::client::legacy::connect::HttpConnector::new())
            .capabilities(caps)
            .connect(&self.url)
            .await
            .map_err(|e| format!("cannot open a Chromium session through chromedriver: {e}"))?;
        let page = Page { client };
        page.set_viewport(width, height).await?;
        Ok(page)
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if let Ok(pgid) = i32::try_from(self.child.id()) {
            // SAFETY: kill(2) with a negative pid signals the process group we created for
            // chromedriver; no memory is involved.
            unsafe {
                libc::kill(-pgid, libc::SIGKILL);
            }
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One browser session (one Chromium window).
pub struct Page {
    pub client: Client,
}

impl Page {
    /// Makes the page's viewport (window.innerWidth x innerHeight) exactly `w` x `h`.
    pub async fn set_viewport(&self, w: u32, h: u32) -> Result<(), String> {
        let mut outer = (w, h);
        let mut inner = (0i64, 0i64);
        for _ in 0..8 {
            self.client
                .set_window_size(outer.0, outer.1)
                .await
                .map_err(|e| format!("set window size: {e}"))?;
            // The resize reaches the page asynchronously: read until two reads agree.
            let mut prev = (-1i64, -1i64);
            for _ in 0..20 {
                let v = self
                    .eval("return [window.innerWidth, window.innerHeight];")
                    .await?;
                inner = (v[0].as_i64().unwrap_or(0), v[1].as_i64().unwrap_or(0));
                if inner == (i64::from(w), i64::from(h)) {
                    return Ok(());
                }
                if inner == prev {
                    break;
                }
                prev = inner;
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            outer = (
                (i64::from(outer.0) + i64::from(w) - inner.0).clamp(100, 8000) as u32,
                (i64::from(outer.1) + i64::from(h) - inner.1).clamp(100, 8000) as u32,
            );
        }
        Err(format!(
            "could not get a {w}x{h} viewport (last inner size {}x{}, window {}x{})",
            inner.0, inner.1, outer.0, outer.1
        ))
    }

    pub async fn goto(&self, url: &str) -> Result<(), String> {
        self.client
            .goto(url)
            .await
            .map_err(|e| format!("navigate to {url}: {e}"))
    }

    /// Runs a script (body of a function; use `return`) and gives its result.
    pub async fn eval(&self, script: &str) -> Result<Value, String> {
        self.client
            .execute(script, vec![])
            .await
            .map_err(|e| format!("script failed: {e}\n{script}"))
    }

    /// Runs `script`; its result must be `want`, else the error says `what` should hold and
    /// what the script gave.
    pub async fn eval_is(&self, script: &str, want: Value, what: &str) -> Result<(), String> {
        let got = self.eval(script).await?;
        if got == want {
            Ok(())
        } else {
            Err(format!("{what}: expected {want}, got {got}"))
        }
    }

    /// Polls `script` (must return a truthy value when ready) until it is truthy.
    pub async fn wait_js(
        &self,
        what: &str,
        script: &str,
        timeout: Duration,
    ) -> Result<Value, String> {
        let deadline = Instant::now() + timeout;
        loop {
            let v = self.eval(script).await?;
            let ready = match &v {
                Value::Null => false,
                Value::Bool(b) => *b,
                Value::String(s) => !s.is_empty(),
                Value::Number(n) => n.as_f64().is_some_and(|x| x != 0.0),
                _ => true,
            };
            if ready {
                return Ok(v);
            }
            if Instant::now() > deadline {
                return Err(format!("timed out after {timeout:?} waiting for {what}"));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Goes to `url` and waits until `script` is truthy (see [`Page::wait_js`]).
    pub async fn open(
        &self,
        url: &str,
        what: &str,
        script: &str,
        timeout: Duration,
    ) -> Result<Value, String> {
        self.goto(url).await?;
        self.wait_js(what, script, timeout).await
    }

    /// Goes to the kiosk at `url` and waits (10 s at most) until its service buttons show.
    pub async fn open_kiosk(&self, url: &str) -> Result<(), String> {
        self.open(
            url,
            "service buttons on the kiosk",
            "return document.querySelectorAll('button.service').length",
            Duration::from_secs(10),
        )
        .await?;
        Ok(())
    }

    /// Taps service `service` on the kiosk and waits (5 s at most) for the issued-number
    /// screen; the number it shows.
    pub async fn issue_on_kiosk(&self, service: &str) -> Result<String, String> {
        self.click(&format!("button.service[data-service='{service}']"))
            .await?;
        self.wait_js(
            "the issued number on the kiosk",
            "return !document.getElementById('issued').hidden && document.getElementById('issued-number').textContent",
            Duration::from_secs(5),
        )
        .await?;
        self.text("#issued-number").await
    }

    /// Goes to `url`, a page behind a sign-in, and waits (at most `timeout`) until its
    /// sign-in form shows.
    pub async fn open_sign_in(&self, url: &str, timeout: Duration) -> Result<(), String> {
        let what = format!("the sign-in form of {url}");
        let script = "return !document.getElementById('login-form').hidden";
        self.open(url, &what, script, timeout).await?;
        Ok(())
    }

    /// Types `credential` into the page's sign-in form (`#credential`), submits it
    /// (`#login-submit`) and waits until `script` is truthy.
    pub async fn sign_in(
        &self,
        credential: &str,
        what: &str,
        script: &str,
        timeout: Duration,
    ) -> Result<Value, String> {
        self.type_into("#credential", credential).await?;
        self.click("#login-submit").await?;
        self.wait_js(what, script, timeout).await
    }

    /// Signs in with `credential`, which the page must refuse: its sign-in error, shown
    /// within `timeout`.
    pub async fn sign_in_refused(
        &self,
        credential: &str,
        timeout: Duration,
    ) -> Result<String, String> {
        self.sign_in(
            credential,
            "the sign-in error",
            "return !document.getElementById('login-error').hidden && document.getElementById('login-error').textContent",
            timeout,
        )
        .await?;
        self.text("#login-error").await
    }

    /// Waits (at most `timeout`, else fails saying `what`) until the element with id `id`
    /// shows with some text; that text.
    pub async fn shown_text(
        &self,
        id: &str,
        what: &str,
        timeout: Duration,
    ) -> Result<String, String> {
        let script = format!(
            "const e = document.getElementById({id:?}); return e && !e.hidden && e.textContent"
        );
        self.wait_js(what, &script, timeout).await?;
        self.text(&format!("#{id}")).await
    }

    /// Presses each step's key in turn, then waits (at most `timeout`) until its script is
    /// truthy: `(key, what, script)`.
    pub async fn press_keys(
        &self,
        steps: &[(char, &str, &str)],
        timeout: Duration,
    ) -> Result<(), String> {
        for &(key, what, script) in steps {
            self.press_key(key).await?;
            self.wait_js(what, script, timeout).await?;
        }
        Ok(())
    }

    /// Text of the first element matching `css`, or "" if none.
    pub async fn text(&self, css: &str) -> Result<String, String> {
        let v = self
            .client
            .execute(
                "const e = document.querySelector(arguments[0]); return e ? e.textContent.trim() : '';",
                vec![json!(css)],
            )
            .await
            .map_err(|e| format!("read text of {css}: {e}"))?;
        Ok(v.as_str().unwrap_or_default().to_string())
    }

    pub async fn visible(&self, css: &str) -> Result<bool, String> {
        let v = self
            .client
            .execute(
                "const e = document.querySelector(arguments[0]); \
                 if (!e) return false; const r = e.getBoundingClientRect(); \
                 return !e.closest('[hidden]') && r.width > 0 && r.height > 0;",
                vec![json!(css)],
            )
            .await
            .map_err(|e| format!("visibility of {css}: {e}"))?;
        Ok(v.as_bool().unwrap_or(false))
    }

    /// A real click (WebDriver element click: scrolls, checks it is clickable).
    pub async fn click(&self, css: &str) -> Result<(), String> {
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .map_err(|e| format!("find {css}: {e}"))?;
        el.click().await.map_err(|e| format!("click {css}: {e}"))
    }

    pub async fn type_into(&self, css: &str, text: &str) -> Result<(), String> {
        let el = self
            .client
            .find(Locator::Css(css))
            .await
            .map_err(|e| format!("find {css}: {e}"))?;
        el.clear().await.map_err(|e| format!("clear {css}: {e}"))?;
        el.send_keys(text)
            .await
            .map_err(|e| format!("type into {css}: {e}"))
    }

    /// Presses one key on the keyboard (as a person would, through WebDriver actions).
    pub async fn press_key(&self, key: char) -> Result<(), String> {
        use fantoccini::actions::{InputSource, KeyAction, KeyActions};
        let seq = KeyActions::new("keyboard".into())
            .then(KeyAction::Down { value: key })
            .then(KeyAction::Up { value: key });
        self.client
            .perform_actions(seq)
            .await
            .map_err(|e| format!("press {key}: {e}"))
    }

    /// Saves a screenshot for reviewers as target/screenshots/`name`.png.
    pub async fn shot(&self, name: &str) -> Result<(), String> {
        self.screenshot(&screenshot_dir().join(format!("{name}.png")))
            .await
    }

    /// Saves a PNG screenshot of the viewport to `path`.
    pub async fn screenshot(&self, path: &Path) -> Result<(), String> {
        let png = self
            .client
            .screenshot()
            .await
            .map_err(|e| format!("screenshot: {e}"))?;
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
        }
        std::fs::write(path, png).map_err(|e| format!("write {}: {e}", path.display()))
    }

    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
