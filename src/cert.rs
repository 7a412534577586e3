//! OVF package signatures (`.cert`, docs/FORMATS.md §8): a line `ALG(name.mf)= <hex signature>`
//! followed by the signer's X.509 certificate in PEM (and optionally its chain).
//!
//! The signature is RSA PKCS#1 v1.5 over the exact bytes of the `.mf` (what
//! `openssl dgst -<alg> -sign key.pem` produces), checked with RustCrypto (`rsa`, `sha1`,
//! `sha2`): SHA-1 signatures of older ovftool packages stay checkable.
//!
//! Whether the signer is trusted is decided by `rustls-webpki`'s RFC 5280 path validation
//! ([`CertFile::verify_trust`]): signatures along the chain, basicConstraints CA and path length
//! for issuers, validity of every certificate at the verification time, supported signature
//! algorithms. Two checks webpki leaves to its caller are added on the path it found: keyUsage
//! (RFC 5280 §4.2.1.3: `keyCertSign` for every issuer, `digitalSignature` for the signer, when
//! the extension is present) and extendedKeyUsage (§4.2.1.12: when present it must allow code
//! signing or any purpose). Nothing here walks a chain by hand.

use std::cell::RefCell;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use der::oid::AssociatedOid;
use der::{Decode, Encode};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, UnixTime};
use x509_cert::Certificate;

use crate::digest::Algorithm;
use crate::error::{Error, Result};
use crate::limits::Limits;

/// A parsed `.cert` file.
#[derive(Debug, Clone)]
pub struct CertFile {
    /// Digest algorithm of the signature.
    pub algorithm: Algorithm,
    /// The manifest the signature claims to cover.
    pub manifest_name: String,
    /// The raw RSA signature.
    pub signature: Vec<u8>,
    /// The signer's certificate first, then any further certificates in the file.
    pub certificates: Vec<Certificate>,
    /// The same certificates as found in the file (DER), for path validation.
    der: Vec<CertificateDer<'static>>,
}

/// What a certificate says about its holder, for reports.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CertInfo {
    /// Subject distinguished name (RFC 4514 string).
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// Start of validity, seconds since the Unix epoch.
    pub not_before: u64,
    /// End of validity, seconds since the Unix epoch.
    pub not_after: u64,
    /// Whether the certificate is self-issued (RFC 5280 §3.3: issuer name equals subject name,
    /// and its authority key identifier, when present, is its own subject key identifier).
    /// Reported only; trust is decided by [`CertFile::verify_trust`].
    pub self_signed: bool,
    /// RSA modulus size in bits.
    pub key_bits: usize,
}

fn pem_blocks(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start + 11..];
        let Some(label_end) = after.find("-----") else {
            break;
        };
        let label = after[..label_end].to_string();
        let end_marker = format!("-----END {label}-----");
        let Some(end) = rest[start..].find(&end_marker) else {
            break;
        };
        let block_end = start + end + end_marker.len();
        out.push((label, rest[start..block_end].to_string()));
        rest = &rest[block_end..];
    }
    out
}

/// Parses every `CERTIFICATE` block of a PEM text.
///
/// # Errors
/// [`crate::ErrorKind::Verification`] for a block that is not a valid X.509 certificate or when
/// there is none.
pub fn load_certificates(pem: &[u8]) -> Result<Vec<Certificate>> {
    Ok(load_chain(pem)?.into_iter().map(|(_, c)| c).collect())
}

/// Every `CERTIFICATE` block of a PEM text, as found (DER) and parsed.
fn load_chain(pem: &[u8]) -> Result<Vec<(CertificateDer<'static>, Certificate)>> {
    let mut certs = Vec::new();
    for der in CertificateDer::pem_slice_iter(pem) {
        let der = der.map_err(|e| Error::verification(format!("invalid PEM certificate: {e}")))?;
        let c = Certificate::from_der(der.as_ref())
            .map_err(|e| Error::verification(format!("invalid X.509 certificate: {e}")))?;
        certs.push((der, c));
    }
    if certs.is_empty() {
        return Err(Error::verification("no PEM certificate found"));
    }
    Ok(certs)
}

