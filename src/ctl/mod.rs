//! The commands of `otapushctl`, as library functions the binary and tests call.

pub mod bus;
