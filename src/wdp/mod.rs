//! WDP over SMS (WAP-259): port addressing and reassembly of concatenated segments.