fn public_key(cert: &Certificate) -> Result<RsaPublicKey> {
    let der = cert
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .map_err(|e| Error::verification(format!("cannot encode the public key: {e}")))?;
    RsaPublicKey::from_public_key_der(&der).map_err(|e| {
        Error::unsupported(format!(
            "the certificate's key is not an RSA key this tool can check: {e}"
        ))
    })
}

fn scheme(alg: Algorithm) -> Pkcs1v15Sign {
    match alg {
        Algorithm::Sha1 => Pkcs1v15Sign::new::<sha1::Sha1>(),
        Algorithm::Sha256 => Pkcs1v15Sign::new::<sha2::Sha256>(),
        Algorithm::Sha512 => Pkcs1v15Sign::new::<sha2::Sha512>(),
    }
}

/// Facts about a certificate.
pub fn info(cert: &Certificate) -> CertInfo {
    let tbs = &cert.tbs_certificate;
    CertInfo {
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        not_before: tbs.validity.not_before.to_unix_duration().as_secs(),
        not_after: tbs.validity.not_after.to_unix_duration().as_secs(),
        self_signed: self_issued(cert),
        key_bits: public_key(cert)
            .map(|k| rsa::traits::PublicKeyParts::size(&k) * 8)
            .unwrap_or(0),
    }
}

