//! The status in plain words for the technician: what each problem means and what to do
//! (`advice` for devices, `site_advice` for uplink, clock and store; pure), the
//! plain-language fields of `GET /api/v1/state` (`report`, pure), and `layso status`, the
//! same summary in a terminal (`text` renders, `cli` fetches).

pub(crate) mod advice;
pub(crate) mod cli;
pub(crate) mod report;
mod site_advice;
pub(crate) mod text;

use crate::config::Config;
use advice::DeviceKind;

/// The kind of a recorded device name, from the configuration (names of displays, LED
/// boards and buttons are the site's own), else from the name's shape.
pub(crate) fn kind_of(config: &Config, name: &str) -> DeviceKind {
    if config
        .counter_displays
        .iter()
        .any(|d| d.name.get_ref() == name)
    {
        DeviceKind::CounterDisplay
    } else if config.led_boards.iter().any(|b| b.name.get_ref() == name) {
        DeviceKind::LedBoard
    } else if config.buttons.iter().any(|b| b.display_name() == name) {
        DeviceKind::Button
    } else {
        DeviceKind::from_device_name(name)
    }
}

/// Adds what the state needs from the configuration and the disk: `utc_offset_minutes`
/// and `store.free_bytes`.
pub(crate) fn add_site_fields(doc: &mut serde_json::Value, config: &Config) {
    use serde_json::json;
    let Some(obj) = doc.as_object_mut() else {
        return;
    };
    obj.insert(
        "utc_offset_minutes".into(),
        json!(config.site.rule.utc_offset_minutes),
    );
    if let Some(store) = obj.get_mut("store").and_then(|s| s.as_object_mut()) {
        store.insert("free_bytes".into(), json!(free_bytes(&config.store.path)));
    }
}

/// Free bytes on the file system holding `path` (None if it cannot be read).
pub(crate) fn free_bytes(path: &std::path::Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    // The store directory may not exist yet; ask about the nearest existing ancestor.
    let existing = path.ancestors().find(|p| p.exists())?;
    let c = std::ffi::CString::new(existing.as_os_str().as_bytes()).ok()?;
    // SAFETY: statvfs only writes into `st`, which is a plain C struct we own; `c` is a
    // valid NUL-terminated path for the duration of the call.
    let mut st: libc::statvfs = unsafe { std::mem::zeroed() };
    let rc = unsafe { libc::statvfs(c.as_ptr(), &mut st) };
    if rc != 0 {
        return None;
    }
    #[allow(clippy::unnecessary_cast)]
    Some((st.f_bavail as u64).saturating_mul(st.f_frsize as u64))
}
