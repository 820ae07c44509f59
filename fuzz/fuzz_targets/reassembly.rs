#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| otapush_fuzz::reassembly(data));