impl CertFile {
    /// Parses a `.cert` file: the first `ALG(name)= hex` line before the first PEM certificate
    /// is the signature; trailing blank padding (ovftool pads to 100 KiB) is ignored.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Verification`] for a missing or malformed signature line or
    /// certificate; [`crate::ErrorKind::LimitExceeded`] above [`Limits::max_manifest_bytes`].
    pub fn parse(bytes: &[u8], limits: &Limits) -> Result<CertFile> {
        if bytes.len() as u64 > limits.max_manifest_bytes {
            return Err(Error::limit(
                "certificate file size",
                bytes.len() as u64,
                limits.max_manifest_bytes,
            ));
        }
        let text = std::str::from_utf8(bytes)
            .map_err(|_| Error::verification("certificate file is not text"))?;
        let pem_start = text
            .find("-----BEGIN CERTIFICATE-----")
            .ok_or_else(|| Error::verification("certificate file holds no PEM certificate"))?;
        let mut sig = None;
        for (i, line) in text[..pem_start].lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |why: String| Error::verification(why).with_line_col(i as u64 + 1, 1);
            let (alg, name, value) = crate::manifest::split_line(line)
                .ok_or_else(|| bad("signature line is not `ALG(name.mf)= hex`".to_string()))?;
            let algorithm = Algorithm::from_name(alg)
                .ok_or_else(|| bad(format!("unsupported signature digest {alg:?}")))?;
            let signature =
                hex::decode(value).map_err(|_| bad("signature is not hexadecimal".to_string()))?;
            if sig.is_some() {
                return Err(bad("more than one signature line".to_string()));
            }
            sig = Some((algorithm, name.to_string(), signature));
        }
        let (algorithm, manifest_name, signature) =
            sig.ok_or_else(|| Error::verification("certificate file has no signature line"))?;
        let (der, certificates) = load_chain(&bytes[pem_start..])?.into_iter().unzip();
        Ok(CertFile {
            algorithm,
            manifest_name,
            signature,
            certificates,
            der,
        })
    }

    /// The signer's certificate.
    pub fn signer(&self) -> Option<&Certificate> {
        self.certificates.first()
    }

    /// Verifies the signature over the manifest bytes with the signer's key.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Verification`] when the signature does not match;
    /// [`crate::ErrorKind::Unsupported`] for a non-RSA key.
    pub fn verify_manifest(&self, manifest: &[u8]) -> Result<()> {
        let cert = self
            .signer()
            .ok_or_else(|| Error::verification("no certificate"))?;
        let key = public_key(cert)?;
        key.verify(
            scheme(self.algorithm),
            &self.algorithm.digest(manifest),
            &self.signature,
        )
        .map_err(|_| {
            Error::verification(format!(
                "the {} signature over {} does not verify with the certificate's key",
                self.algorithm, self.manifest_name
            ))
        })
    }

    /// Validates the signer's certificate path, through the other certificates of the file, to
    /// one of `anchors` at `at_unix` (seconds since the Unix epoch): see the module
    /// documentation for what is checked. A signer that is itself one of the anchors (a pinned,
    /// typically self-signed certificate) is trusted when valid at `at_unix` and its keyUsage
    /// allows signing. Returns the subjects of the path, signer first, anchor last.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Verification`] naming why no path to an anchor holds.
    pub fn verify_trust(&self, anchors: &TrustStore, at_unix: u64) -> Result<Vec<String>> {
        let (Some(leaf_der), Some(leaf)) = (self.der.first(), self.signer()) else {
            return Err(Error::verification("no certificate"));
        };
        let subject = leaf.tbs_certificate.subject.to_string();
        let untrusted = |why: String| {
            Error::verification(format!(
                "the signing certificate ({subject}) is not trusted: {why}"
            ))
        };
        if anchors.is_empty() {
            return Err(untrusted(
                "no trust anchor given (neither a CA certificate nor the system store)".into(),
            ));
        }
        if anchors.ders.iter().any(|a| a == leaf_der) {
            let v = &leaf.tbs_certificate.validity;
            let (from, until) = (
                v.not_before.to_unix_duration().as_secs(),
                v.not_after.to_unix_duration().as_secs(),
            );
            if at_unix < from || at_unix > until {
                return Err(untrusted(format!(
                    "it is valid from {from} to {until} (Unix time), not at {at_unix}"
                )));
            }
            key_usage_allows(leaf, KeyUse::Sign).map_err(untrusted)?;
            return Ok(vec![subject]);
        }
        let ee = webpki::EndEntityCert::try_from(leaf_der)
            .map_err(|e| untrusted(format!("the certificate cannot be used: {}", why(&e))))?;
        let trust_anchors: Vec<(rustls_pki_types::TrustAnchor<'_>, &CertificateDer<'_>)> = anchors
            .ders
            .iter()
            .filter_map(|d| webpki::anchor_from_trusted_cert(d).ok().map(|a| (a, d)))
            .collect();
        let only_anchors: Vec<rustls_pki_types::TrustAnchor<'_>> =
            trust_anchors.iter().map(|(a, _)| a.clone()).collect();
        let intermediates = self.der.get(1..).unwrap_or_default();
        // The reason the last candidate path was refused by our keyUsage check, if it was.
        let refusal = RefCell::new(None::<String>);
        let check_key_usage = |path: &webpki::VerifiedPath<'_>| {
            let mut certs = vec![(path.end_entity().der(), KeyUse::Sign)];
            certs.extend(
                path.intermediate_certificates()
                    .map(|c| (c.der(), KeyUse::IssueCertificates)),
            );
            let anchor = path.anchor();
            if let Some((_, d)) = trust_anchors.iter().find(|(a, _)| {
                a.subject == anchor.subject
                    && a.subject_public_key_info == anchor.subject_public_key_info
            }) {
                certs.push(((*d).clone(), KeyUse::IssueCertificates));
            }
            for (der, usage) in certs {
                let verdict = Certificate::from_der(der.as_ref())
                    .map_err(|e| format!("invalid certificate: {e}"))
                    .and_then(|c| key_usage_allows(&c, usage));
                if let Err(why) = verdict {
                    *refusal.borrow_mut() = Some(why);
                    return Err(webpki::Error::UnsupportedCriticalExtension);
                }
            }
            Ok(())
        };
        let time = UnixTime::since_unix_epoch(Duration::from_secs(at_unix));
        match ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &only_anchors,
            intermediates,
            time,
            CodeSigning,
            None,
            Some(&check_key_usage),
        ) {
            Ok(path) => {
                let mut names = vec![subject.clone()];
                for c in path.intermediate_certificates() {
                    if let Ok(c) = Certificate::from_der(c.der().as_ref()) {
                        names.push(c.tbs_certificate.subject.to_string());
                    }
                }
                let anchor = path.anchor();
                if let Some((_, d)) = trust_anchors.iter().find(|(a, _)| {
                    a.subject == anchor.subject
                        && a.subject_public_key_info == anchor.subject_public_key_info
                }) {
                    if let Ok(c) = Certificate::from_der(d.as_ref()) {
                        names.push(c.tbs_certificate.subject.to_string());
                    }
                }
                Ok(names)
            }
            Err(e) => {
                let refused = refusal.borrow_mut().take();
                Err(untrusted(match (e, refused) {
                    (webpki::Error::UnsupportedCriticalExtension, Some(why)) => why,
                    (e, _) => why(&e),
                }))
            }
        }
    }
}

