//! The standard ticket of the printer tests and the printer benchmark: a Vietnamese
//! service at a ward center, issued at a fixed instant. Include with
//! `#[path = "support/print_job.rs"] mod print_job;`.

use layso::devices::printer::PrintJob;

pub fn standard_job() -> PrintJob {
    PrintJob {
        site_name: "Trung tâm phục vụ hành chính công phường Bến Thành".into(),
        service_name: "Đăng ký kinh doanh".into(),
        ticket: "A012".into(),
        priority: false,
        issued_at_ms: 1_795_482_930_000,
        utc_offset_minutes: 420,
        waiting_ahead: 7,
        qr: None,
        deadline_ms: 0,
    }
}
