//! ovftool's vSphere locators: `vi://[USER[:PASSWORD]@]HOST[:PORT]/PATH`.
//!
//! The path is an inventory path: `DATACENTER/host/CLUSTER_OR_HOST[/Resources/POOL...]` on a
//! vCenter, empty for a standalone ESXi host. User and password are percent-decoded (a `@` or
//! `:` in a password is written `%40`, `%3A`), as in any URL (RFC 3986 §2.1).

use crate::error::{Error, Result};

/// A parsed `vi://` locator.
#[derive(Clone, PartialEq, Eq)]
pub struct Locator {
    /// User name (decoded); `None` when the locator names none.
    pub user: Option<String>,
    /// Password from the locator (decoded). Never printed: [`Locator`]'s `Debug` and
    /// [`Locator::display`] leave it out.
    pub password: Option<String>,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (default 443).
    pub port: u16,
    /// Inventory path components (decoded), empty for `vi://host/`.
    pub path: Vec<String>,
}

impl std::fmt::Debug for Locator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.display())
    }
}

fn decode(s: &str, what: &str) -> Result<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' {
            let hex = b
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| {
                    Error::usage(format!("vi:// locator: bad percent-encoding in the {what}"))
                })?;
            out.push(hex);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8(out)
        .map_err(|_| Error::usage(format!("vi:// locator: the {what} is not UTF-8")))
}

impl Locator {
    /// Whether `s` is a `vi://` locator (case-insensitive scheme).
    pub fn is_locator(s: &str) -> bool {
        s.len() >= 5 && s[..5].eq_ignore_ascii_case("vi://")
    }

    /// Parses `vi://...`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::Usage`] naming what is wrong (never echoing the password).
    pub fn parse(s: &str) -> Result<Locator> {
        if !Self::is_locator(s) {
            return Err(Error::usage("expected a vi://HOST/... locator"));
        }
        let rest = &s[5..];
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        let (userinfo, hostport) = match authority.rfind('@') {
            Some(i) => (Some(&authority[..i]), &authority[i + 1..]),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            None => (None, None),
            Some(u) => match u.split_once(':') {
                Some((n, p)) => (Some(decode(n, "user name")?), Some(decode(p, "password")?)),
                None => (Some(decode(u, "user name")?), None),
            },
        };
        let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
            let (h, after) = h
                .split_once(']')
                .ok_or_else(|| Error::usage("vi:// locator: unclosed [ in the host"))?;
            (h.to_string(), after.strip_prefix(':'))
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), Some(p)),
                None => (hostport.to_string(), None),
            }
        };
        if host.is_empty() {
            return Err(Error::usage("vi:// locator: no host name"));
        }
        let port = match port {
            None => 443,
            Some(p) => p.parse().map_err(|_| {
                Error::usage(format!(
                    "vi:// locator: expected a port number, found {p:?}"
                ))
            })?,
        };
        let path = path
            .split('/')
            .filter(|c| !c.is_empty())
            .map(|c| decode(c, "inventory path"))
            .collect::<Result<Vec<_>>>()?;
        Ok(Locator {
            user: user.filter(|u| !u.is_empty()),
            password,
            host,
            port,
            path,
        })
    }

    /// `host:port` (IPv6 in brackets).
    pub fn host_port(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The locator without its password, for messages.
    pub fn display(&self) -> String {
        let user = self
            .user
            .as_ref()
            .map(|u| format!("{u}@"))
            .unwrap_or_default();
        format!("vi://{user}{}/{}", self.host_port(), self.path.join("/"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_locator() {
        let l = Locator::parse(
            "vi://admin%40corp:p%40ss%3Aw@vc.example:8443/DC%201/host/C0/Resources/P",
        )
        .unwrap();
        assert_eq!(l.user.as_deref(), Some("admin@corp"));
        assert_eq!(l.password.as_deref(), Some("p@ss:w"));
        assert_eq!(l.host, "vc.example");
        assert_eq!(l.port, 8443);
        assert_eq!(l.path, ["DC 1", "host", "C0", "Resources", "P"]);
        assert!(!format!("{l:?}").contains("p@ss"));
    }

    #[test]
    fn esx_and_ipv6() {
        let l = Locator::parse("vi://root@esx/").unwrap();
        assert_eq!((l.port, l.path.len(), l.password), (443, 0, None));
        let l = Locator::parse("VI://[::1]:9443").unwrap();
        assert_eq!((l.host.as_str(), l.port), ("::1", 9443));
        assert_eq!(l.host_port(), "[::1]:9443");
    }

    #[test]
    fn bad_locators_are_usage_errors() {
        for s in ["vi:///DC", "vi://h:notaport/", "vi://u:%zz@h/", "http://h/"] {
            assert!(Locator::parse(s).is_err(), "{s}");
        }
    }
}
