//! The one typed device health report: which device, what kind it is, its state and a detail
//! line. Adapters send it; the engine stores it as a `DeviceStatus` event whose string fields
//! (`device`, `state`, `detail`) are unchanged on the wire and in telemetry.

use serde::Serialize;
use std::sync::Arc;
use tokio::sync::mpsc;

/// What sort of device a report is about; the status page names each (`status::advice`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum DeviceKind {
    Printer,
    CounterDisplay,
    LedBoard,
    Keypad,
    Button,
    Speaker,
    /// A task that feeds the devices (engine events to printer, boards, displays).
    Feed,
    /// A device whose name does not say its kind (one added later); still rendered sensibly.
    Other,
}

/// A device's state; [`HealthState::as_str`] is the stored `DeviceStatus.state` string.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum HealthState {
    Ok,
    /// A board device (display, LED board, button) that could not be opened or written.
    Failed,
    Unreachable,
    Error,
    Missing,
    PaperNearEnd,
    PaperOut,
    CoverOpen,
    Offline,
}

impl HealthState {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            HealthState::Ok => "ok",
            HealthState::Failed => "failed",
            HealthState::Unreachable => "unreachable",
            HealthState::Error => "error",
            HealthState::Missing => "missing",
            HealthState::PaperNearEnd => "paper_near_end",
            HealthState::PaperOut => "paper_out",
            HealthState::CoverOpen => "cover_open",
            HealthState::Offline => "offline",
        }
    }
}

impl From<crate::devices::printer::PrinterState> for HealthState {
    fn from(s: crate::devices::printer::PrinterState) -> Self {
        use crate::devices::printer::PrinterState as P;
        match s {
            P::Ok => HealthState::Ok,
            P::PaperNearEnd => HealthState::PaperNearEnd,
            P::PaperOut => HealthState::PaperOut,
            P::CoverOpen => HealthState::CoverOpen,
            P::Offline => HealthState::Offline,
            P::Error => HealthState::Error,
            P::Unreachable => HealthState::Unreachable,
        }
    }
}

impl From<crate::voice::player::Health> for HealthState {
    fn from(h: crate::voice::player::Health) -> Self {
        use crate::voice::player::Health as V;
        match h {
            V::Ok => HealthState::Ok,
            V::Missing => HealthState::Missing,
            V::Error => HealthState::Error,
        }
    }
}

/// One health report from a device adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct DeviceHealth {
    /// The device's name as stored (`printer`, `keypad-3`, the display's name, …).
    pub device: String,
    pub kind: DeviceKind,
    pub state: HealthState,
    pub detail: String,
}

impl DeviceHealth {
    pub(crate) fn new(
        device: impl Into<String>,
        kind: DeviceKind,
        state: HealthState,
        detail: impl Into<String>,
    ) -> Self {
        DeviceHealth {
            device: device.into(),
            kind,
            state,
            detail: detail.into(),
        }
    }
}

/// Where adapters send their health (the engine records each as a `DeviceStatus`).
pub(crate) type HealthTx = mpsc::UnboundedSender<DeviceHealth>;

/// Health callback: `(device name, ok, detail)`. The lead turns these into `DeviceStatus` events.
pub type Report = Arc<dyn Fn(String, bool, String) + Send + Sync>;

/// Wraps any `Fn(String, bool, String)` as a shareable [`Report`].
pub fn report_fn<F>(f: F) -> Report
where
    F: Fn(String, bool, String) + Send + Sync + 'static,
{
    Arc::new(f)
}

/// Sends a health report only when the state or the detail changes, so a device that keeps
/// failing the same way does not flood the log.
pub struct Health {
    name: String,
    report: Report,
    last: Option<(bool, String)>,
}

impl Health {
    pub(crate) fn new(name: String, report: Report) -> Self {
        Health {
            name,
            report,
            last: None,
        }
    }
    pub(crate) fn set(&mut self, ok: bool, detail: impl Into<String>) {
        let detail = detail.into();
        if self.last.as_ref() != Some(&(ok, detail.clone())) {
            (self.report)(self.name.clone(), ok, detail.clone());
            self.last = Some((ok, detail));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::devices::printer::PrinterState;

    #[test]
    fn stored_state_strings_are_unchanged() {
        for p in PrinterState::ALL {
            assert_eq!(HealthState::from(p).as_str(), p.as_str());
        }
        use crate::voice::player::Health as V;
        for (v, stored) in [(V::Ok, "ok"), (V::Missing, "missing"), (V::Error, "error")] {
            assert_eq!(HealthState::from(v).as_str(), stored);
        }
        assert_eq!(HealthState::Failed.as_str(), "failed");
    }
}
