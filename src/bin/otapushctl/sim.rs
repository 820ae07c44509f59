//! `otapushctl sim --pty`: the simulated modem on a pseudo-terminal, for minicom, gammu, `cat`,
//! or `otapushd --device /dev/pts/N`. Driven by commands on standard input (and an optional
//! script file): `deliver HEX`, `report HEX` (status report), `reset`, `fill`, `unlock`,
//! `sleep MS`, `quit`.

use otapush::modem::sim::pty::Pty;
use otapush::modem::sim::{SimHandle, SimOptions};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use tokio::sync::mpsc;

/// What a control line asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SimCommand {
    Deliver(Vec<u8>),
    Report(Vec<u8>),
    Reset,
    Fill,
    Unlock,
    Sleep(u64),
    Quit,
}

/// Parses one control line; blank lines and `#` comments give `Ok(None)`.
pub fn parse_command(line: &str) -> Result<Option<SimCommand>, String> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    let (word, arg) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
    let hex = |a: &str| otapush::hex::decode(a).map_err(|e| format!("{word}: {e}"));
    Ok(Some(match word {
        "deliver" => SimCommand::Deliver(hex(arg)?),
        "report" => SimCommand::Report(hex(arg)?),
        "reset" => SimCommand::Reset,
        "fill" => SimCommand::Fill,
        "unlock" => SimCommand::Unlock,
        "sleep" => {
            SimCommand::Sleep(arg.trim().parse().map_err(|_| format!("sleep: bad milliseconds {arg:?}"))?)
        }
        "quit" | "exit" => SimCommand::Quit,
        other => return Err(format!("unknown command {other:?}")),
    }))
}

/// Carries out one command; `false` for `quit`.
pub async fn apply(handle: &SimHandle, cmd: SimCommand) -> bool {
    match cmd {
        SimCommand::Deliver(p) => handle.deliver(&p),
        SimCommand::Report(p) => handle.deliver_status_report(&p),
        SimCommand::Reset => handle.reset(),
        SimCommand::Fill => {
            let n = handle.fill_storage().len();
            eprintln!("sim: stored {n} generated messages");
        }
        SimCommand::Unlock => handle.unlock(),
        SimCommand::Sleep(ms) => tokio::time::sleep(std::time::Duration::from_millis(ms)).await,
        SimCommand::Quit => return false,
    }
    true
}

/// Opens a pty, prints its slave path on stdout, runs `script` (if any) and then the commands
/// read from stdin, serving the simulator until `quit` (stdin closing keeps it running: stop it
/// with a signal).
pub async fn run_pty(opts: SimOptions, script: Option<PathBuf>) -> std::io::Result<()> {
    let pty = Pty::open()?;
    let handle = SimHandle::new(opts);
    println!("{}", pty.path().display());
    std::io::stdout().flush()?;
    let path = pty.path().to_path_buf();
    handle.attach(pty);
    eprintln!("sim: serving a simulated modem on {}", path.display());
    if let Some(s) = script {
        if !run_script(&handle, &s).await? {
            return Ok(());
        }
    }
    let (tx, mut rx) = mpsc::unbounded_channel::<String>();
    // Standard input is read on a plain thread (the runtime has no io-std).
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    while let Some(line) = rx.recv().await {
        match parse_command(&line) {
            Ok(Some(c)) => {
                if !apply(&handle, c).await {
                    return Ok(());
                }
            }
            Ok(None) => {}
            Err(e) => eprintln!("sim: {e}"),
        }
    }
    std::future::pending::<()>().await;
    Ok(())
}

async fn run_script(handle: &SimHandle, path: &Path) -> std::io::Result<bool> {
    let text = std::fs::read_to_string(path)?;
    for (n, line) in text.lines().enumerate() {
        match parse_command(line) {
            Ok(Some(c)) => {
                if !apply(handle, c).await {
                    return Ok(false);
                }
            }
            Ok(None) => {}
            Err(e) => eprintln!("sim: {}:{}: {e}", path.display(), n + 1),
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_commands() {
        assert_eq!(parse_command("deliver 00AB").unwrap(), Some(SimCommand::Deliver(vec![0, 0xab])));
        assert_eq!(parse_command("  # c").unwrap(), None);
        assert_eq!(parse_command("sleep 20").unwrap(), Some(SimCommand::Sleep(20)));
        assert!(parse_command("deliver 0").is_err());
        assert!(parse_command("explode").is_err());
    }
}
