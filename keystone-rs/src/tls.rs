//! TLS serving (`[ssl]`): the rustls server configuration, and the client certificate of
//! each connection for `tls_client_auth` and certificate-bound tokens (RFC 8705).
//!
//! Plain HTTP stays the default; `[ssl] certfile` turns TLS on. With `ca_certs` a client
//! may present a certificate issued by those CAs (verified during the handshake); only
//! `cert_required` makes it mandatory, so secret-based OAuth2 clients and ordinary API
//! callers keep working on the same listener.

use crate::config::SslSection;
use actix_web::dev::Extensions;
use anyhow::{Context, bail};
use base64::Engine;
use rustls::RootCertStore;
use rustls::server::{ServerConfig, WebPkiClientVerifier};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use sha2::{Digest, Sha256};
use std::any::Any;
use std::sync::Arc;

/// What a TLS connection tells its requests: present only on connections keystone-rs
/// terminated itself (read with `HttpRequest::conn_data`).
#[derive(Debug, Clone)]
pub struct TlsConnection {
    /// The verified client certificate (DER), when the client presented one.
    pub peer_certificate: Option<Vec<u8>>,
}

/// The rustls configuration for `[ssl]`, or `None` when TLS is off (no `certfile`).
pub fn server_config(ssl: &SslSection) -> anyhow::Result<Option<ServerConfig>> {
    let Some(certfile) = &ssl.certfile else {
        if ssl.keyfile.is_some() || ssl.ca_certs.is_some() || ssl.cert_required {
            bail!("[ssl] keyfile, ca_certs and cert_required need [ssl] certfile");
        }
        return Ok(None);
    };
    let keyfile = ssl.keyfile.as_ref().unwrap_or(certfile);
    let chain = CertificateDer::pem_file_iter(certfile)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .with_context(|| format!("[ssl] certfile {}", certfile.display()))?;
    if chain.is_empty() {
        bail!("[ssl] certfile {} holds no certificate", certfile.display());
    }
    let key = PrivateKeyDer::from_pem_file(keyfile)
        .with_context(|| format!("[ssl] keyfile {}", keyfile.display()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let builder = match &ssl.ca_certs {
        Some(ca_file) => {
            let mut roots = RootCertStore::empty();
            for cert in CertificateDer::pem_file_iter(ca_file)
                .with_context(|| format!("[ssl] ca_certs {}", ca_file.display()))?
            {
                roots
                    .add(cert.with_context(|| format!("[ssl] ca_certs {}", ca_file.display()))?)
                    .with_context(|| format!("[ssl] ca_certs {}", ca_file.display()))?;
            }
            let verifier =
                WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone());
            let verifier = if ssl.cert_required {
                verifier
            } else {
                verifier.allow_unauthenticated()
            };
            builder.with_client_cert_verifier(verifier.build()?)
        }
        None if ssl.cert_required => bail!("[ssl] cert_required needs [ssl] ca_certs"),
        None => builder.with_no_client_auth(),
    };
    Ok(Some(
        builder
            .with_single_cert(chain, key)
            .context("[ssl] certfile and keyfile")?,
    ))
}

/// actix-web's `on_connect` hook: remember the client certificate of a TLS connection.
pub fn on_connect(conn: &dyn Any, ext: &mut Extensions) {
    type Stream = actix_tls::accept::rustls_0_23::TlsStream<actix_web::rt::net::TcpStream>;
    if let Some(stream) = conn.downcast_ref::<Stream>() {
        let (_, session) = stream.get_ref();
        let peer_certificate = session
            .peer_certificates()
            .and_then(|chain| chain.first())
            .map(|cert| cert.as_ref().to_vec());
        ext.insert(TlsConnection { peer_certificate });
    }
}

/// The TLS facts of the request's connection (`None`: plain HTTP).
pub fn connection(req: &actix_web::HttpRequest) -> Option<&TlsConnection> {
    req.conn_data::<TlsConnection>()
}

/// The PEM text Python's `ssl.DER_cert_to_PEM_cert` makes of a DER certificate (64-column
/// base64, trailing newline): what Apache exports as `SSL_CLIENT_CERT`, and what Keystone
/// and keystonemiddleware hash (oauth2.md A5).
pub fn python_pem(der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
    for line in b64.as_bytes().chunks(64) {
        pem.push_str(std::str::from_utf8(line).unwrap_or_default());
        pem.push('\n');
    }
    pem.push_str("-----END CERTIFICATE-----\n");
    pem
}

/// Keystone's certificate thumbprint, kept in bound tokens and compared by
/// keystonemiddleware's `oauth2_mtls_token`: base64url(SHA-256(PEM text)) with padding.
pub fn keystone_thumbprint(der: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE.encode(Sha256::digest(python_pem(der).as_bytes()))
}

/// RFC 8705 §3.1 `x5t#S256`: base64url(SHA-256(DER)) without padding (introspection `cnf`,
/// compared by keystonemiddleware's `external_oauth2_token`).
pub fn rfc8705_thumbprint(der: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(der))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pem_has_pythons_shape() {
        let der: Vec<u8> = (0..100u8).collect();
        let pem = python_pem(&der);
        let lines: Vec<&str> = pem.lines().collect();
        assert_eq!(lines[0], "-----BEGIN CERTIFICATE-----");
        assert_eq!(lines[1].len(), 64);
        assert_eq!(lines.last(), Some(&"-----END CERTIFICATE-----"));
        assert!(pem.ends_with("-----\n"));
        // 100 bytes → 136 base64 characters: 64 + 64 + 8.
        assert_eq!(lines[3].len(), 8);
    }

    #[test]
    fn plain_http_unless_certfile_and_no_half_configurations() {
        assert!(server_config(&SslSection::default()).unwrap().is_none());
        for ssl in [
            SslSection {
                keyfile: Some("k.pem".into()),
                ..Default::default()
            },
            SslSection {
                cert_required: true,
                ..Default::default()
            },
            SslSection {
                certfile: Some("/nonexistent/cert.pem".into()),
                ..Default::default()
            },
        ] {
            assert!(server_config(&ssl).is_err(), "{ssl:?}");
        }
    }

    #[test]
    fn a_certificate_and_key_make_a_server_and_cert_required_needs_cas() {
        let dir = tempfile::tempdir().unwrap();
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap();
        let certfile = dir.path().join("cert.pem");
        let keyfile = dir.path().join("key.pem");
        std::fs::write(&certfile, cert.pem()).unwrap();
        std::fs::write(&keyfile, key.serialize_pem()).unwrap();
        let ssl = SslSection {
            certfile: Some(certfile.clone()),
            keyfile: Some(keyfile),
            ..Default::default()
        };
        assert!(server_config(&ssl).unwrap().is_some());
        let required = SslSection {
            cert_required: true,
            ..ssl.clone()
        };
        assert!(server_config(&required).is_err());
        let with_cas = SslSection {
            ca_certs: Some(certfile),
            ..required
        };
        assert!(server_config(&with_cas).unwrap().is_some());
    }

    #[test]
    fn thumbprints_differ_in_input_and_padding() {
        let der = b"not really a certificate";
        assert_eq!(keystone_thumbprint(der).len(), 44);
        assert!(keystone_thumbprint(der).ends_with('='));
        assert_eq!(rfc8705_thumbprint(der).len(), 43);
        assert_ne!(&keystone_thumbprint(der)[..43], rfc8705_thumbprint(der));
    }
}
