//! HTTP(S) for the vSphere client and for packages at `http(s)://` URLs.
//!
//! A blocking [`ureq`] agent whose TLS layer is our own rustls connector, because the checks a
//! vSphere tool needs are not all "the system roots": ovftool's `--sslThumbprint` pins a
//! self-signed ESXi or vCenter certificate by the SHA-1 thumbprint of its leaf, and an unknown
//! certificate must be reported *with* its thumbprint so that the user can check and pin it.
//! [`TlsPolicy`] says which check applies; the handshake signatures are always verified with the
//! crypto provider's algorithms, so a pinned or unchecked certificate still proves the server
//! holds its key.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, RootCertStore, StreamOwned};
use sha1::{Digest, Sha1};
use ureq::unversioned::resolver::DefaultResolver;
use ureq::unversioned::transport::{
    Buffers, ConnectionDetails, Connector, Either, LazyBuffers, NextTimeout, TcpConnector,
    Transport, TransportAdapter,
};

use crate::error::{Error, ErrorKind, Result};

/// How the server's certificate is checked.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum TlsPolicy {
    /// Against the system's trusted roots, for the host name of the URL.
    #[default]
    System,
    /// The leaf certificate's SHA-1 thumbprint must be this one (`AA:BB:...`, case and
    /// separators ignored): ovftool's `--sslThumbprint`, for self-signed hosts.
    Thumbprint(String),
    /// Not checked at all (`--no-ssl-verify`); the handshake is still verified.
    Insecure,
}

/// `AA:BB:..` from 40 hex digits written in any case, with or without `:`/spaces; `None` when
/// `s` is not a SHA-1 thumbprint.
pub fn normalize_thumbprint(s: &str) -> Option<String> {
    let hex: String = s
        .chars()
        .filter(|c| !matches!(c, ':' | ' ' | '-'))
        .collect();
    if hex.len() != 40 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    let up = hex.to_ascii_uppercase();
    let pairs: Vec<&str> = (0..20).map(|i| &up[2 * i..2 * i + 2]).collect();
    Some(pairs.join(":"))
}

