//! oslo.policy rules: one rule string, and whole policy files (YAML or JSON).
#![no_main]

use keystone_rs::policy::file::parse_policy_document;
use keystone_rs::policy::parse_text;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_text(&text);
    let _ = parse_policy_document(&text);
});
