#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| otapush_fuzz::sms_view(data));
