//! Outbound TLS: what the SMTP relay and the HTTP providers must prove, and
//! what twostep proves back. A server is trusted when its certificate chains
//! to the operating system's store, to the public web roots compiled in
//! (webpki-roots), or to a CA in the operator's PEM bundle — internal relays
//! and SMS gateways usually carry a certificate from the company's own CA.
//! Certificate and host-name checks are always on: there is deliberately no
//! setting that accepts any certificate. A client certificate, when
//! configured, is presented to servers that ask for one (mutual TLS).
//!
//! Files are read once, when the transports are built at start-up, so a
//! missing or malformed bundle stops the server with its path named rather
//! than failing every message later. Also turns a failed handshake into
//! words an operator can act on (`describe`).

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

use lettre::transport::smtp::client::{Certificate, CertificateStore, Identity, TlsParameters};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::{AlertDescription, CertificateError, RootCertStore};

/// One transport's TLS settings: file paths, as configured.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ClientTls {
    /// PEM bundle of CAs trusted besides the system store and public roots.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate (leaf first, then intermediates) for mutual TLS.
    pub client_cert: Option<PathBuf>,
    /// PEM private key of the client certificate; None: in the same file.
    pub client_key: Option<PathBuf>,
}

/// What each transport trusts and presents; the CLI fills each one from the
/// `outbound_*` settings and the transport's own overrides.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TransportTls {
    pub smtp: ClientTls,
    pub sms: ClientTls,
    pub voice: ClientTls,
}

/// A [`ClientTls`] with its files read and checked.
#[derive(Clone, Default)]
pub struct TlsTrust {
    extra_cas: Vec<CertificateDer<'static>>,
    identity: Option<ClientIdentity>,
}

#[derive(Clone)]
struct ClientIdentity {
    chain: Vec<CertificateDer<'static>>,
    /// The key file's bytes: lettre wants PEM, rustls the parsed key.
    key_pem: Arc<Vec<u8>>,
}

impl std::fmt::Debug for TlsTrust {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsTrust")
            .field("extra_cas", &self.extra_cas.len())
            .field("client_certificate", &self.identity.is_some())
            .finish()
    }
}

impl ClientTls {
    /// Reads and checks the files; every error names the file.
    pub fn load(&self) -> Result<TlsTrust, String> {
        let mut trust = TlsTrust::default();
        if let Some(path) = &self.ca_file {
            trust.extra_cas = read_cas(path)?;
        }
        match (&self.client_cert, &self.client_key) {
            (None, None) => {}
            (None, Some(_)) => return Err("a client key needs its client certificate".into()),
            (Some(cert), key) => {
                let chain = read_certs(cert)?;
                let key_path = key.as_deref().unwrap_or(cert);
                let key_pem = std::fs::read(key_path).map_err(|e| format!("client key {}: {e}", key_path.display()))?;
                let identity = ClientIdentity { chain, key_pem: Arc::new(key_pem) };
                // Refuse a key that does not parse or does not match now, not at the first handshake.
                let key = identity.key(key_path)?;
                rustls_builder()
                    .with_root_certificates(RootCertStore::empty())
                    .with_client_auth_cert(identity.chain.clone(), key)
                    .map_err(|e| {
                        format!("client certificate {} with key {}: {e}", cert.display(), key_path.display())
                    })?;
                trust.identity = Some(identity);
            }
        }
        Ok(trust)
    }
}

impl ClientIdentity {
    fn key(&self, path: &Path) -> Result<PrivateKeyDer<'static>, String> {
        PrivateKeyDer::from_pem_slice(&self.key_pem)
            .map_err(|e| format!("client key {}: no usable private key ({e})", path.display()))
    }
}

fn read_certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
        .map_err(|e| format!("{}: {e}", path.display()))?;
    if certs.is_empty() {
        return Err(format!("{}: no PEM certificate in it", path.display()));
    }
    Ok(certs)
}

fn read_cas(path: &Path) -> Result<Vec<CertificateDer<'static>>, String> {
    let certs = read_certs(path)?;
    for (i, cert) in certs.iter().enumerate() {
        RootCertStore::empty()
            .add(cert.clone())
            .map_err(|e| format!("{}: certificate {} is not a usable CA certificate: {e}", path.display(), i + 1))?;
    }
    Ok(certs)
}