/// What a certificate's key is used for in a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyUse {
    /// The signer: signs the manifest (keyUsage `digitalSignature`).
    Sign,
    /// An issuer: signs certificates (keyUsage `keyCertSign`).
    IssueCertificates,
}

/// RFC 5280 §4.2.1.3: when a certificate has a keyUsage extension, it must allow the use made of
/// the key. Without the extension any use is allowed.
fn key_usage_allows(cert: &Certificate, usage: KeyUse) -> std::result::Result<(), String> {
    use x509_cert::ext::pkix::KeyUsage;
    let subject = &cert.tbs_certificate.subject;
    let ext = cert
        .tbs_certificate
        .extensions
        .iter()
        .flatten()
        .find(|e| e.extn_id == <KeyUsage as AssociatedOid>::OID);
    let Some(ext) = ext else {
        return Ok(());
    };
    let ku = KeyUsage::from_der(ext.extn_value.as_bytes())
        .map_err(|e| format!("the keyUsage of {subject} cannot be read: {e}"))?;
    match usage {
        KeyUse::Sign if !ku.digital_signature() => Err(format!(
            "the keyUsage of {subject} does not allow digitalSignature"
        )),
        KeyUse::IssueCertificates if !ku.key_cert_sign() => Err(format!(
            "{subject} issued a certificate but its keyUsage does not allow keyCertSign"
        )),
        _ => Ok(()),
    }
}

/// Extended key usage for package signing (RFC 5280 §4.2.1.12): a certificate without the
/// extension may sign anything; with it, it must list code signing or anyExtendedKeyUsage.
/// webpki applies it to every certificate of the path, as Mozilla's pkix does.
struct CodeSigning;

/// id-kp-codeSigning (1.3.6.1.5.5.7.3.3).
const EKU_CODE_SIGNING: &[usize] = &[1, 3, 6, 1, 5, 5, 7, 3, 3];
/// anyExtendedKeyUsage (2.5.29.37.0).
const EKU_ANY: &[usize] = &[2, 5, 29, 37, 0];

impl webpki::ExtendedKeyUsageValidator for CodeSigning {
    fn validate(
        &self,
        iter: webpki::KeyPurposeIdIter<'_, '_>,
    ) -> std::result::Result<(), webpki::Error> {
        let mut present = Vec::new();
        for id in iter {
            let oid = id?.to_decoded_oid();
            if oid == EKU_CODE_SIGNING || oid == EKU_ANY {
                return Ok(());
            }
            present.push(oid);
        }
        if present.is_empty() {
            Ok(())
        } else {
            Err(webpki::Error::RequiredEkuNotFoundContext(
                webpki::RequiredEkuNotFoundContext {
                    // id-kp-codeSigning, DER contents.
                    required: webpki::KeyUsage::required(&[
                        0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03,
                    ]),
                    present,
                },
            ))
        }
    }
}

