//! Fernet tokens: the string a client sends (base64, envelope, HMAC, AES) and the msgpack
//! payload inside (only reachable with a valid key, so fuzzed directly as well).
#![no_main]

use keystone_rs::fernet::{KeyRing, PayloadCodec, decode_token};
use libfuzzer_sys::fuzz_target;
use std::sync::LazyLock;

static RING: LazyLock<KeyRing> = LazyLock::new(|| {
    KeyRing::from_keys(&[
        "QEFCQ0RFRkdISUpLTE1OT1BRUlNUVVZXWFlaW1xdXl8=",
        "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=",
        "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=",
    ])
    .expect("keys")
});

static CODEC: LazyLock<PayloadCodec> = LazyLock::new(|| {
    PayloadCodec::new(
        [
            "external",
            "password",
            "token",
            "oauth1",
            "mapped",
            "application_credential",
        ]
        .map(String::from)
        .to_vec(),
        "default",
    )
});

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else {
        return;
    };
    if selector & 1 == 0 {
        let _ = CODEC.unpack(rest);
    } else {
        let _ = decode_token(&RING, &CODEC, &String::from_utf8_lossy(rest));
    }
});