/// The operating system's trusted CAs (the OpenSSL locations on Linux,
/// `SSL_CERT_FILE`/`SSL_CERT_DIR` when set), read once per process. Entries
/// that do not parse are skipped, as every TLS client does.
pub fn system_roots() -> &'static [CertificateDer<'static>] {
    static ROOTS: OnceLock<Vec<CertificateDer<'static>>> = OnceLock::new();
    ROOTS.get_or_init(|| {
        let found = rustls_native_certs::load_native_certs();
        for error in &found.errors {
            tracing::debug!(%error, "a system CA certificate could not be read");
        }
        found.certs.into_iter().filter(|c| RootCertStore::empty().add(c.clone()).is_ok()).collect()
    })
}

fn rustls_builder() -> rustls::ConfigBuilder<rustls::ClientConfig, rustls::WantsVerifier> {
    rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .expect("ring supports the default TLS versions")
}

impl TlsTrust {
    pub fn extra_cas(&self) -> usize {
        self.extra_cas.len()
    }

    pub fn has_client_certificate(&self) -> bool {
        self.identity.is_some()
    }

    /// Public roots, the system store and the extra CAs.
    fn roots(&self) -> RootCertStore {
        let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
        roots.add_parsable_certificates(system_roots().iter().cloned());
        roots.add_parsable_certificates(self.extra_cas.iter().cloned());
        roots
    }

    /// The client configuration for the HTTP providers (reqwest).
    pub fn rustls_config(&self) -> Result<rustls::ClientConfig, String> {
        let builder = rustls_builder().with_root_certificates(self.roots());
        match &self.identity {
            None => Ok(builder.with_no_client_auth()),
            Some(id) => builder
                .with_client_auth_cert(id.chain.clone(), id.key(Path::new("(client key)"))?)
                .map_err(|e| format!("client certificate: {e}")),
        }
    }

    /// The TLS parameters for an SMTP relay known as `domain` (lettre).
    pub fn smtp_parameters(&self, domain: &str) -> Result<TlsParameters, String> {
        let err = |e: lettre::transport::smtp::Error| format!("SMTP TLS for {domain}: {e}");
        let mut builder = TlsParameters::builder(domain.to_owned()).certificate_store(CertificateStore::WebpkiRoots);
        for cert in system_roots().iter().chain(&self.extra_cas) {
            builder = builder.add_root_certificate(Certificate::from_der(cert.to_vec()).map_err(err)?);
        }
        if let Some(id) = &self.identity {
            // lettre 0.11 reads the "PEM" certificate of an identity as one
            // DER certificate, so it gets the leaf's DER: a relay must trust
            // the leaf's issuer directly (no intermediates are sent).
            builder =
                builder.identify_with(Identity::from_pem(id.chain[0].as_ref(), id.key_pem.as_slice()).map_err(err)?);
        }
        builder.build_rustls().map_err(err)
    }
}

/// An error of a TLS client (lettre's, reqwest's, an I/O error) in words:
/// its chain of causes, and for a TLS failure what is wrong and what to do.
pub fn describe(error: &(dyn StdError + 'static)) -> String {
    let mut text = String::new();
    let mut tls = None;
    let mut cause = Some(error);
    while let Some(e) = cause {
        let line = e.to_string();
        if !text.contains(&line) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&line);
        }
        tls = tls.or_else(|| rustls_error(e));
        cause = e.source();
    }
    // Errors that repeat their cause's words ("Connection error: Connection error: …").
    let mut parts: Vec<&str> = text.split(": ").collect();
    parts.dedup();
    let text = parts.join(": ");
    match tls.and_then(hint) {
        Some(hint) => format!("{text} ({hint})"),
        None => text,
    }
}

/// The TLS error inside `e`, if any: as itself or inside I/O errors (an
/// I/O error's `source` skips what it wraps; hyper-rustls wraps twice).
fn rustls_error<'a>(e: &'a (dyn StdError + 'static)) -> Option<&'a rustls::Error> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls);
    }
    rustls_error(e.downcast_ref::<std::io::Error>()?.get_ref()?)
}