/// A reader's explanation of a path validation error.
fn why(e: &webpki::Error) -> String {
    use webpki::Error as E;
    match e {
        E::UnknownIssuer => "no path to a trusted certificate (issuer unknown)".into(),
        E::EndEntityUsedAsCa => {
            "a certificate that is not a CA (basicConstraints) issued another".into()
        }
        E::CaUsedAsEndEntity => "the signer is a CA certificate (basicConstraints CA:TRUE)".into(),
        E::PathLenConstraintViolated => "an issuer's pathLenConstraint is exceeded".into(),
        E::CertExpired { time, not_after } => format!(
            "a certificate of the path expired at {} (Unix time), verification time {}",
            not_after.as_secs(),
            time.as_secs()
        ),
        E::CertNotValidYet { time, not_before } => format!(
            "a certificate of the path is valid only from {} (Unix time), verification time {}",
            not_before.as_secs(),
            time.as_secs()
        ),
        E::RequiredEkuNotFoundContext(_) => {
            "an extendedKeyUsage does not allow code signing".into()
        }
        E::InvalidSignatureForPublicKey => "a certificate signature does not verify".into(),
        E::UnsupportedSignatureAlgorithmContext(_)
        | E::UnsupportedSignatureAlgorithmForPublicKeyContext(_) => {
            "a certificate is signed with an unsupported algorithm or key (RSA below 2048 bits, SHA-1)"
                .into()
        }
        E::UnsupportedCriticalExtension => "a certificate has an unsupported critical extension".into(),
        other => format!("path validation failed: {other:?}"),
    }
}

/// RFC 5280 §3.3 self-issued: issuer equals subject, and the authority key identifier, when
/// present, is the certificate's own subject key identifier.
fn self_issued(cert: &Certificate) -> bool {
    use x509_cert::ext::pkix::{AuthorityKeyIdentifier, SubjectKeyIdentifier};
    let tbs = &cert.tbs_certificate;
    if tbs.issuer != tbs.subject {
        return false;
    }
    let ext = |oid| {
        tbs.extensions
            .iter()
            .flatten()
            .find(move |e| e.extn_id == oid)
            .map(|e| e.extn_value.as_bytes())
    };
    let ski = ext(<SubjectKeyIdentifier as AssociatedOid>::OID)
        .and_then(|b| SubjectKeyIdentifier::from_der(b).ok());
    let aki = ext(<AuthorityKeyIdentifier as AssociatedOid>::OID)
        .and_then(|b| AuthorityKeyIdentifier::from_der(b).ok())
        .and_then(|a| a.key_identifier);
    match (aki, ski) {
        (Some(a), Some(s)) => a == s.0,
        _ => true,
    }
}

/// Trust anchors for [`CertFile::verify_trust`]: certificates from PEM files (`--trust`) and/or
/// the operating system's store (`--trust-system`).
#[derive(Debug, Clone, Default)]
pub struct TrustStore {
    ders: Vec<CertificateDer<'static>>,
}

impl TrustStore {
    /// An empty store (nothing is trusted).
    pub fn new() -> TrustStore {
        TrustStore::default()
    }

    /// Adds every certificate of a PEM text; returns how many.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Verification`] when a block is not a certificate or there is none.
    pub fn add_pem(&mut self, pem: &[u8]) -> Result<usize> {
        let certs = load_chain(pem)?;
        let n = certs.len();
        self.ders.extend(certs.into_iter().map(|(d, _)| d));
        Ok(n)
    }

    /// Adds the operating system's trusted CA certificates (on Linux the bundle OpenSSL uses,
    /// honouring `SSL_CERT_FILE`/`SSL_CERT_DIR`); returns how many were usable.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Usage`] when the system has no usable CA certificate.
    pub fn add_system(&mut self) -> Result<usize> {
        let found = rustls_native_certs::load_native_certs();
        let usable: Vec<CertificateDer<'static>> = found
            .certs
            .into_iter()
            .filter(|d| webpki::anchor_from_trusted_cert(d).is_ok())
            .collect();
        if usable.is_empty() {
            let why = found
                .errors
                .first()
                .map(|e| format!(": {e}"))
                .unwrap_or_default();
            return Err(Error::usage(format!(
                "no system CA certificates found{why}"
            )));
        }
        let n = usable.len();
        self.ders.extend(usable);
        Ok(n)
    }

    /// Whether the store trusts nothing.
    pub fn is_empty(&self) -> bool {
        self.ders.is_empty()
    }

    /// Number of anchors.
    pub fn len(&self) -> usize {
        self.ders.len()
    }
}

/// Seconds since the Unix epoch now.
pub fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// A signing identity: an RSA private key and its certificate.
#[derive(Debug, Clone)]
pub struct Signer {
    key: RsaPrivateKey,
    cert_pem: String,
}

