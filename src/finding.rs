//! Typed findings and the one policy that judges them.
//!
//! Every check of a package (`verify`, and the same verdict inside `import`, `unpack` and the
//! vSphere deploy) reports a [`Code`] with its *nominal* [`Severity`], the severity a strict
//! reading gives. What a user's options tolerate (`--lax`, `--skip-manifest-check`) is decided
//! once, by [`Policy::severity`], so every command downgrades the same findings the same way.
//! Codes serialise to stable kebab-case strings (listed in `docs/JSON.md`).

use serde::{Serialize, Serializer};

use crate::cert::TrustStore;
use crate::error::{ErrorKind, Hint};

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The input is not acceptable: verification or validation fails (ovftool would refuse it).
    Error,
    /// Suspicious or non-standard, reported, but does not fail.
    Warning,
}

impl Severity {
    /// `error` or `warning`, as in `--json` output.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $text:literal,)*) => {
        /// What a package finding is about: a stable identifier, serialised as kebab-case text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        pub enum Code {
            $($(#[doc = $doc])* $variant,)*
            /// A descriptor validation finding ([`crate::ovf::Diagnostic`]), by its code.
            Descriptor(&'static str),
            /// A failure that ended the read of the package (a bad tar header, an unsafe name,
            /// an I/O error), by its error kind.
            Error(ErrorKind),
        }

        impl Code {
            /// Every package-level code (without the descriptor and error-kind families).
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The stable text of the code (`digest-mismatch`).
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Code::$variant => $text,)*
                    Code::Descriptor(s) => s,
                    Code::Error(k) => k.code(),
                }
            }
        }
    };
}

codes! {
    /// The package holds no `.ovf` descriptor.
    NoDescriptor = "no-descriptor",
    /// More than one descriptor.
    MultipleDescriptors = "multiple-descriptors",
    /// More than one package manifest.
    MultipleManifests = "multiple-manifests",
    /// More than one certificate.
    MultipleCertificates = "multiple-certificates",
    /// The descriptor is not the first OVA entry.
    DescriptorNotFirst = "descriptor-not-first",
    /// Manifest and certificate are not right after the descriptor or both at the end.
    EntryOrder = "entry-order",
    /// The descriptor cannot be parsed.
    DescriptorInvalid = "descriptor-invalid",
    /// Two `References/File` share an id.
    DuplicateFileId = "duplicate-file-id",
    /// A `File` href is not a safe plain name.
    UnsafeHref = "unsafe-href",
    /// A referenced file is not in the package.
    MissingFile = "missing-file",
    /// A chunk of a chunked file has the wrong size (or `ovf:chunkSize` is 0).
    ChunkSize = "chunk-size",
    /// A chunk is missing while a later one is there: the chunks are not contiguous.
    ChunkMissing = "chunk-missing",
    /// `ovf:compression="gzip"` without the gzip magic, or gzip data without it.
    CompressionMismatch = "compression-mismatch",
    /// `ovf:size` differs from the stored size.
    SizeMismatch = "size-mismatch",
    /// A member the descriptor does not reference.
    UnreferencedFile = "unreferenced-file",
    /// The package has no manifest.
    NoManifest = "no-manifest",
    /// A `.mf` not named after the descriptor.
    ManifestNotThePackageManifest = "manifest-not-the-package-manifest",
    /// The manifest cannot be read.
    ManifestInvalid = "manifest-invalid",
    /// The manifest does not list the descriptor.
    ManifestMissingDescriptor = "manifest-missing-descriptor",
    /// The manifest does not list a referenced file.
    ManifestMissingFile = "manifest-missing-file",
    /// The manifest lists a file the package does not hold.
    ManifestListsMissingFile = "manifest-lists-missing-file",
    /// A digest does not match the manifest.
    DigestMismatch = "digest-mismatch",
    /// A digest could not be computed (a stream cannot be re-read).
    DigestNotComputed = "digest-not-computed",
    /// A certificate without a manifest.
    CertWithoutManifest = "cert-without-manifest",
    /// The certificate file cannot be read.
    CertInvalid = "cert-invalid",
    /// The signature names another manifest.
    SignatureWrongManifest = "signature-wrong-manifest",
    /// The signature does not verify against the manifest.
    SignatureInvalid = "signature-invalid",
    /// The signing certificate is not valid yet.
    CertNotYetValid = "cert-not-yet-valid",
    /// The signing certificate has expired.
    CertExpired = "cert-expired",
    /// The signing certificate is self-signed.
    CertSelfSigned = "cert-self-signed",
    /// The signer does not chain to a trust anchor.
    SignatureUntrusted = "signature-untrusted",
    /// No signature although one was required.
    Unsigned = "unsigned",
    /// A disk refers to a File that References does not define.
    DiskFileMissing = "disk-file-missing",
    /// A VMDK does not open: its header is bad or beyond the readers' limits, a delta disk's
    /// parent (parentFileNameHint) is missing, or its extents are not in the package.
    DiskHeader = "disk-header",
    /// The disk format and the VMDK's kind disagree.
    DiskFormatMismatch = "disk-format-mismatch",
    /// `ovf:capacity` and the VMDK capacity differ.
    DiskCapacityMismatch = "disk-capacity-mismatch",
    /// A delta disk whose parent Disk's file is not in the package (`ovf:parentRef`).
    DeltaParentAbsent = "delta-parent-absent",
    /// A disk's capacity cannot be computed.
    DiskCapacity = "disk-capacity",
    /// A disk does not decode (`--deep`).
    DiskDecode = "disk-decode",
    /// A disk's grain structure is broken (standalone disk verification).
    DiskStructure = "disk-structure",
    /// `--deep` could not decode this disk kind.
    DeepSkipped = "deep-skipped",
}

