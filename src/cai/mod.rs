//! Push-CAI: registrations, routing, per-registration queues and the D-Bus service.
