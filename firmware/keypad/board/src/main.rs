//! layso counter keypad on a Raspberry Pi Pico: wires the RP2040's pins, UART and timer to the
//! board-independent `layso_keypad::Keypad` state machine. All protocol logic lives there.
//!
//! Pins (all buttons and switches to ground, internal pull-ups):
//! - GP0 UART0 TX → RS-485 DI, GP1 UART0 RX ← RS-485 RO, GP2 → DE and /RE (high = transmit)
//! - GP3..GP9 buttons Next, Recall, Skip, Complete, Transfer, Pause, Open
//! - GP10..GP14 address switches (bit 0..4, ON = closed to ground); all off = fallback address
//! - GP15..GP21 segments a..g (high = lit, through resistors), GP22, GP26, GP27, GP28 digit
//!   1..4 common cathodes through NPN drivers (high = digit on)

#![no_std]
#![no_main]

use embedded_hal::digital::{InputPin, OutputPin};
use hal::fugit::{ExtU32, RateExtU32};
use hal::gpio::{DynPinId, FunctionSioInput, FunctionSioOutput, Pin, PullDown, PullUp};
use hal::pac;
use hal::uart::{DataBits, StopBits, UartConfig, UartPeripheral};
use hal::Clock;
use layso_keypad::address::address_from_switches;
use layso_keypad::frame::Adu;
use layso_keypad::rs485::{Rs485Tx, TxAction};
use layso_keypad::segments::Multiplexer;
use layso_keypad::{Keypad, KeypadConfig};
use rp2040_hal as hal;

/// Second-stage bootloader for the Pico's W25Q080 flash.
#[link_section = ".boot2"]
#[used]
pub static BOOT2_FIRMWARE: [u8; 256] = rp2040_boot2::BOOT_LOADER_W25Q080;

const XOSC_HZ: u32 = 12_000_000;
/// Bus speed; must match the daemon's `baud`.
const BAUD: u32 = 19_200;
/// Address used when every address switch is off (no address kept in flash yet).
const FALLBACK_ADDRESS: u8 = 247;
/// Transceiver enable-to-data setup and last-bit-to-release hold times.
const DE_SETUP_US: u64 = 20;
const DE_HOLD_US: u64 = 60;

type In = Pin<DynPinId, FunctionSioInput, PullUp>;
type Out = Pin<DynPinId, FunctionSioOutput, PullDown>;

/// The named pins of `pins` as pulled-up inputs, type-erased so a group fits one array.
macro_rules! pull_up_inputs {
    ($pins:ident: $($gpio:ident),+) => {
        [$($pins.$gpio.into_pull_up_input().into_dyn_pin()),+]
    };
}

/// The named pins of `pins` as push-pull outputs, type-erased so a group fits one array.
macro_rules! push_pull_outputs {
    ($pins:ident: $($gpio:ident),+) => {
        [$($pins.$gpio.into_push_pull_output().into_dyn_pin()),+]
    };
}

#[panic_handler]
fn panic(_: &core::panic::PanicInfo) -> ! {
    // Reboot: the keypad comes back with a new epoch, its queue empty, within milliseconds.
    cortex_m::peripheral::SCB::sys_reset()
}

/// Levels of `pins` as a bit mask, bit i set when pin i reads low (closed to ground).
fn closed_mask(pins: &mut [In]) -> u8 {
    let mut m = 0u8;
    for (i, p) in pins.iter_mut().enumerate() {
        if p.is_low().unwrap_or(false) {
            m |= 1 << i;
        }
    }
    m
}

