//! Opening the keypad bus's serial port: RS-485 mode in the kernel when the UART has it, and a
//! tolerant open for ports (pseudo-terminals, some USB adapters) that refuse line settings.

use tokio_serial::{SerialPortBuilderExt, SerialStream};

use super::{BusParity, KeypadBusConfig};

pub(super) fn open_port(cfg: &KeypadBusConfig) -> Result<SerialStream, String> {
    let parity = match cfg.parity {
        BusParity::None => tokio_serial::Parity::None,
        BusParity::Even => tokio_serial::Parity::Even,
        BusParity::Odd => tokio_serial::Parity::Odd,
    };
    let opened = tokio_serial::new(&cfg.path, *cfg.baud.get_ref())
        .data_bits(tokio_serial::DataBits::Eight)
        .parity(parity)
        .stop_bits(tokio_serial::StopBits::One)
        .flow_control(tokio_serial::FlowControl::None)
        .open_native_async();
    // Modem lines are irrelevant here (DE is driven by the transceiver or the kernel's RS-485
    // mode), so no modem-line ioctl is ever issued.
    let opened = match opened {
        Ok(port) => Ok(port),
        Err(first) => open_tolerant(&cfg.path, *cfg.baud.get_ref()).map_err(|second| {
            format!("cannot open serial port {}: {first} (and without insisting on line settings: {second})", cfg.path)
        }),
    }?;
    if cfg.rs485_rts {
        if let Err(e) = enable_kernel_rs485(&opened) {
            tracing::warn!(path = %cfg.path, error = %e, "serial port refused RS-485 mode (RTS as DE); running without it");
        }
    }
    Ok(opened)
}

/// The kernel's `struct serial_rs485` (linux/serial.h), 32 bytes.
#[repr(C)]
struct SerialRs485 {
    flags: u32,
    delay_rts_before_send: u32,
    delay_rts_after_send: u32,
    padding: [u32; 5],
}

const SER_RS485_ENABLED: u32 = 1 << 0;
const SER_RS485_RTS_ON_SEND: u32 = 1 << 1;

/// Switch the UART into RS-485 mode: RTS high while sending, low otherwise.
pub(super) fn enable_kernel_rs485(port: &SerialStream) -> std::io::Result<()> {
    use std::os::fd::AsRawFd;
    let conf = SerialRs485 {
        flags: SER_RS485_ENABLED | SER_RS485_RTS_ON_SEND,
        delay_rts_before_send: 0,
        delay_rts_after_send: 0,
        padding: [0; 5],
    };
    // SAFETY: TIOCSRS485 reads one serial_rs485 from the pointer, which outlives the call.
    let rc = unsafe {
        libc::ioctl(
            port.as_raw_fd(),
            libc::TIOCSRS485 as _,
            &conf as *const SerialRs485,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

/// Open `path` without insisting on its line settings: serialport's open fails when a line
/// ioctl fails, which pseudo-terminals and some USB adapters do for the baud rate. Raw mode and
/// the speed are set best-effort (a pseudo-terminal has no baud rate anyway).
pub(crate) fn open_tolerant(path: &str, baud: u32) -> std::io::Result<SerialStream> {
    use std::os::fd::IntoRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(libc::O_NOCTTY | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)?;
    let fd = file.into_raw_fd();
    let speed = match baud {
        1200 => libc::B1200,
        2400 => libc::B2400,
        4800 => libc::B4800,
        9600 => libc::B9600,
        38_400 => libc::B38400,
        57_600 => libc::B57600,
        115_200 => libc::B115200,
        230_400 => libc::B230400,
        _ => libc::B19200,
    };
    // SAFETY: `fd` is an open descriptor we own; termios is plain data filled by tcgetattr
    // before it is used. Failures are tolerated on purpose (see above).
    unsafe {
        let mut t: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd, &mut t) == 0 {
            libc::cfmakeraw(&mut t);
            t.c_cflag |= libc::CREAD | libc::CLOCAL;
            let _ = libc::cfsetspeed(&mut t, speed);
            let _ = libc::tcsetattr(fd, libc::TCSANOW, &t);
        }
    }
    // SAFETY: ownership of `fd` moves into the port, which closes it.
    let port = unsafe { <serialport::TTYPort as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    SerialStream::try_from(port).map_err(std::io::Error::other)
}
