//! The checks every token's claims pass, whether they came signed in a JWT or from the
//! issuer's introspection endpoint: the issuer, an audience of ours, and the times.

use super::settings::OidcSettings;
use serde_json::{Map, Value};

/// A NumericDate claim (RFC 7519 §2): a JSON number of seconds. Absent is `Ok(None)`.
fn time_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, String> {
    match claims.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64))
            .map(Some)
            .ok_or_else(|| format!("claim {name} is not a time")),
        Some(_) => Err(format!("claim {name} is not a time")),
    }
}

/// `iss` is the configured issuer (exactly, OIDC Core §3.1.3.7), `aud` (a string or an
/// array) names one of the configured audiences, `exp` is present and not past, and `nbf`
/// and `iat`, when present, are not in the future; times with `leeway` seconds of slack.
pub fn check(claims: &Map<String, Value>, settings: &OidcSettings, now: i64) -> Result<(), String> {
    check_for(claims, settings, &settings.audiences, now)
}

/// [`check`] with other acceptable audiences (an ID token's is the client id).
pub fn check_for(
    claims: &Map<String, Value>,
    settings: &OidcSettings,
    accepted: &[String],
    now: i64,
) -> Result<(), String> {
    match claims.get("iss") {
        Some(Value::String(iss)) if *iss == settings.issuer => {}
        Some(Value::String(iss)) => {
            return Err(format!("token issuer {iss} is not {}", settings.issuer));
        }
        _ => return Err("token has no iss".into()),
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(s)) => vec![s.as_str()],
        Some(Value::Array(a)) => a.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    if !audiences.iter().any(|a| accepted.iter().any(|ok| ok == a)) {
        return Err(format!("token audience {audiences:?} is not ours"));
    }
    let leeway = i64::try_from(settings.leeway).unwrap_or(i64::MAX);
    let exp = time_claim(claims, "exp")?.ok_or("token has no exp")?;
    if exp.saturating_add(leeway) <= now {
        return Err("token expired".into());
    }
    if let Some(nbf) = time_claim(claims, "nbf")?
        && nbf.saturating_sub(leeway) > now
    {
        return Err("token not valid yet (nbf)".into());
    }
    if let Some(iat) = time_claim(claims, "iat")?
        && iat.saturating_sub(leeway) > now
    {
        return Err("token issued in the future (iat)".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn settings() -> OidcSettings {
        OidcSettings::from_section("openid_connect:idp:openid", |o| match o {
            "issuer" => Some("https://idp.example".into()),
            "audiences" => Some("keystone, urn:ks".into()),
            "leeway" => Some("10".into()),
            _ => None,
        })
        .unwrap()
    }

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn a_good_token_passes_and_each_defect_is_refused() {
        let s = settings();
        let now = 1_000_000;
        let good = json!({"iss": "https://idp.example", "aud": ["x", "urn:ks"], "exp": now + 5,
            "nbf": now, "iat": now});
        check(&claims(good.clone()), &s, now).unwrap();
        // Within the leeway either side.
        check(&claims(good.clone()), &s, now + 14).unwrap();
        let mut future = good.clone();
        future["nbf"] = json!(now + 9);
        future["iat"] = json!(now + 9);
        check(&claims(future), &s, now).unwrap();

        let defects = [
            ("iss", json!("https://idp.example/")),
            ("iss", json!(null)),
            ("aud", json!("other")),
            ("aud", json!(["other", 1])),
            ("exp", json!(now - 10)),
            ("exp", json!("soon")),
            ("nbf", json!(now + 11)),
            ("iat", json!(now + 11)),
            ("exp", json!(i64::MIN)),
            ("nbf", json!(i64::MAX)),
        ];
        for (name, value) in defects {
            let mut bad = good.clone();
            bad[name] = value.clone();
            assert!(check(&claims(bad), &s, now).is_err(), "{name} = {value}");
        }
        for name in ["iss", "aud", "exp"] {
            let mut bad = claims(good.clone());
            bad.remove(name);
            assert!(check(&bad, &s, now).is_err(), "without {name}");
        }
    }
}
