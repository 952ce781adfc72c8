//! `Authorization: OAuth …` headers and the query/form parameters signed with them.
#![no_main]

use keystone_rs::oauth1::signature::{OAuthHeader, normalized_parameters, query_params};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    if let Ok(header) = OAuthHeader::parse(&text) {
        let _ = normalized_parameters(&header.params);
    }
    let _ = normalized_parameters(&query_params(&text));
});
