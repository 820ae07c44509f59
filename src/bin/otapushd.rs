//! `otapushd`: the otapush daemon. See the README and `otapushd --help`.
//!
//! Its four options are parsed by hand: clap costs the daemon ~150 KiB on the board (see
//! BENCHMARKS.md, footprint), and `otapushctl` keeps it.

use std::path::PathBuf;

const HELP: &str = "\
The otapush daemon: receives SMS/WAP Push from the modem and event streams over HTTP, and
delivers them to registered applications over D-Bus (org.otapush.Push1).

Usage: otapushd [OPTIONS]

Options:
      --config <CONFIG>        Configuration file (TOML). Without it, defaults serve a developer
                               on a laptop: the simulated modem, the session bus and a state dir
                               under the user's data dir
      --device <DEVICE>        Modem device (a tty path, or \"sim\"); overrides [modem] device
      --bus <BUS>              D-Bus bus: \"system\", \"session\" or an address; overrides [dbus] bus
      --state-dir <STATE_DIR>  State directory; overrides [store] dir
  -h, --help                   Print help
  -V, --version                Print version
";

#[derive(Debug, Default, PartialEq)]
struct Args {
    config: Option<PathBuf>,
    device: Option<String>,
    bus: Option<String>,
    state_dir: Option<PathBuf>,
}

enum Parsed {
    Run(Args),
    Print(String),
}

/// `--name value` or `--name=value`, each option at most once.
fn parse(argv: impl IntoIterator<Item = String>) -> Result<Parsed, String> {
    let mut args = Args::default();
    let mut argv = argv.into_iter();
    while let Some(arg) = argv.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(Parsed::Print(HELP.to_string())),
            "-V" | "--version" => {
                return Ok(Parsed::Print(format!("otapushd {}\n", env!("CARGO_PKG_VERSION"))))
            }
            _ => {}
        }
        let (name, inline) = match arg.split_once('=') {
            Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
            _ => (arg.clone(), None),
        };
        let slot = match name.as_str() {
            "--config" | "--state-dir" | "--device" | "--bus" => name,
            _ => return Err(format!("unexpected argument '{arg}'")),
        };
        let value = match inline {
            Some(v) => v,
            None => argv.next().ok_or_else(|| format!("a value is required for '{slot} <VALUE>'"))?,
        };
        let taken = match slot.as_str() {
            "--config" => args.config.replace(PathBuf::from(value)).is_some(),
            "--state-dir" => args.state_dir.replace(PathBuf::from(value)).is_some(),
            "--device" => args.device.replace(value).is_some(),
            _ => args.bus.replace(value).is_some(),
        };
        if taken {
            return Err(format!("the argument '{slot}' cannot be used multiple times"));
        }
    }
    Ok(Parsed::Run(args))
}

fn main() {
    let args = match parse(std::env::args().skip(1)) {
        Ok(Parsed::Run(args)) => args,
        Ok(Parsed::Print(text)) => {
            print!("{text}");
            return;
        }
        Err(e) => {
            eprintln!("error: {e}\n\nUsage: otapushd [OPTIONS]\n\nFor more information, try '--help'.");
            std::process::exit(2);
        }
    };
    otapush::logging::init("info");
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

#[cfg(test)]
mod tests {
    use super::*;

    fn run(argv: &[&str]) -> Result<Args, String> {
        match parse(argv.iter().map(|s| s.to_string()))? {
            Parsed::Run(a) => Ok(a),
            Parsed::Print(t) => Err(format!("printed {t}")),
        }
    }

    #[test]
    fn options_in_both_forms() {
        let a = run(&["--config", "/etc/otapush/otapushd.toml", "--device=sim", "--bus", "system"]).unwrap();
        assert_eq!(a.config, Some(PathBuf::from("/etc/otapush/otapushd.toml")));
        assert_eq!(a.device.as_deref(), Some("sim"));
        assert_eq!(a.bus.as_deref(), Some("system"));
        assert_eq!(a.state_dir, None);
        // An address contains '=': only the first one splits.
        let a = run(&["--bus=unix:path=/run/dbus/system_bus_socket", "--state-dir=/var/lib/x"]).unwrap();
        assert_eq!(a.bus.as_deref(), Some("unix:path=/run/dbus/system_bus_socket"));
        assert_eq!(a.state_dir, Some(PathBuf::from("/var/lib/x")));
        assert_eq!(run(&[]).unwrap(), Args::default());
    }

    #[test]
    fn errors_name_the_argument() {
        assert!(run(&["--devic", "sim"]).unwrap_err().contains("'--devic'"));
        assert!(run(&["--config"]).unwrap_err().contains("'--config <VALUE>'"));
        assert!(run(&["--bus", "a", "--bus=b"]).unwrap_err().contains("multiple"));
        assert!(run(&["extra"]).unwrap_err().contains("'extra'"));
    }

    #[test]
    fn help_and_version_print() {
        assert!(matches!(parse(["--help".to_string()]), Ok(Parsed::Print(t)) if t.contains("--state-dir")));
        assert!(matches!(parse(["-V".to_string()]), Ok(Parsed::Print(t)) if t.starts_with("otapushd 0.")));
    }
}
