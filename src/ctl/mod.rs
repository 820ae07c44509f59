//! The commands of `otapushctl`, as library functions the binary and tests call. `bus` (the
//! Manager client commands) and `private_bus` (the demo's bus) are documented API; the codecs
//! they wrap live in otapush-proto.

pub mod bus;
pub mod decode_push;
pub mod decode_sms;
pub mod decode_sse;
pub mod decode_wsp;
pub mod demo;
/// `otapushctl encode push`: [`otapush_proto::push_encode`] with the system clock.
pub mod encode {
    pub use otapush_proto::push_encode::{app_id_urn, parse_address, PushRequest};
    use otapush_proto::sms::Timestamp;

    /// The current time as a service-centre time stamp in UTC.
    pub fn now_timestamp() -> Timestamp {
        otapush_proto::push_encode::timestamp_from_unix((crate::time::now_ms() / 1000) as i64)
    }

    /// [`otapush_proto::push_encode::encode_push`], a request without a time stamp sent now.
    pub fn encode_push(req: &PushRequest) -> Result<Vec<Vec<u8>>, String> {
        otapush_proto::push_encode::encode_push(req, now_timestamp())
    }
}
pub mod json;
pub mod private_bus;