impl Code {
    /// What ovftool's `--lax` tolerates: the layout of the archive and loose coverage.
    fn lax_tolerated(self) -> bool {
        matches!(
            self,
            Code::DescriptorNotFirst
                | Code::EntryOrder
                | Code::UnreferencedFile
                | Code::ManifestMissingDescriptor
        )
    }

    /// Findings about the manifest and its digests.
    fn manifest(self) -> bool {
        matches!(
            self,
            Code::ManifestInvalid
                | Code::ManifestMissingDescriptor
                | Code::ManifestMissingFile
                | Code::ManifestListsMissingFile
                | Code::DigestMismatch
                | Code::DigestNotComputed
        )
    }
}

impl std::fmt::Display for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Code {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl PartialEq<str> for Code {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Code {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// What a user's options tolerate, for every command that judges a package (verify, import,
/// unpack, deploy): built from each command's options, applied in one place.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// ovftool's `--lax`: the archive layout (entry order, descriptor first), members the
    /// descriptor does not reference and a manifest that does not list the descriptor are
    /// warnings; descriptor validation tolerates what ovftool tolerates.
    pub lax: bool,
    /// ovftool's `--skipManifestCheck`: manifest problems (unreadable, incomplete, digest
    /// mismatches) are warnings. A signature that is present is still checked: a broken
    /// signature says someone changed what was signed, which is not what skipping digests
    /// waives.
    pub skip_manifest_check: bool,
    /// Fail a package without a valid signature from a trusted signer.
    pub require_signature: bool,
    /// Trust anchors the signer must chain to; not empty: a trusted signer is demanded.
    pub trust: TrustStore,
    /// Verification time for certificate validity, seconds since the Unix epoch; `None`: now.
    pub at: Option<u64>,
}

impl Policy {
    /// Whether the package must carry a valid signature (asked for, or trust anchors given).
    pub fn signature_demanded(&self) -> bool {
        self.require_signature || !self.trust.is_empty()
    }

    /// The severity of a finding of `code` whose strict reading is `nominal`: the one place
    /// where options downgrade findings.
    pub fn severity(&self, code: Code, nominal: Severity) -> Severity {
        if nominal == Severity::Warning {
            return Severity::Warning;
        }
        let tolerated =
            (self.lax && code.lax_tolerated()) || (self.skip_manifest_check && code.manifest());
        if tolerated {
            Severity::Warning
        } else {
            nominal
        }
    }