#[hal::entry]
fn main() -> ! {
    let Some(mut pac) = pac::Peripherals::take() else {
        cortex_m::peripheral::SCB::sys_reset()
    };
    let mut watchdog = hal::Watchdog::new(pac.WATCHDOG);
    let Ok(clocks) = hal::clocks::init_clocks_and_plls(
        XOSC_HZ,
        pac.XOSC,
        pac.CLOCKS,
        pac.PLL_SYS,
        pac.PLL_USB,
        &mut pac.RESETS,
        &mut watchdog,
    ) else {
        // The crystal did not start: reboot and try again.
        cortex_m::peripheral::SCB::sys_reset()
    };

    // Boot epoch and first sequence number from the ring oscillator's jitter.
    let rosc = hal::rosc::RingOscillator::new(pac.ROSC).initialize();
    let mut random = 0u32;
    for _ in 0..24 {
        random = (random << 1) | u32::from(rosc.get_random_bit());
    }
    let epoch = (random >> 16) as u8;
    let first_seq = random as u16;

    let sio = hal::Sio::new(pac.SIO);
    let pins = hal::gpio::Pins::new(
        pac.IO_BANK0,
        pac.PADS_BANK0,
        sio.gpio_bank0,
        &mut pac.RESETS,
    );
    let timer = hal::Timer::new(pac.TIMER, &mut pac.RESETS, &clocks);

    let mut de: Out = pins.gpio2.into_push_pull_output().into_dyn_pin();
    let _ = de.set_low();
    let mut buttons: [In; 7] =
        pull_up_inputs!(pins: gpio3, gpio4, gpio5, gpio6, gpio7, gpio8, gpio9);
    let mut switches: [In; 5] = pull_up_inputs!(pins: gpio10, gpio11, gpio12, gpio13, gpio14);
    let mut segments: [Out; 7] =
        push_pull_outputs!(pins: gpio15, gpio16, gpio17, gpio18, gpio19, gpio20, gpio21);
    let mut digits: [Out; 4] = push_pull_outputs!(pins: gpio22, gpio26, gpio27, gpio28);

    // Let the pull-ups settle before reading the switches.
    let settle = timer.get_counter().ticks() + 1_000;
    while timer.get_counter().ticks() < settle {}
    let (address, fallback) = address_from_switches(closed_mask(&mut switches), FALLBACK_ADDRESS);

    let uart_pins = (pins.gpio0.into_function(), pins.gpio1.into_function());
    let Ok(uart) = UartPeripheral::new(pac.UART0, uart_pins, &mut pac.RESETS).enable(
        UartConfig::new(BAUD.Hz(), DataBits::Eight, None, StopBits::One),
        clocks.peripheral_clock.freq(),
    ) else {
        panic!("UART configuration rejected")
    };

    let mut keypad = Keypad::new(KeypadConfig {
        address,
        fallback_address: fallback,
        epoch,
        first_seq,
        baud: BAUD,
        debounce_ms: 10,
    });
    let mut dir = Rs485Tx::new(DE_SETUP_US, DE_HOLD_US);
    let mut mux = Multiplexer::default();
    let mut pending: Option<Adu> = None;
    let mut last_ms = u32::MAX;
    watchdog.start(500_000.micros());

    // The main loop runs for the life of the device; every step inside is bounded.
    loop {
        watchdog.feed();
        let now_us = timer.get_counter().ticks();
        let now_ms = (now_us / 1000) as u32;

        if !dir.is_transmitting() {
            let mut buf = [0u8; 32];
            // Errors (framing, parity, break, overrun) drop the bytes; the CRC and the master's
            // retry take care of the frame.
            if let Ok(n) = uart.read_raw(&mut buf) {
                for &b in &buf[..n] {
                    if let Some(reply) = keypad.on_byte(b, now_us) {
                        pending = Some(reply);
                    }
                }
            }
            if let Some(reply) = keypad.poll(now_us) {
                pending = Some(reply);
            }
            if pending.is_some() && dir.start(now_us) == TxAction::DriveEnable {
                let _ = de.set_high();
            }
        }
        match dir.poll(now_us, !uart.uart_is_busy()) {
            TxAction::StartWrite => {
                if let Some(reply) = pending.take() {
                    uart.write_full_blocking(reply.as_bytes());
                }
            }
            TxAction::Release => {
                let _ = de.set_low();
            }
            TxAction::DriveEnable | TxAction::None => {}
        }

        if now_ms != last_ms {
            last_ms = now_ms;
            keypad.scan(closed_mask(&mut buttons), now_ms);
            // One digit per millisecond: 250 Hz refresh, no flicker.
            let (digit, segs) = mux.step(keypad.segments(now_ms));
            for d in digits.iter_mut() {
                let _ = d.set_low();
            }
            for (i, s) in segments.iter_mut().enumerate() {
                let _ = if segs & (1 << i) != 0 {
                    s.set_high()
                } else {
                    s.set_low()
                };
            }
            let _ = digits[digit].set_high();
        }
    }
}
