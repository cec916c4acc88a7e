//! The view: the summary of the state that pages, displays, the API and the status read,
//! rebuilt by the engine after each batch.

use super::{store, Engine, StoreView};
use crate::core::state::Current;
use serde::Serialize;

/// A summary of the state for pages, displays and the API. Rebuilt after each batch.
#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub day: Option<String>,
    pub last_seq: u64,
    pub services: Vec<ServiceView>,
    pub counters: Vec<CounterView>,
    pub last_calls: Vec<CallView>,
    pub devices: Vec<DeviceView>,
    pub alarms: Vec<String>,
    pub ratable: Vec<crate::core::rating::Ratable>,
    pub ratings_alerts: Vec<crate::core::rating::Alert>,
    /// Whether the store writes (false: no ticket can be issued right now) and why not.
    pub store: StoreView,
}

#[derive(Debug, Clone, Serialize)]
pub struct ServiceView {
    pub id: String,
    pub name_vi: String,
    pub name_en: String,
    pub prefix: String,
    pub waiting: usize,
    pub waiting_priority: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct CurrentView {
    pub ticket: String,
    pub service: String,
    pub called_at: i64,
    pub recall: u32,
}

impl From<&Current> for CurrentView {
    fn from(c: &Current) -> Self {
        CurrentView {
            ticket: c.ticket.clone(),
            service: c.service.clone(),
            called_at: c.called_at,
            recall: c.recall,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CounterView {
    pub number: u16,
    pub name: String,
    pub services: Vec<String>,
    pub state: &'static str,
    pub current: Option<CurrentView>,
    pub served_today: u32,
    pub officer: Option<crate::config::Officer>,
}

#[derive(Debug, Clone, Serialize)]
pub struct CallView {
    pub ticket: String,
    pub counter: u16,
    pub at: i64,
    pub recall: u32,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeviceView {
    pub device: String,
    pub state: String,
    pub detail: String,
    pub since: i64,
}

pub(super) fn empty_view() -> View {
    View {
        day: None,
        last_seq: 0,
        services: vec![],
        counters: vec![],
        last_calls: vec![],
        devices: vec![],
        alarms: vec![],
        ratable: vec![],
        ratings_alerts: vec![],
        store: StoreView::default(),
    }
}

impl Engine {
    pub(super) fn view(&self) -> View {
        let s = &self.state;
        View {
            day: s.day().map(|d| d.to_string()),
            last_seq: s.last_seq(),
            services: self
                .config
                .services
                .iter()
                .map(|v| {
                    let (waiting, waiting_priority) = s.waiting(&v.id);
                    ServiceView {
                        id: v.id.clone(),
                        name_vi: v.name_vi.clone(),
                        name_en: v.name_en.clone(),
                        prefix: v.prefix.clone(),
                        waiting,
                        waiting_priority,
                    }
                })
                .collect(),
            counters: self
                .config
                .counters
                .iter()
                .map(|c| {
                    let st = s.counter_state(c.number);
                    CounterView {
                        number: c.number,
                        name: c.name.clone(),
                        services: c.services.clone(),
                        state: st.map_or("closed", |x| x.status.as_str()),
                        current: st.and_then(|x| x.current.as_ref()).map(CurrentView::from),
                        served_today: st.map_or(0, |x| x.served_today),
                        officer: s
                            .ratings()
                            .signed_in
                            .get(&c.number)
                            .and_then(|o| self.config.ratings.public_officer(o)),
                    }
                })
                .collect(),
            last_calls: s
                .last_calls()
                .iter()
                .map(|c| CallView {
                    ticket: c.ticket.clone(),
                    counter: c.counter,
                    at: c.at,
                    recall: c.recall,
                })
                .collect(),
            devices: s
                .devices()
                .iter()
                .map(|(k, d)| DeviceView {
                    device: k.clone(),
                    state: d.state.clone(),
                    detail: d.detail.clone(),
                    since: d.since,
                })
                .collect(),
            alarms: self.alarms.lock().map(|a| a.clone()).unwrap_or_default(),
            ratable: crate::core::rating::ratable(s),
            ratings_alerts: s.ratings().alerts.iter().cloned().collect(),
            store: store::store_view(&self.store),
        }
    }
}
