//! ProductSection property values: the value a deployment gives each property, checked against
//! its `ovf:type` and `ovf:qualifiers` (DSP0243 §9.5, Tables 6 and 7; docs/FORMATS.md §5.8).

use super::model::{ProductSection, Property};
use super::Envelope;
use crate::error::{Error, Result};

/// One property with its final value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PropertyValue {
    /// The environment key (`[class.]key[.instance]`).
    pub key: String,
    /// The value.
    pub value: String,
    /// `ovf:password`: never echo it.
    pub password: bool,
    /// Whether the user gave it (else it is the default).
    pub given: bool,
}

/// The default value of `prop` in deployment option `config`: a `Value` child for that
/// configuration, else `ovf:value`, else empty.
pub fn default_value(prop: &Property, config: Option<&str>) -> String {
    if let Some(c) = config {
        if let Some((_, v)) = prop.values.iter().find(|(vc, _)| vc.as_deref() == Some(c)) {
            return v.clone();
        }
    }
    prop.default.clone().unwrap_or_default()
}

fn shown(prop: &Property, value: &str) -> String {
    if prop.password {
        "(password)".to_string()
    } else {
        format!("{value:?}")
    }
}

/// Splits a qualifier list at top-level commas (`MinLen(1),ValueMap{"a","b"}`).
fn split_qualifiers(q: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut in_str = false;
    let mut cur = String::new();
    for c in q.chars() {
        match c {
            '"' => in_str = !in_str,
            '(' | '{' if !in_str => depth += 1,
            ')' | '}' if !in_str => depth -= 1,
            ',' if !in_str && depth == 0 => {
                if !cur.trim().is_empty() {
                    out.push(cur.trim().to_string());
                }
                cur.clear();
                continue;
            }
            _ => {}
        }
        cur.push(c);
    }
    if !cur.trim().is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

fn arg<'a>(q: &'a str, name: &str, open: char, close: char) -> Option<&'a str> {
    let rest = q.strip_prefix(name)?.trim_start();
    rest.strip_prefix(open)?.strip_suffix(close)
}

fn value_map(list: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_str = false;
    for c in list.chars() {
        match c {
            '"' => in_str = !in_str,
            ',' if !in_str => {
                out.push(cur.trim().to_string());
                cur.clear();
            }
            _ => cur.push(c),
        }
    }
    if !cur.trim().is_empty() || !out.is_empty() {
        out.push(cur.trim().to_string());
    }
    out
}

/// Checks `value` against `prop`'s type and qualifiers.
///
/// # Errors
/// [`crate::ErrorKind::Usage`] naming the property and what was expected (password values are
/// not echoed).
pub fn check_value(prop: &Property, value: &str) -> Result<()> {
    let fail = |what: String| {
        Err(Error::usage(format!(
            "property {}: expected {what}, found {}",
            prop.key,
            shown(prop, value)
        )))
    };
    let t = prop.type_.trim();
    let int_range: Option<(i128, i128)> = match t {
        "uint8" => Some((0, u8::MAX as i128)),
        "sint8" => Some((i8::MIN as i128, i8::MAX as i128)),
        "uint16" => Some((0, u16::MAX as i128)),
        "sint16" => Some((i16::MIN as i128, i16::MAX as i128)),
        "uint32" => Some((0, u32::MAX as i128)),
        "sint32" | "int" => Some((i32::MIN as i128, i32::MAX as i128)),
        "uint64" => Some((0, u64::MAX as i128)),
        "sint64" => Some((i64::MIN as i128, i64::MAX as i128)),
        _ => None,
    };
    let mut number: Option<f64> = None;
    if let Some((lo, hi)) = int_range {
        match value.trim().parse::<i128>() {
            Ok(n) if n >= lo && n <= hi => number = Some(n as f64),
            _ => return fail(format!("a {t} integer ({lo}..={hi})")),
        }
    } else {
        match t {
            "boolean"
                if !matches!(value.trim().to_ascii_lowercase().as_str(), "true" | "false") =>
            {
                return fail("true or false".into());
            }
            "real32" | "real64" => match value.trim().parse::<f64>() {
                Ok(f) if f.is_finite() => number = Some(f),
                _ => return fail(format!("a {t} number")),
            },
            _ => {} // string and unknown types: any text
        }
    }
    for q in split_qualifiers(prop.qualifiers.as_deref().unwrap_or("")) {
        let num = |s: &str| s.trim().parse::<f64>().ok();
        if let Some(n) = arg(&q, "MinLen", '(', ')').and_then(num) {
            if (value.chars().count() as f64) < n {
                return fail(format!("at least {n} characters"));
            }
        } else if let Some(n) = arg(&q, "MaxLen", '(', ')').and_then(num) {
            if (value.chars().count() as f64) > n {
                return fail(format!("at most {n} characters"));
            }
        } else if let Some(n) = arg(&q, "MinValue", '(', ')').and_then(num) {
            if number.is_some_and(|v| v < n) {
                return fail(format!("a value of at least {n}"));
            }
        } else if let Some(n) = arg(&q, "MaxValue", '(', ')').and_then(num) {
            if number.is_some_and(|v| v > n) {
                return fail(format!("a value of at most {n}"));
            }
        } else if let Some(list) = arg(&q, "ValueMap", '{', '}') {
            let allowed = value_map(list);
            if !allowed.is_empty() && !allowed.iter().any(|a| a == value) {
                return fail(format!("one of {}", allowed.join(", ")));
            }
        }
        // Other qualifiers (VMware's Ip, Net, expressions) are hints for UIs; not enforced.
    }
    Ok(())
}

