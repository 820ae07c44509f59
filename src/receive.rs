//! The receive path: raw SMS PDUs → decoded SMS → reassembled WDP datagrams → messages.
