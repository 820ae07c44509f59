//! The delivery task of one connected registration: takes the head of its queue, calls
//! `Deliver` on its agent (one call in flight, in queue order), and acts on the verdict.
//! Each registration has its own task, so a slow or dead agent delays nobody else.

use super::delivery::{verdict, Backoff, Verdict};
use super::meta::meta;
use super::registry::{AgentRef, Registry};
use super::AGENT_INTERFACE;
use crate::time::now_ms;
use std::sync::Arc;
use tokio::sync::Notify;

/// Runs until aborted (the registration ended, was taken over, or the service stopped).
pub(super) async fn run(
    registry: Arc<Registry>,
    conn: zbus::Connection,
    id: i64,
    agent: AgentRef,
    wake: Arc<Notify>,
) {
    let mut backoff = Backoff::new();
    let timeout = registry.settings.deliver_timeout;
    // Held while the queue has messages: the last task to drain lets memory go back.
    let mut busy = None;
    loop {
        let head = match registry.store.queue_head(id, now_ms()) {
            Ok(Some(head)) => {
                busy.get_or_insert_with(|| registry.quiet.busy());
                head
            }
            Ok(None) => {
                busy = None;
                // `notify_one` stores a permit, so a commit between the query and here is not lost.
                wake.notified().await;
                continue;
            }
            Err(e) => {
                let d = backoff.next_delay();
                log::error!("registration {id}: store: {e}; retrying in {d:?}");
                tokio::time::sleep(d).await;
                continue;
            }
        };
        let m = &head.message;
        let args = (m.id.as_str(), meta(m), m.body.as_slice());
        let call = conn.call_method(
            Some(agent.bus_name.as_str()),
            agent.path.as_str(),
            Some(AGENT_INTERFACE),
            "Deliver",
            &args,
        );
        match verdict(tokio::time::timeout(timeout, call).await, timeout) {
            Verdict::Ack => {
                log::debug!("registration {id}: message {} delivered", m.id);
                if let Err(e) = registry.store.remove_queued_async(head.seq).await {
                    // Still at the head: it comes again (same id), after a pause, not in a loop.
                    let d = backoff.next_delay();
                    log::error!(
                        "registration {id}: message {} delivered, but store: {e}; again in {d:?}",
                        m.id
                    );
                    tokio::time::sleep(d).await;
                } else {
                    backoff.reset();
                }
            }
            Verdict::Rejected(why) => {
                log::info!("registration {id}: agent rejected message {} ({why}); not sent again", m.id);
                if let Err(e) = registry.store.remove_queued_async(head.seq).await {
                    let d = backoff.next_delay();
                    log::error!("registration {id}: store: {e}; retrying in {d:?}");
                    tokio::time::sleep(d).await;
                } else {
                    backoff.reset();
                }
            }
            Verdict::Retry(why) => {
                let d = backoff.next_delay();
                log::info!("registration {id}: message {} not delivered ({why}); retrying in {d:?}", m.id);
                tokio::time::sleep(d).await;
            }
        }
    }
}
