#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| twostep_fuzz::targets::document_image(data));
