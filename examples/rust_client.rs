//! A Push-CAI client in Rust, with nothing but zbus and tokio: it serves an agent
//! (`org.otapush.Push1.Agent`), registers it with a filter, prints each message and
//! acknowledges it by returning normally. When `otapushd` restarts it registers again.
//!
//! ```text
//! cargo run --example rust_client -- [--system | --session | --address ADDR]
//!     [--app-id URN] [--count N]
//! ```

use futures_lite::StreamExt;
use std::collections::HashMap;
use tokio::sync::mpsc;
use zbus::zvariant::{ObjectPath, OwnedObjectPath, OwnedValue, Value};

/// Where this client's agent lives on its own connection.
pub const AGENT_PATH: &str = "/org/example/PushAgent";

#[zbus::proxy(
    interface = "org.otapush.Push1.Manager",
    default_service = "org.otapush.Push1",
    default_path = "/org/otapush/Push1",
    gen_blocking = false
)]
trait Manager {
    fn register(
        &self,
        filter: HashMap<&str, Value<'_>>,
        agent: &ObjectPath<'_>,
    ) -> zbus::Result<OwnedObjectPath>;
    fn unregister(&self, registration: &ObjectPath<'_>) -> zbus::Result<()>;
}

/// The agent: prints each message and hands its id to the main loop.
struct Agent {
    received: mpsc::UnboundedSender<String>,
}

fn text(meta: &HashMap<String, OwnedValue>, key: &str) -> String {
    match meta.get(key).map(|v| &**v) {
        Some(Value::Str(s)) => s.to_string(),
        Some(other) => other.to_string(),
        None => "-".into(),
    }
}

#[zbus::interface(name = "org.otapush.Push1.Agent", introspection_docs = false)]
impl Agent {
    /// Returning normally acknowledges the message. (To refuse one for good, return the error
    /// `org.otapush.Push1.Error.Rejected`; any other error makes the daemon retry later.)
    async fn deliver(&self, id: String, meta: HashMap<String, OwnedValue>, body: Vec<u8>) {
        let shown = match std::str::from_utf8(&body) {
            Ok(s) if text(&meta, "ContentType").starts_with("text/") => format!("{s:?}"),
            _ => format!("{} octets", body.len()),
        };
        println!(
            "deliver {id}: {} {} {} from {}: {shown}",
            text(&meta, "Kind"),
            text(&meta, "ApplicationId"),
            text(&meta, "ContentType"),
            text(&meta, "Originator"),
        );
        let _ = self.received.send(id);
    }

    async fn release(&self) {
        println!("released by otapushd");
    }
}

/// Serves the agent on `conn`, registers it (for `app_id`, or everything), and acknowledges
/// messages until `count` have arrived (forever with `None`). Registers again whenever
/// `org.otapush.Push1` reappears on the bus. Gives the ids received.
pub async fn run(
    conn: &zbus::Connection,
    app_id: Option<&str>,
    count: Option<usize>,
) -> zbus::Result<Vec<String>> {
    let (tx, mut rx) = mpsc::unbounded_channel();
    conn.object_server().at(AGENT_PATH, Agent { received: tx }).await?;
    let manager = ManagerProxy::new(conn).await?;
    let filter = || {
        let mut f: HashMap<&str, Value<'_>> = HashMap::new();
        if let Some(a) = app_id {
            f.insert("ApplicationId", Value::from(a));
        }
        f
    };
    let agent = ObjectPath::try_from(AGENT_PATH)?;
    let mut registration = manager.register(filter(), &agent).await?;
    println!("registered {registration}");
    let dbus = zbus::fdo::DBusProxy::new(conn).await?;
    let mut daemon_changes = dbus.receive_name_owner_changed_with_args(&[(0, "org.otapush.Push1")]).await?;
    let mut ids = Vec::new();
    while count.is_none_or(|c| ids.len() < c) {
        tokio::select! {
            Some(id) = rx.recv() => ids.push(id),
            Some(change) = daemon_changes.next() => {
                if change.args()?.new_owner().is_some() {
                    registration = manager.register(filter(), &agent).await?;
                    println!("otapushd restarted; registered again {registration}");
                }
            }
        }
    }
    manager.unregister(&registration.as_ref()).await?;
    Ok(ids)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut builder = zbus::connection::Builder::session()?;
    let (mut app_id, mut count) = (None, None);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--system" => builder = zbus::connection::Builder::system()?,
            "--session" => builder = zbus::connection::Builder::session()?,
            "--address" => {
                builder = zbus::connection::Builder::address(args.next().ok_or("--address ADDR")?.as_str())?
            }
            "--app-id" => app_id = Some(args.next().ok_or("--app-id URN")?),
            "--count" => count = Some(args.next().ok_or("--count N")?.parse()?),
            other => return Err(format!("unknown argument {other:?}").into()),
        }
    }
    let conn = builder.build().await?;
    run(&conn, app_id.as_deref(), count).await?;
    Ok(())
}
