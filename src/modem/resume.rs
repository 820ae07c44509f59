//! After a system suspend: the modem may have stored messages while the host slept, and the
//! `+CMTI` it printed then is lost. systemd-logind's `PrepareForSleep(false)` on
//! `org.freedesktop.login1.Manager` says the system resumed; the driver then lists the storage
//! again ([`ModemCommand::Relist`]). A signal, not a timer: nothing runs while idle, and on a
//! bus without logind the match rule never fires (docs/modem.md, After a resume).

use super::driver::ModemCommand;
use futures_lite::StreamExt;
use tokio::sync::mpsc;

const LOGIND: &str = "org.freedesktop.login1";
const LOGIND_PATH: &str = "/org/freedesktop/login1";
const LOGIND_MANAGER: &str = "org.freedesktop.login1.Manager";

/// Subscribes to `PrepareForSleep` on `conn` (the match rule is in place when this returns)
/// and spawns a task that sends `Relist` on `commands` after every resume.
pub async fn watch_resume(conn: &zbus::Connection, commands: mpsc::Sender<ModemCommand>) -> zbus::Result<()> {
    // A match rule without a proxy: one AddMatch. A proxy first resolves logind's owner (two
    // more round trips at start-up). The bus filters on the sender (zbus cannot match a
    // well-known one); a PrepareForSleep from another peer would cost one storage listing.
    let rule = zbus::MatchRule::builder()
        .msg_type(zbus::message::Type::Signal)
        .sender(LOGIND)?
        .path(LOGIND_PATH)?
        .interface(LOGIND_MANAGER)?
        .member("PrepareForSleep")?
        .build();
    let mut signals = zbus::MessageStream::for_match_rule(rule, conn, None).await?;
    tokio::spawn(async move {
        while let Some(msg) = signals.next().await {
            let Ok(msg) = msg else { continue };
            // `start` is true before the system sleeps, false after it resumed.
            match msg.body().deserialize::<bool>() {
                Ok(false) => {
                    log::info!("system resumed (logind PrepareForSleep false)");
                    // A full channel holds a Relist already: one listing covers both.
                    let _ = commands.try_send(ModemCommand::Relist);
                }
                Ok(true) => log::debug!("system about to sleep"),
                Err(e) => log::warn!("logind PrepareForSleep with bad arguments: {e}"),
            }
        }
    });
    Ok(())
}
