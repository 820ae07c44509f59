//! `otapushd`: wires the modem, the receive path, the store, the streams and the D-Bus service.