/// The SHA-1 thumbprint of a DER certificate, `AA:BB:...` (the form ESXi and vCenter show).
pub fn thumbprint(der: &[u8]) -> String {
    let d = Sha1::digest(der);
    d.iter()
        .map(|b| format!("{b:02X}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Why the last handshake refused the server's certificate.
#[derive(Debug, Clone)]
struct Refusal {
    thumbprint: String,
    reason: String,
}

#[derive(Debug)]
struct Verifier {
    policy: TlsPolicy,
    roots: Option<Arc<WebPkiServerVerifier>>,
    provider: Arc<CryptoProvider>,
    refused: Arc<Mutex<Option<Refusal>>>,
}

impl Verifier {
    fn refuse(&self, thumbprint: String, reason: String) -> rustls::Error {
        let msg = format!("{reason} (SHA-1 thumbprint {thumbprint})");
        if let Ok(mut r) = self.refused.lock() {
            *r = Some(Refusal { thumbprint, reason });
        }
        rustls::Error::General(msg)
    }
}

impl Verifier {
    /// ring checks RSA signatures only for keys of 2048 bits and more; self-signed ESXi hosts
    /// (and the API simulator) still use 1024-bit keys. For a certificate the user accepted
    /// explicitly (pinned thumbprint or `--no-ssl-verify`), the handshake signature of a key of
    /// 1024 to 2047 bits is checked with the `rsa` crate instead: the server still proves it
    /// holds the pinned certificate's key. Never for certificates checked against the roots.
    fn weak_rsa(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
        original: rustls::Error,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        use rsa::pkcs8::DecodePublicKey;
        use rsa::traits::PublicKeyParts;
        use rustls::SignatureScheme as S;
        use sha2::{Sha256, Sha384, Sha512};
        use x509_cert::der::{Decode, Encode};
        if self.policy == TlsPolicy::System {
            return Err(original);
        }
        let c = x509_cert::Certificate::from_der(cert.as_ref()).map_err(|_| original.clone())?;
        let spki = c
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|_| original.clone())?;
        let key = rsa::RsaPublicKey::from_public_key_der(&spki).map_err(|_| original.clone())?;
        if !(128..256).contains(&key.size()) {
            return Err(original);
        }
        let sig = dss.signature();
        let r = match dss.scheme {
            S::RSA_PSS_SHA256 => {
                key.verify(rsa::Pss::new::<Sha256>(), &Sha256::digest(message), sig)
            }
            S::RSA_PSS_SHA384 => {
                key.verify(rsa::Pss::new::<Sha384>(), &Sha384::digest(message), sig)
            }
            S::RSA_PSS_SHA512 => {
                key.verify(rsa::Pss::new::<Sha512>(), &Sha512::digest(message), sig)
            }
            S::RSA_PKCS1_SHA256 => key.verify(
                rsa::Pkcs1v15Sign::new::<Sha256>(),
                &Sha256::digest(message),
                sig,
            ),
            S::RSA_PKCS1_SHA384 => key.verify(
                rsa::Pkcs1v15Sign::new::<Sha384>(),
                &Sha384::digest(message),
                sig,
            ),
            S::RSA_PKCS1_SHA512 => key.verify(
                rsa::Pkcs1v15Sign::new::<Sha512>(),
                &Sha512::digest(message),
                sig,
            ),
            _ => return Err(original),
        };
        r.map(|()| HandshakeSignatureValid::assertion())
            .map_err(|_| original)
    }
}

impl ServerCertVerifier for Verifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        let tp = thumbprint(end_entity);
        match &self.policy {
            TlsPolicy::Insecure => Ok(ServerCertVerified::assertion()),
            TlsPolicy::Thumbprint(want) => {
                if normalize_thumbprint(want).as_deref() == Some(tp.as_str()) {
                    Ok(ServerCertVerified::assertion())
                } else {
                    Err(self.refuse(
                        tp,
                        format!(
                            "the server's certificate does not match the pinned thumbprint {want}"
                        ),
                    ))
                }
            }
            TlsPolicy::System => match &self.roots {
                Some(v) => v
                    .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
                    .map_err(|e| {
                        self.refuse(tp, format!("the server's certificate is not trusted: {e}"))
                    }),
                None => Err(self.refuse(
                    tp,
                    "the server's certificate is not trusted: no system root certificates".into(),
                )),
            },
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
        .or_else(|e| self.weak_rsa(message, cert, dss, e))
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
        .or_else(|e| self.weak_rsa(message, cert, dss, e))
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The TLS step of the connector chain: wraps the TCP transport of an `https` URL.
#[derive(Debug)]
struct TlsConnector {
    config: Arc<ClientConfig>,
}

impl<In: Transport> Connector<In> for TlsConnector {
    type Out = Either<In, TlsTransport>;

    fn connect(
        &self,
        details: &ConnectionDetails,
        chained: Option<In>,
    ) -> std::result::Result<Option<Self::Out>, ureq::Error> {
        let Some(transport) = chained else {
            return Ok(None);
        };
        if !details.needs_tls() || transport.is_tls() {
            return Ok(Some(Either::A(transport)));
        }
        let host = details
            .uri
            .host()
            .unwrap_or_default()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        let name = ServerName::try_from(host).map_err(|_| ureq::Error::Tls("bad server name"))?;
        let mut conn = ClientConnection::new(self.config.clone(), name)
            .map_err(|e| ureq::Error::Io(io::Error::other(e)))?;
        let mut sock = TransportAdapter::new(transport.boxed(), details.current_time.clone());
        sock.set_timeout(details.timeout);
        conn.complete_io(&mut sock)?;
        Ok(Some(Either::B(TlsTransport {
            buffers: LazyBuffers::new(
                details.config.input_buffer_size(),
                details.config.output_buffer_size(),
            ),
            stream: StreamOwned { conn, sock },
        })))
    }
}

/// A TLS connection as a ureq transport.
struct TlsTransport {
    buffers: LazyBuffers,
    stream: StreamOwned<ClientConnection, TransportAdapter>,
}

impl std::fmt::Debug for TlsTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsTransport")
    }
}

impl Transport for TlsTransport {
    fn buffers(&mut self) -> &mut dyn Buffers {
        &mut self.buffers
    }

    fn transmit_output(
        &mut self,
        amount: usize,
        timeout: NextTimeout,
    ) -> std::result::Result<(), ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let output = &self.buffers.output()[..amount];
        self.stream.write_all(output)?;
        Ok(())
    }

    fn await_input(&mut self, timeout: NextTimeout) -> std::result::Result<bool, ureq::Error> {
        self.stream.get_mut().set_timeout(timeout);
        let input = self.buffers.input_append_buf();
        let amount = self.stream.read(input)?;
        self.buffers.input_appended(amount);
        Ok(amount > 0)
    }

    fn is_open(&mut self) -> bool {
        self.stream.get_mut().get_mut().is_open()
    }

    fn is_tls(&self) -> bool {
        true
    }
}

/// A blocking HTTP(S) client with a [`TlsPolicy`].
#[derive(Debug, Clone)]
pub struct HttpClient {
    agent: ureq::Agent,
    refused: Arc<Mutex<Option<Refusal>>>,
    policy: TlsPolicy,
}

