//! Ticket printing on ESC/POS thermal printers: the pure encoder and status parser, the
//! transports (serial, printer-class device file, TCP 9100) and the adapter task.
//!
//! Pure parts (no I/O, no clock): [`encoder`], [`escpos`], [`raster`], [`qr`], [`status`],
//! [`job`]. Async shell: [`transport`], [`adapter`]. See `docs/printer.md`.

pub mod adapter;
pub mod config;
pub mod encoder;
pub mod escpos;
pub mod job;
pub mod qr;
pub mod raster;
pub mod status;
pub mod transport;

pub use adapter::{spawn, PrinterHandle};
pub use config::{
    FlowControl, LayoutConfig, Parity, PrinterConfig, Profile, QrMode, RasterAlign, TransportKind,
};
pub use encoder::{test_ticket, vietnamese_letters, TicketEncoder};
pub use job::PrintJob;
pub use status::PrinterState;
