//! Data-bearer state: up or down, from rtnetlink, the config, or a connection manager.