impl HttpClient {
    /// A client checking certificates by `policy`.
    ///
    /// # Errors
    /// [`ErrorKind::Usage`] for a thumbprint that is not 40 hex digits.
    pub fn new(policy: TlsPolicy) -> Result<HttpClient> {
        if let TlsPolicy::Thumbprint(t) = &policy {
            if normalize_thumbprint(t).is_none() {
                return Err(Error::usage(format!(
                    "certificate thumbprint: expected SHA-1 (40 hex digits, AA:BB:...), found {t:?}"
                )));
            }
        }
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let roots = if policy == TlsPolicy::System {
            let mut store = RootCertStore::empty();
            store.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
            WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
                .build()
                .ok()
        } else {
            None
        };
        let refused = Arc::new(Mutex::new(None));
        let verifier = Verifier {
            policy: policy.clone(),
            roots,
            provider: provider.clone(),
            refused: refused.clone(),
        };
        let config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| Error::new(ErrorKind::Io, format!("TLS setup: {e}")))?
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verifier))
            .with_no_client_auth();
        let connector = ().chain(TcpConnector::default()).chain(TlsConnector {
            config: Arc::new(config),
        });
        let cfg = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(30)))
            .timeout_recv_response(Some(Duration::from_secs(600)))
            .build();
        Ok(HttpClient {
            agent: ureq::Agent::with_parts(cfg, connector, DefaultResolver::default()),
            refused,
            policy,
        })
    }

    /// The underlying agent.
    pub(crate) fn agent(&self) -> &ureq::Agent {
        &self.agent
    }

    /// Turns a transport error into ours; a refused certificate names its thumbprint and how
    /// to pin it.
    pub(crate) fn error(&self, what: &str, e: ureq::Error) -> Error {
        let refused = self.refused.lock().ok().and_then(|mut r| r.take());
        if let Some(r) = refused {
            let e = Error::new(
                ErrorKind::Io,
                format!("{what}: {}: SHA-1 thumbprint {}", r.reason, r.thumbprint),
            );
            // Pinning is the way out unless a pin is what refused it.
            return match self.policy {
                TlsPolicy::Thumbprint(_) => e,
                _ => e.with_hint(crate::error::Hint::PinThumbprint(r.thumbprint)),
            };
        }
        Error::new(ErrorKind::Io, format!("{what}: {e}")).with_source(e)
    }

    /// GETs `url` and returns its body as a stream (for packages at URLs).
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the server cannot be reached or answers other than 200.
    pub fn get(&self, url: &str) -> Result<Box<dyn Read + Send>> {
        let resp = self
            .agent
            .get(url)
            .call()
            .map_err(|e| self.error(&format!("GET {}", redact(url)), e))?;
        let status = resp.status();
        if !status.is_success() {
            return Err(Error::new(
                ErrorKind::Io,
                format!("GET {}: the server answered {status}", redact(url)),
            ));
        }
        Ok(Box::new(resp.into_body().into_reader()))
    }
}

impl HttpClient {
    /// GETs `url`: `Ok(None)` when the server answers 404 or 410, else its length (when it
    /// gives one) and body.
    ///
    /// # Errors
    /// [`ErrorKind::Io`] when the server cannot be reached or answers another error.
    pub fn get_if_exists(&self, url: &str) -> Result<Option<crate::ova::folder_stream::Opened>> {
        let resp = self
            .agent
            .get(url)
            .call()
            .map_err(|e| self.error(&format!("GET {}", redact(url)), e))?;
        let status = resp.status();
        if status.as_u16() == 404 || status.as_u16() == 410 {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(Error::new(
                ErrorKind::Io,
                format!("GET {}: the server answered {status}", redact(url)),
            ));
        }
        let len = resp
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        Ok(Some((len, Box::new(resp.into_body().into_reader()))))
    }
}

/// The files beside an `.ovf` at an `http(s)://` URL, fetched relative to it (one GET at a time,
/// streamed): the [`crate::ova::folder_stream::Fetch`] of a package at a URL.
#[derive(Debug, Clone)]
pub struct UrlFetch {
    client: HttpClient,
    /// The URL up to and including its last `/` (query and fragment dropped).
    base: String,
}

impl UrlFetch {
    /// The files beside `url` (an `.ovf` URL); returns the fetcher and the descriptor's name.
    ///
    /// # Errors
    /// [`ErrorKind::Usage`] when `url` does not end in a file name.
    pub fn new(client: HttpClient, url: &str) -> Result<(UrlFetch, String)> {
        let path = url.split(['?', '#']).next().unwrap_or(url);
        let (base, name) = path
            .rsplit_once('/')
            .filter(|(b, n)| !n.is_empty() && b.contains("://"))
            .ok_or_else(|| Error::usage(format!("{}: no file name in the URL", redact(url))))?;
        let name = percent_decode(name).ok_or_else(|| {
            Error::usage(format!("{}: bad %-escape in the file name", redact(url)))
        })?;
        Ok((
            UrlFetch {
                client,
                base: format!("{base}/"),
            },
            name,
        ))
    }

