//! Programmatic units (DMTF DSP0004 Annex C) as used by `ovf:capacityAllocationUnits` and
//! `rasd:AllocationUnits`: `byte`, `byte * 2^30`, `byte * 10^9`, `KiloBytes`... → a multiplier.

use crate::error::{Error, Result};

/// Parses a byte-based allocation unit into its multiplier in bytes.
///
/// Accepts the DSP0004 programmatic form (`byte`, `byte * 2^20`, `byte*1024`, `byte * 10^6`,
/// combined factors such as `byte * 2^10 * 1024`) and the spelled-out names producers write in
/// the wild (`KB`, `MB`, `GB`, `KiloBytes`, `MegaBytes` (VirtualBox), `GigaBytes`, `TB`).
///
/// # Errors
/// [`crate::ErrorKind::InvalidOvf`] for a unit that is not byte-based, a malformed expression or a
/// multiplier that does not fit in `u64`.
pub fn parse_allocation_units(s: &str) -> Result<u64> {
    let t = s.trim();
    let bad = || {
        Error::invalid_ovf(format!(
            "expected a byte allocation unit such as \"byte * 2^30\", found \"{s}\""
        ))
    };
    let named = match t.to_ascii_lowercase().as_str() {
        "b" | "byte" | "bytes" => Some(1u64),
        "kb" | "kilobyte" | "kilobytes" | "kib" => Some(1 << 10),
        "mb" | "megabyte" | "megabytes" | "mib" => Some(1 << 20),
        "gb" | "gigabyte" | "gigabytes" | "gib" => Some(1 << 30),
        "tb" | "terabyte" | "terabytes" | "tib" => Some(1 << 40),
        _ => None,
    };
    if let Some(m) = named {
        return Ok(m);
    }
    let mut parts = t.split('*').map(str::trim);
    let base = parts.next().ok_or_else(bad)?;
    if !base.eq_ignore_ascii_case("byte") && !base.eq_ignore_ascii_case("bytes") {
        return Err(bad());
    }
    let mut mult: u64 = 1;
    for p in parts {
        let f = if let Some((b, e)) = p.split_once('^') {
            let b: u64 = b.trim().parse().map_err(|_| bad())?;
            let e: u32 = e.trim().parse().map_err(|_| bad())?;
            b.checked_pow(e).ok_or_else(bad)?
        } else {
            p.parse::<u64>().map_err(|_| bad())?
        };
        if f == 0 {
            return Err(bad());
        }
        mult = mult.checked_mul(f).ok_or_else(bad)?;
    }
    Ok(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_allocation_units("byte").unwrap(), 1);
        assert_eq!(parse_allocation_units("byte * 2^30").unwrap(), 1 << 30);
        assert_eq!(parse_allocation_units(" byte*2^20 ").unwrap(), 1 << 20);
        assert_eq!(
            parse_allocation_units("byte * 10^9").unwrap(),
            1_000_000_000
        );
        assert_eq!(parse_allocation_units("byte * 1024").unwrap(), 1024);
        assert_eq!(parse_allocation_units("MegaBytes").unwrap(), 1 << 20);
        assert!(parse_allocation_units("hertz * 10^6").is_err());
        assert!(parse_allocation_units("byte * 2^99").is_err());
        assert!(parse_allocation_units("byte * x").is_err());
        assert!(parse_allocation_units("").is_err());
    }
}
