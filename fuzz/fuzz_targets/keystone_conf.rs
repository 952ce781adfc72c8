//! keystone.conf: INI parsing and every typed option (including password_regex and the
//! rate limiter's trusted proxies).
#![no_main]

use keystone_rs::config::Config;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Config::parse(&String::from_utf8_lossy(data), None);
});