impl Signer {
    /// Loads a PEM private key (PKCS#8 or PKCS#1) from `key_pem`, and the certificate from
    /// `cert_pem` or, when `None`, from the same PEM text.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Usage`] when no RSA key or certificate is found, or the certificate's
    /// key does not match the private key.
    pub fn from_pem(key_pem: &[u8], cert_pem: Option<&[u8]>) -> Result<Signer> {
        let key_text = String::from_utf8_lossy(key_pem);
        let mut key = None;
        for (label, block) in pem_blocks(&key_text) {
            let k = match label.as_str() {
                "PRIVATE KEY" => RsaPrivateKey::from_pkcs8_pem(&block).ok(),
                "RSA PRIVATE KEY" => RsaPrivateKey::from_pkcs1_pem(&block).ok(),
                _ => None,
            };
            if k.is_some() {
                key = k;
                break;
            }
        }
        let key = key.ok_or_else(|| {
            Error::usage("no unencrypted RSA private key (PKCS#8 or PKCS#1 PEM) found")
        })?;
        let cert_text = String::from_utf8_lossy(cert_pem.unwrap_or(key_pem)).into_owned();
        let blocks: Vec<String> = pem_blocks(&cert_text)
            .into_iter()
            .filter(|(l, _)| l == "CERTIFICATE")
            .map(|(_, b)| b)
            .collect();
        if blocks.is_empty() {
            return Err(Error::usage(
                "no certificate found, neither given apart nor in the key file",
            ));
        }
        let certs = load_certificates(cert_text.as_bytes())
            .map_err(|e| Error::usage(format!("bad signing certificate: {}", e.message())))?;
        let leaf = certs
            .first()
            .ok_or_else(|| Error::usage("no signing certificate"))?;
        if public_key(leaf)? != key.to_public_key() {
            return Err(Error::usage(
                "the certificate does not belong to the private key",
            ));
        }
        Ok(Signer {
            key,
            cert_pem: blocks.join("\n") + "\n",
        })
    }

    /// Length in bytes of the signature (the key's modulus size).
    pub fn signature_len(&self) -> usize {
        rsa::traits::PublicKeyParts::size(&self.key)
    }

    /// Length of the `.cert` file [`Signer::cert_file`] writes for `manifest_name`.
    pub fn cert_file_len(&self, algorithm: Algorithm, manifest_name: &str) -> usize {
        algorithm.name().len()
            + 1
            + manifest_name.len()
            + 3
            + 2 * self.signature_len()
            + 1
            + self.cert_pem.len()
    }

    /// The `.cert` file signing `manifest` (the exact `.mf` bytes).
    ///
    /// # Errors
    /// [`crate::ErrorKind::Usage`] if the RSA operation fails (key too small for the digest).
    pub fn cert_file(
        &self,
        algorithm: Algorithm,
        manifest_name: &str,
        manifest: &[u8],
    ) -> Result<Vec<u8>> {
        let sig = self
            .key
            .sign(scheme(algorithm), &algorithm.digest(manifest))
            .map_err(|e| Error::usage(format!("cannot sign: {e}")))?;
        let mut out = format!(
            "{}({manifest_name})= {}\n",
            algorithm.name(),
            hex::encode(sig)
        );
        out.push_str(&self.cert_pem);
        Ok(out.into_bytes())
    }
}

/// Parses a DER certificate (for callers holding DER rather than PEM).
///
/// # Errors
/// [`crate::ErrorKind::Verification`].
pub fn certificate_from_der(der: &[u8]) -> Result<Certificate> {
    Certificate::from_der(der).map_err(|e| Error::verification(format!("invalid certificate: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_cert_files_are_refused() {
        let l = Limits::DEFAULT;
        assert!(CertFile::parse(b"", &l).is_err());
        assert!(CertFile::parse(b"SHA1(a.mf)= 00\n", &l).is_err());
        assert!(CertFile::parse(
            b"SHA1(a.mf)= zz\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            &l
        )
        .is_err());
        assert!(CertFile::parse(
            b"SHA1(a.mf)= 00\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n",
            &l
        )
        .is_err());
    }
}
