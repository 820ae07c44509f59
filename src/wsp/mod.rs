//! WSP connectionless Push and ConfirmedPush PDUs (WAP-230 §8) and the OMNA tables.
