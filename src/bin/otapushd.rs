//! `otapushd`: the otapush daemon. See the README and `otapushd --help`.

use clap::Parser;
use std::path::PathBuf;

/// The otapush daemon: receives SMS/WAP Push from the modem and event streams over HTTP, and
/// delivers them to registered applications over D-Bus (org.otapush.Push1).
#[derive(Parser, Debug)]
#[command(name = "otapushd", version)]
struct Args {
    /// Configuration file (TOML). Without it, defaults serve a developer on a laptop:
    /// the simulated modem, the session bus and a state dir under the user's data dir.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Modem device (a tty path, or "sim"); overrides [modem] device.
    #[arg(long)]
    device: Option<String>,
    /// D-Bus bus: "system", "session" or an address; overrides [dbus] bus.
    #[arg(long)]
    bus: Option<String>,
    /// State directory; overrides [store] dir.
    #[arg(long = "state-dir")]
    state_dir: Option<PathBuf>,
}

fn main() {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"))
        .format_timestamp_millis()
        .init();
    let args = Args::parse();
    let overrides =
        otapush::daemon::Overrides { device: args.device, bus: args.bus, state_dir: args.state_dir };
    let code = match otapush::daemon::main(args.config, overrides) {
        Ok(()) => 0,
        Err(e) => {
            log::error!("{e}");
            1
        }
    };
    std::process::exit(code);
}
