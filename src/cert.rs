//! OVF package signatures (`.cert`, docs/FORMATS.md §8): a line `ALG(name.mf)= <hex signature>`
//! followed by the signer's X.509 certificate in PEM (and optionally its chain).
//!
//! The signature is RSA PKCS#1 v1.5 over the exact bytes of the `.mf` (what
//! `openssl dgst -<alg> -sign key.pem` produces). All cryptography is RustCrypto (`rsa`,
//! `x509-cert`, `sha1`, `sha2`); nothing here is hand-written beyond choosing which key checks
//! which bytes.

use std::time::{SystemTime, UNIX_EPOCH};

use der::{Decode, Encode};
use rsa::pkcs1::DecodeRsaPrivateKey;
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::{Pkcs1v15Sign, RsaPrivateKey, RsaPublicKey};
use x509_cert::Certificate;

use crate::digest::Algorithm;
use crate::error::{Error, Result};
use crate::limits::Limits;

/// Longest certificate chain followed towards a trust anchor.
const MAX_CHAIN: usize = 8;

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
    /// Whether the certificate is issued by itself (and its own key verifies it).
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
    let text = String::from_utf8_lossy(pem);
    let mut certs = Vec::new();
    for (label, block) in pem_blocks(&text) {
        if label == "CERTIFICATE" {
            let c = <Certificate as der::DecodePem>::from_pem(block.as_bytes())
                .map_err(|e| Error::verification(format!("invalid X.509 certificate: {e}")))?;
            certs.push(c);
        }
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

/// Checks that `issuer`'s key signed `cert` (sha1/sha256/sha384/sha512 with RSA).
fn issued_by(cert: &Certificate, issuer: &Certificate) -> Result<()> {
    if cert.tbs_certificate.issuer != issuer.tbs_certificate.subject {
        return Err(Error::verification("issuer name does not match"));
    }
    let tbs = cert
        .tbs_certificate
        .to_der()
        .map_err(|e| Error::verification(format!("cannot encode certificate: {e}")))?;
    let sig = cert.signature.raw_bytes();
    let key = public_key(issuer)?;
    let oid = cert.signature_algorithm.oid.to_string();
    let r = match oid.as_str() {
        "1.2.840.113549.1.1.5" => key.verify(
            Pkcs1v15Sign::new::<sha1::Sha1>(),
            &Algorithm::Sha1.digest(&tbs),
            sig,
        ),
        "1.2.840.113549.1.1.11" => key.verify(
            Pkcs1v15Sign::new::<sha2::Sha256>(),
            &Algorithm::Sha256.digest(&tbs),
            sig,
        ),
        "1.2.840.113549.1.1.12" => {
            use sha2::Digest;
            key.verify(
                Pkcs1v15Sign::new::<sha2::Sha384>(),
                &sha2::Sha384::digest(&tbs),
                sig,
            )
        }
        "1.2.840.113549.1.1.13" => key.verify(
            Pkcs1v15Sign::new::<sha2::Sha512>(),
            &Algorithm::Sha512.digest(&tbs),
            sig,
        ),
        other => {
            return Err(Error::unsupported(format!(
                "certificate signature algorithm {other} is not supported"
            )))
        }
    };
    r.map_err(|_| Error::verification("certificate signature does not verify"))
}

/// Facts about a certificate.
pub fn info(cert: &Certificate) -> CertInfo {
    let tbs = &cert.tbs_certificate;
    CertInfo {
        subject: tbs.subject.to_string(),
        issuer: tbs.issuer.to_string(),
        not_before: tbs.validity.not_before.to_unix_duration().as_secs(),
        not_after: tbs.validity.not_after.to_unix_duration().as_secs(),
        self_signed: issued_by(cert, cert).is_ok(),
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
        let certificates = load_certificates(&bytes[pem_start..])?;
        Ok(CertFile {
            algorithm,
            manifest_name,
            signature,
            certificates,
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

    /// Checks that the signer's certificate chains (through the other certificates in the file)
    /// to one of `anchors`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Verification`] when no chain to an anchor exists.
    pub fn verify_chain(&self, anchors: &[Certificate]) -> Result<()> {
        let mut current = self
            .signer()
            .ok_or_else(|| Error::verification("no certificate"))?
            .clone();
        for _ in 0..MAX_CHAIN {
            if anchors
                .iter()
                .any(|a| a == &current || issued_by(&current, a).is_ok())
            {
                return Ok(());
            }
            let next = self
                .certificates
                .iter()
                .skip(1)
                .find(|c| *c != &current && issued_by(&current, c).is_ok());
            match next {
                Some(n) => current = n.clone(),
                None => break,
            }
        }
        Err(Error::verification(format!(
            "the signing certificate ({}) does not chain to a trusted certificate",
            current.tbs_certificate.subject
        )))
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
                "no certificate found (give it with --cert or in the key file)",
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
