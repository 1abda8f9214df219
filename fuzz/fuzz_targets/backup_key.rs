#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| twostep_fuzz::targets::backup_key(data));
