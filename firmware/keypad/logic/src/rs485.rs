//! RS-485 driver-enable sequencing for a half-duplex transceiver (MAX485-style DE/RE pin).
//!
//! Drive the bus, wait the transceiver's setup time, write the frame, wait until the UART has
//! shifted out the last stop bit (not merely emptied its FIFO), hold one more moment, release.

/// What the board must do now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TxAction {
    /// Nothing to do.
    None,
    /// Set the direction pin to transmit (DE high).
    DriveEnable,
    /// Write the frame's bytes into the UART.
    StartWrite,
    /// Set the direction pin back to receive (DE low).
    Release,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Receive,
    Setup { until: u64 },
    Sending,
    Hold { until: u64 },
}

/// The direction-pin state machine; time in microseconds, passed in.
#[derive(Clone, Debug)]
pub struct Rs485Tx {
    state: State,
    setup_us: u64,
    hold_us: u64,
}

impl Rs485Tx {
    /// A sequencer in receive mode with the given setup and hold times.
    pub fn new(setup_us: u64, hold_us: u64) -> Self {
        Rs485Tx {
            state: State::Receive,
            setup_us,
            hold_us,
        }
    }

    /// Begin sending a frame at `now_us`. Returns [`TxAction::DriveEnable`], or `None` if a frame
    /// is already being sent (the caller must not start another one).
    pub fn start(&mut self, now_us: u64) -> TxAction {
        if self.state != State::Receive {
            return TxAction::None;
        }
        self.state = State::Setup {
            until: now_us + self.setup_us,
        };
        TxAction::DriveEnable
    }

    /// Advance at `now_us`; `uart_idle` is true once the UART has shifted out every bit.
    pub fn poll(&mut self, now_us: u64, uart_idle: bool) -> TxAction {
        match self.state {
            State::Receive => TxAction::None,
            State::Setup { until } if now_us >= until => {
                self.state = State::Sending;
                TxAction::StartWrite
            }
            State::Setup { .. } => TxAction::None,
            State::Sending if uart_idle => {
                self.state = State::Hold {
                    until: now_us + self.hold_us,
                };
                self.poll(now_us, uart_idle)
            }
            State::Sending => TxAction::None,
            State::Hold { until } if now_us >= until => {
                self.state = State::Receive;
                TxAction::Release
            }
            State::Hold { .. } => TxAction::None,
        }
    }

    /// True while the bus is driven (the receiver is disabled, so received bytes are not ours).
    pub fn is_transmitting(&self) -> bool {
        self.state != State::Receive
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_sequence() {
        let mut d = Rs485Tx::new(10, 50);
        assert!(!d.is_transmitting());
        assert_eq!(d.start(1000), TxAction::DriveEnable);
        assert_eq!(
            d.start(1001),
            TxAction::None,
            "no second frame while sending"
        );
        assert_eq!(d.poll(1005, true), TxAction::None, "setup time not over");
        assert_eq!(d.poll(1010, true), TxAction::StartWrite);
        assert_eq!(d.poll(1500, false), TxAction::None, "still shifting out");
        assert_eq!(d.poll(2000, true), TxAction::None, "hold time starts");
        assert!(d.is_transmitting());
        assert_eq!(d.poll(2049, true), TxAction::None);
        assert_eq!(d.poll(2050, true), TxAction::Release);
        assert!(!d.is_transmitting());
        assert_eq!(d.poll(3000, true), TxAction::None);
    }

    #[test]
    fn zero_hold_releases_at_once() {
        let mut d = Rs485Tx::new(0, 0);
        assert_eq!(d.start(5), TxAction::DriveEnable);
        assert_eq!(d.poll(5, false), TxAction::StartWrite);
        assert_eq!(d.poll(9, true), TxAction::Release);
    }
}
