//! After a system suspend: the modem may have stored messages while the host slept, and the
//! `+CMTI` it printed then is lost. systemd-logind's `PrepareForSleep(false)` on
//! `org.freedesktop.login1.Manager` says the system resumed; the driver then lists the storage
//! again ([`ModemCommand::Relist`]). A signal, not a timer: nothing runs while idle, and on a
//! bus without logind the match rule never fires (docs/modem.md, After a resume).

use super::driver::ModemCommand;
use futures_lite::StreamExt;
use tokio::sync::mpsc;

#[zbus::proxy(
    interface = "org.freedesktop.login1.Manager",
    default_service = "org.freedesktop.login1",
    default_path = "/org/freedesktop/login1",
    gen_blocking = false
)]
trait Login1Manager {
    /// `start` is true before the system sleeps, false after it resumed.
    #[zbus(signal)]
    fn prepare_for_sleep(&self, start: bool) -> zbus::Result<()>;
}

/// Subscribes to `PrepareForSleep` on `conn` (the match rule is in place when this returns)
/// and spawns a task that sends `Relist` on `commands` after every resume.
pub async fn watch_resume(conn: &zbus::Connection, commands: mpsc::Sender<ModemCommand>) -> zbus::Result<()> {
    let proxy =
        Login1ManagerProxy::builder(conn).cache_properties(zbus::proxy::CacheProperties::No).build().await?;
    let mut signals = proxy.receive_prepare_for_sleep().await?;
    tokio::spawn(async move {
        while let Some(s) = signals.next().await {
            match s.args().map(|a| a.start) {
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
