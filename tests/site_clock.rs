//! The pages' clocks and dates are in the site's time zone, not the device's: a real daemon
//! (site `utc_offset = "+07:00"`, config/dev.toml) and real headless Chromium running with
//! TZ=UTC; the kiosk, the hall display and the counter page (before sign-in, too) show the
//! +07:00 time, and the display the +07:00 date. The day report opens on the site's day in a
//! browser whose calendar day is another one.

#[path = "support/chromium.rs"]
mod chromium;
#[path = "support/pages_daemon.rs"]
mod pages_daemon;
#[path = "support/wall.rs"]
mod wall;

use chromium::{Driver, Page};
use pages_daemon::Daemon;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

const SITE_OFFSET_MIN: i64 = 7 * 60;

const WEEKDAYS_VI: [&str; 7] = [
    "Chủ nhật",
    "Thứ hai",
    "Thứ ba",
    "Thứ tư",
    "Thứ năm",
    "Thứ sáu",
    "Thứ bảy",
];

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX))
}

/// The wall time of `ms` shifted by `offset_min`: (weekday, 0 = Sunday; dd/mm/yyyy; HH:MM).
fn wall(ms: i64, offset_min: i64) -> (usize, String, String) {
    let w = wall::wall(ms, offset_min);
    (
        w.weekday,
        format!("{:02}/{:02}/{}", w.day, w.month, w.year),
        format!("{:02}:{:02}", w.hour, w.minute),
    )
}

/// Waits until `#clock` shows the site's HH:MM (either side of a minute boundary); the page
/// learns the site's zone from /api/v1/state, so give it that round trip.
async fn site_clock_shown(page: &Page, what: &str) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let before = now_ms();
        let shown = page.text("#clock").await?;
        let site = [before, now_ms()].map(|t| wall(t, SITE_OFFSET_MIN).2);
        if site.contains(&shown) {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the {what} clock shows {shown:?}; the site's time (+07:00) is {}, UTC is {}",
                site[1],
                wall(now_ms(), 0).2
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn check(driver: &mut Driver, daemon: &Daemon) -> Result<(), String> {
    let page = driver.session(1280, 800).await?;
    let tz = page
        .eval("return new Date().getTimezoneOffset()")
        .await?
        .as_i64();
    if tz != Some(0) {
        return Err(format!("Chromium should run in UTC, its offset is {tz:?}"));
    }
    page.goto(&daemon.url("/kiosk")).await?;
    site_clock_shown(&page, "kiosk").await?;
    page.goto(&daemon.url("/counter/1")).await?;
    site_clock_shown(&page, "counter page (not signed in)").await?;
    page.goto(&daemon.url("/display")).await?;
    site_clock_shown(&page, "hall display").await?;
    // The date: weekday and dd/mm/yyyy of the site's day (either side of a midnight).
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let before = now_ms();
        let shown = page.text("#date").await?;
        let want = [before - 60_000, now_ms()].map(|t| {
            let (wd, date, _) = wall(t, SITE_OFFSET_MIN);
            format!("{}, {date}", WEEKDAYS_VI[wd])
        });
        if want.contains(&shown) {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the hall display's date is {shown:?}; the site's date (+07:00) is {:?}",
                want[1]
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    page.close().await;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kiosk_display_and_counter_show_the_sites_time_in_a_utc_browser() {
    // Set before any child starts: Chromium runs in UTC, seven hours behind the site.
    std::env::set_var("TZ", "UTC");
    if let Err(e) = chromium::require_chromium() {
        panic!("{e}");
    }
    // The helper itself: 2025-11-24T20:30Z is Monday 24/11 20:30 in UTC and Tuesday 25/11
    // 03:30 at +07:00.
    assert_eq!(
        wall(1_764_016_200_000, 0),
        (1, "24/11/2025".into(), "20:30".into())
    );
    assert_eq!(
        wall(1_764_016_200_000, SITE_OFFSET_MIN),
        (2, "25/11/2025".into(), "03:30".into())
    );
    let daemon = match Daemon::start(|_| Ok(())) {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    let mut driver = match Driver::start().await {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    if let Err(e) = check(&mut driver, &daemon).await {
        panic!("{e}\n--- daemon log ---\n{}", daemon.log());
    }
    drop(driver);
    // A second browser in a zone whose calendar day differs from the site's right now:
    // UTC-12 before 19:00 at the site, UTC+14 from 17:00 (POSIX signs are reversed).
    let (tz, tz_offset) = if wall(now_ms(), SITE_OFFSET_MIN).2.as_str() < "18:00" {
        ("Etc/GMT+12", -12 * 60)
    } else {
        ("Etc/GMT-14", 14 * 60)
    };
    let site_day = wall(now_ms(), SITE_OFFSET_MIN).1;
    assert_ne!(
        wall(now_ms(), tz_offset).1,
        site_day,
        "the test's browser zone {tz} should be on another day than the site"
    );
    std::env::set_var("TZ", tz);
    let mut driver = match Driver::start().await {
        Ok(d) => d,
        Err(e) => panic!("{e}"),
    };
    if let Err(e) = report_day(&mut driver, &daemon, &site_day).await {
        panic!("{e}\n--- daemon log ---\n{}", daemon.log());
    }
}

/// The day report's date field starts on the site's day (`dd/mm/yyyy` given), not the browser's.
async fn report_day(driver: &mut Driver, daemon: &Daemon, site_day: &str) -> Result<(), String> {
    let page = driver.session(1280, 800).await?;
    let mut parts = site_day.split('/');
    let (d, m, y) = (parts.next(), parts.next(), parts.next());
    let want = format!(
        "{}-{}-{}",
        y.unwrap_or(""),
        m.unwrap_or(""),
        d.unwrap_or("")
    );
    page.goto(&daemon.url("/report")).await?;
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let shown = page
            .eval("return document.getElementById('day').value")
            .await?;
        let shown = shown.as_str().unwrap_or("").to_string();
        if shown == want {
            break;
        }
        if Instant::now() > deadline {
            return Err(format!(
                "the day report opens on {shown:?}; the site's day is {want:?}"
            ));
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    page.close().await;
    Ok(())
}