/// The value of every property of `env` in deployment option `config`, with `given`
/// `key=value` pairs applied (matched on the full environment key or the bare `ovf:key`).
/// Returns the values and warnings (defaults that do not satisfy their own qualifiers).
///
/// # Errors
/// [`crate::ErrorKind::Usage`] for an unknown key, a property that is not user-configurable, or a
/// value that fails its type or qualifiers.
pub fn resolve(
    env: &Envelope,
    config: Option<&str>,
    given: &[(String, String)],
) -> Result<(Vec<PropertyValue>, Vec<String>)> {
    let props: Vec<(std::sync::Arc<ProductSection>, Property)> = env
        .properties()
        .into_iter()
        .filter(|(_, p)| match (&p.configuration, config) {
            (None, _) => true,
            (Some(pc), Some(c)) => pc.split_whitespace().any(|x| x == c),
            (Some(_), None) => true,
        })
        .collect();
    let mut out: Vec<PropertyValue> = props
        .iter()
        .map(|(s, p)| PropertyValue {
            key: p.full_key(s),
            value: default_value(p, config),
            password: p.password,
            given: false,
        })
        .collect();
    let mut warnings = Vec::new();
    for (k, v) in given {
        let idx = out
            .iter()
            .position(|pv| &pv.key == k)
            .or_else(|| props.iter().position(|(_, p)| &p.key == k));
        let Some(i) = idx else {
            let known: Vec<&str> = out.iter().map(|p| p.key.as_str()).collect();
            return Err(Error::usage(format!(
                "property {k}: no such property (known: {})",
                if known.is_empty() {
                    "none".to_string()
                } else {
                    known.join(", ")
                }
            )));
        };
        let p = &props[i].1;
        if !p.user_configurable {
            return Err(Error::usage(format!(
                "property {k}: the property is not user-configurable"
            )));
        }
        check_value(p, v)?;
        out[i].value = v.clone();
        out[i].given = true;
    }
    for (pv, (_, p)) in out.iter().zip(&props) {
        if !pv.given && p.user_configurable {
            if let Err(e) = check_value(p, &pv.value) {
                warnings.push(format!(
                    "{} (default kept; give {} a value to replace it)",
                    e.message(),
                    pv.key
                ));
            }
        }
    }
    Ok((out, warnings))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prop(t: &str, q: Option<&str>) -> Property {
        Property {
            key: "k".into(),
            type_: t.into(),
            qualifiers: q.map(str::to_string),
            default: None,
            user_configurable: true,
            password: false,
            label: None,
            description: None,
            category: None,
            configuration: None,
            values: Vec::new(),
            pos: Default::default(),
        }
    }

    #[test]
    fn types() {
        assert!(check_value(&prop("uint8", None), "255").is_ok());
        assert!(check_value(&prop("uint8", None), "256").is_err());
        assert!(check_value(&prop("sint8", None), "-128").is_ok());
        assert!(check_value(&prop("uint16", None), "-1").is_err());
        assert!(check_value(&prop("boolean", None), "True").is_ok());
        assert!(check_value(&prop("boolean", None), "yes").is_err());
        assert!(check_value(&prop("real64", None), "1.5").is_ok());
        assert!(check_value(&prop("real64", None), "x").is_err());
        assert!(check_value(&prop("string", None), "anything").is_ok());
    }

    #[test]
    fn qualifiers() {
        let p = prop("string", Some("MinLen(2),MaxLen(4)"));
        assert!(check_value(&p, "a").is_err());
        assert!(check_value(&p, "abc").is_ok());
        assert!(check_value(&p, "abcde").is_err());
        let p = prop("string", Some(r#"ValueMap{"small","large, xl"}"#));
        assert!(check_value(&p, "small").is_ok());
        assert!(check_value(&p, "large, xl").is_ok());
        assert!(check_value(&p, "medium").is_err());
        let p = prop("uint32", Some("MinValue(10),MaxValue(20)"));
        assert!(check_value(&p, "9").is_err());
        assert!(check_value(&p, "15").is_ok());
        assert!(check_value(&p, "21").is_err());
    }

    #[test]
    fn password_is_not_echoed() {
        let mut p = prop("string", Some("MinLen(8)"));
        p.password = true;
        let e = check_value(&p, "secret").unwrap_err();
        assert!(!e.message().contains("secret"), "{e}");
    }
}
