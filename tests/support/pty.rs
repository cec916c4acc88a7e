//! A raw pseudo-terminal pair for the device emulators (keypad bus simulator, serial
//! printer, LED board): the master side for the emulator, the slave's path for the daemon's
//! adapter, which opens it as it would a real serial port.
#![allow(dead_code)]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::PathBuf;

use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};

/// Opens a pseudo-terminal: (master, slave, slave's path). Both sides are close-on-exec
/// (a daemon the test spawns later does not inherit them, so closing really hangs up),
/// the slave is in raw mode at once (no echo, no line editing, no signal characters),
/// and the master does not block.
pub fn open_raw() -> io::Result<(OwnedFd, OwnedFd, PathBuf)> {
    let pty = nix::pty::openpty(None, None).map_err(io::Error::from)?;
    let (master, slave) = (pty.master, pty.slave);
    for fd in [master.as_raw_fd(), slave.as_raw_fd()] {
        // SAFETY: fcntl on descriptors we own; only the close-on-exec flag changes.
        unsafe {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
    let path = std::fs::read_link(format!("/proc/self/fd/{}", slave.as_raw_fd()))?;
    let mut t = tcgetattr(&slave).map_err(io::Error::from)?;
    cfmakeraw(&mut t);
    tcsetattr(&slave, SetArg::TCSANOW, &t).map_err(io::Error::from)?;
    // SAFETY: fcntl on a descriptor we own; only its status flags change.
    let flags = unsafe { libc::fcntl(master.as_raw_fd(), libc::F_GETFL) };
    if flags < 0
        // SAFETY: as above.
        || unsafe { libc::fcntl(master.as_raw_fd(), libc::F_SETFL, flags | libc::O_NONBLOCK) } < 0
    {
        return Err(io::Error::last_os_error());
    }
    Ok((master, slave, path))
}