    fn url(&self, name: &str) -> String {
        let mut u = self.base.clone();
        for b in name.bytes() {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                u.push(b as char);
            } else {
                u.push_str(&format!("%{b:02X}"));
            }
        }
        u
    }
}

impl crate::ova::folder_stream::Fetch for UrlFetch {
    fn open(&mut self, name: &str) -> Result<Option<crate::ova::folder_stream::Opened>> {
        self.client.get_if_exists(&self.url(name))
    }

    fn show(&self, name: &str) -> String {
        redact(&self.url(name))
    }
}

/// Decodes `%XX` escapes; `None` for a bad escape or a result that is not UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = std::str::from_utf8(b.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `url` without a `user:password@` part, for messages.
pub fn redact(url: &str) -> String {
    if let Some((scheme, rest)) = url.split_once("://") {
        let end = rest.find('/').unwrap_or(rest.len());
        if let Some(at) = rest[..end].rfind('@') {
            return format!("{scheme}://{}", &rest[at + 1..]);
        }
    }
    url.to_string()
}

/// Whether `s` is an `http://` or `https://` URL.
pub fn is_http_url(s: &str) -> bool {
    let l = s.to_ascii_lowercase();
    l.starts_with("http://") || l.starts_with("https://")
}

/// Opens `src` as a package when it is an http(s) URL (`None` when it is not one: a local path
/// or `-`), streamed, with no temporary copy. An `.ova` URL is its body; an `.ovf` URL is the
/// descriptor with its files fetched relative to it, streamed as the OVA they would make
/// ([`crate::ova::folder_stream`]), unless `descriptor_only` (the descriptor's body alone, for
/// a reader of the descriptor only). The server's certificate is checked per `tls`.
///
/// The returned reader is what [`crate::verify::verify_stream`],
/// [`crate::import::import_package_reader`] and [`crate::vsphere::deploy::deploy_reader`] read.
///
/// # Errors
/// [`ErrorKind::Usage`] for an `.ovf` URL without a file name; [`ErrorKind::Io`] for
/// connection, TLS and HTTP failures; the errors of parsing a remote `.ovf` (its References name
/// the files to fetch).
///
/// # Security
/// Names in a remote descriptor pass the OVA name checks before they are fetched; sizes are
/// bounded by `limits`; messages show URLs without their `user:password@` part.
pub fn open_package_url(
    src: &std::path::Path,
    tls: &TlsPolicy,
    descriptor_only: bool,
    limits: &crate::limits::Limits,
) -> Result<Option<Box<dyn Read + Send>>> {
    let Some(s) = src.to_str().filter(|s| is_http_url(s)) else {
        return Ok(None);
    };
    let path = s.split(['?', '#']).next().unwrap_or(s).to_ascii_lowercase();
    let client = HttpClient::new(tls.clone())?;
    if path.ends_with(".ovf") && !descriptor_only {
        let (fetch, name) = UrlFetch::new(client, s)?;
        let stream = crate::ova::folder_stream::FolderStream::new(Box::new(fetch), &name, limits)?;
        return Ok(Some(Box::new(stream)));
    }
    Ok(Some(client.get(s)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbprints_normalize() {
        let t = "2c11aabbccddeeff00112233445566778899aabb";
        assert_eq!(
            normalize_thumbprint(t).unwrap(),
            "2C:11:AA:BB:CC:DD:EE:FF:00:11:22:33:44:55:66:77:88:99:AA:BB"
        );
        assert!(normalize_thumbprint("2C:11").is_none());
        assert!(normalize_thumbprint(&"zz".repeat(20)).is_none());
    }

    #[test]
    fn files_beside_an_ovf_url_are_resolved_and_escaped() {
        let c = HttpClient::new(TlsPolicy::Insecure).unwrap();
        let (f, name) = UrlFetch::new(c.clone(), "http://h:8/a/b/my%20app.ovf?x=1").unwrap();
        assert_eq!(name, "my app.ovf");
        assert_eq!(f.url("disk 1.vmdk"), "http://h:8/a/b/disk%201.vmdk");
        assert!(UrlFetch::new(c.clone(), "http://h:8/").is_err());
        assert!(UrlFetch::new(c, "http://h:8").is_err());
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("https://u:secret@h:443/x"), "https://h:443/x");
        assert_eq!(redact("http://h/x@y"), "http://h/x@y");
    }
}