fn hint(e: &rustls::Error) -> Option<&'static str> {
    use CertificateError as C;
    Some(match e {
        rustls::Error::InvalidCertificate(c) => match c {
            C::UnknownIssuer => {
                "the server's certificate is not signed by a CA twostep trusts: give its CA in a PEM file \
                 with --outbound-ca-file (or the transport's own --smtp-ca-file, --sms-ca-file, --voice-ca-file) \
                 or add it to the system's trust store"
            }
            C::NotValidForName | C::NotValidForNameContext { .. } => {
                "the server's certificate is for another name: configure the host name the certificate \
                 names, not an address or an alias"
            }
            C::Expired | C::ExpiredContext { .. } | C::NotValidYet | C::NotValidYetContext { .. } => {
                "the server's certificate is outside its validity period: renew it, or check this machine's clock"
            }
            C::InvalidPurpose | C::InvalidPurposeContext { .. } => {
                "the server's certificate is not one for a TLS server"
            }
            C::Revoked => "the server's certificate has been revoked",
            C::BadSignature | C::UnsupportedSignatureAlgorithmContext { .. } => {
                "the server's certificate chain has a signature that does not verify"
            }
            _ => return None,
        },
        rustls::Error::AlertReceived(
            AlertDescription::CertificateRequired
            | AlertDescription::BadCertificate
            | AlertDescription::UnknownCA
            | AlertDescription::HandshakeFailure
            | AlertDescription::AccessDenied,
        ) => {
            "the server refused the handshake: it may require a client certificate \
             (--outbound-client-cert) or not trust the one given"
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_file(name: &str, contents: &[u8]) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("twostep-tls-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(name);
        std::fs::write(&path, contents).unwrap();
        path
    }

    #[test]
    fn a_failed_handshake_is_named_with_what_to_do() {
        let unknown = rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer);
        // As lettre and hyper report it: an I/O error around the TLS error.
        let io = std::io::Error::new(std::io::ErrorKind::InvalidData, unknown);
        let text = describe(&io);
        assert!(text.starts_with("invalid peer certificate: UnknownIssuer ("), "{text}");
        assert!(text.contains("--outbound-ca-file"), "{text}");
        #[derive(Debug)]
        struct Wrapper(Box<dyn StdError + Send + Sync>);
        impl std::fmt::Display for Wrapper {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("client error (Connect)")
            }
        }
        impl StdError for Wrapper {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&*self.0)
            }
        }
        let tokio_rustls = std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            rustls::Error::InvalidCertificate(CertificateError::UnknownIssuer),
        );
        let hyper_like = Wrapper(Box::new(std::io::Error::other(tokio_rustls)));
        let text = describe(&hyper_like);
        assert!(text.starts_with("client error (Connect): invalid peer certificate: UnknownIssuer ("), "{text}");
        let alert = describe(&rustls::Error::AlertReceived(AlertDescription::CertificateRequired));
        assert!(alert.contains("client certificate"), "{alert}");
        let repeated = std::io::Error::other(format!("Connection error: Connection error: {}", io.get_ref().unwrap()));
        assert!(describe(&repeated).starts_with("Connection error: invalid peer certificate: UnknownIssuer"));
        let plain = describe(&std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "connection refused"));
        assert_eq!(plain, "connection refused");
    }

    #[test]
    fn files_that_cannot_be_used_are_refused_by_name() {
        let missing = ClientTls { ca_file: Some("/nonexistent/ca.pem".into()), ..Default::default() };
        assert!(missing.load().unwrap_err().contains("/nonexistent/ca.pem"));
        let empty = temp_file("empty.pem", b"not a certificate\n");
        let err = ClientTls { ca_file: Some(empty.clone()), ..Default::default() }.load().unwrap_err();
        assert!(err.contains("no PEM certificate") && err.contains("empty.pem"), "{err}");
        let garbage = temp_file("garbage.pem", b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n");
        let garbage_dir = garbage.parent().unwrap().to_owned();
        let err = ClientTls { ca_file: Some(garbage), ..Default::default() }.load().unwrap_err();
        assert!(err.contains("not a usable CA certificate"), "{err}");
        let key_alone = ClientTls { client_key: Some(empty.clone()), ..Default::default() };
        assert!(key_alone.load().is_err());
        assert_eq!(ClientTls::default().load().unwrap().extra_cas(), 0);
        let _ = std::fs::remove_dir_all(empty.parent().unwrap());
        let _ = std::fs::remove_dir_all(garbage_dir);
    }

    #[test]
    fn the_public_roots_are_always_trusted() {
        let trust = TlsTrust::default();
        assert!(trust.roots().len() >= webpki_roots::TLS_SERVER_ROOTS.len());
        assert!(trust.rustls_config().is_ok());
        assert!(trust.smtp_parameters("smtp.example.com").is_ok());
    }
}