    /// The option, not set in this policy, that would make an error finding of `code` a
    /// warning ([`Policy::severity`]'s table read the other way); `None` for a warning or a
    /// finding no option tolerates. Lax mode first when both would.
    pub fn hint(&self, code: Code, severity: Severity) -> Option<Hint> {
        if severity != Severity::Error {
            return None;
        }
        if !self.lax && code.lax_tolerated() {
            Some(Hint::Lax)
        } else if !self.skip_manifest_check && code.manifest() {
            Some(Hint::SkipManifestCheck)
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for c in Code::ALL {
            let s = c.as_str();
            assert!(seen.insert(s), "{s} twice");
            assert!(s
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b == b'-' || b.is_ascii_digit()));
        }
    }

    #[test]
    fn codes_are_documented() {
        let doc = include_str!("../docs/JSON.md");
        for c in Code::ALL {
            assert!(
                doc.contains(&format!("`{}`", c.as_str())),
                "{c} not in docs/JSON.md"
            );
        }
    }

    #[test]
    fn policy_downgrades_by_class() {
        let strict = Policy::default();
        let lax = Policy {
            lax: true,
            ..Policy::default()
        };
        let skip = Policy {
            skip_manifest_check: true,
            ..Policy::default()
        };
        let e = Severity::Error;
        let w = Severity::Warning;
        for c in Code::ALL {
            assert_eq!(strict.severity(*c, e), e);
            assert_eq!(strict.severity(*c, w), w);
        }
        assert_eq!(lax.severity(Code::EntryOrder, e), w);
        assert_eq!(lax.severity(Code::DigestMismatch, e), e);
        assert_eq!(skip.severity(Code::DigestMismatch, e), w);
        assert_eq!(skip.severity(Code::ManifestInvalid, e), w);
        assert_eq!(skip.severity(Code::SignatureInvalid, e), e);
        assert_eq!(skip.severity(Code::CertInvalid, e), e);
        assert_eq!(skip.severity(Code::EntryOrder, e), e);
        assert_eq!(skip.severity(Code::MissingFile, e), e);
        assert_eq!(skip.severity(Code::Error(ErrorKind::Corrupt), e), e);
    }

    #[test]
    fn a_finding_an_option_tolerates_names_that_option() {
        let strict = Policy::default();
        let e = Severity::Error;
        let w = Severity::Warning;
        assert_eq!(strict.hint(Code::EntryOrder, e), Some(Hint::Lax));
        assert_eq!(
            strict.hint(Code::ManifestMissingDescriptor, e),
            Some(Hint::Lax)
        );
        assert_eq!(
            strict.hint(Code::DigestMismatch, e),
            Some(Hint::SkipManifestCheck)
        );
        assert_eq!(strict.hint(Code::EntryOrder, w), None);
        assert_eq!(strict.hint(Code::SignatureInvalid, e), None);
        assert_eq!(strict.hint(Code::Error(ErrorKind::Corrupt), e), None);
        // The hint is exactly the option that downgrades: with it set, the finding is a
        // warning.
        let lax = Policy {
            lax: true,
            ..Policy::default()
        };
        let skip = Policy {
            skip_manifest_check: true,
            ..Policy::default()
        };
        for c in Code::ALL {
            match strict.hint(*c, e) {
                Some(Hint::Lax) => assert_eq!(lax.severity(*c, e), w, "{c}"),
                Some(Hint::SkipManifestCheck) => assert_eq!(skip.severity(*c, e), w, "{c}"),
                None => {
                    assert_eq!(lax.severity(*c, e), e, "{c}");
                    assert_eq!(skip.severity(*c, e), e, "{c}");
                }
                Some(h) => panic!("{c}: {h:?}"),
            }
            assert_eq!(
                lax.hint(*c, lax.severity(*c, e))
                    .filter(|h| *h == Hint::Lax),
                None
            );
        }
    }
}
