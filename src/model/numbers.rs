//! How roster reads and writes numbers people give or read: percentage limits
//! and thousands grouped with commas.

/// Checks a percentage limit: a finite number, not negative (NaN would switch
/// the check off: every comparison with it is false).
pub fn check_percent(value: f64) -> Result<f64, String> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        Err(format!(
            "{value} is not a percentage: give a number of 0 or more"
        ))
    }
}

/// 1234567 as "1,234,567".
pub fn group(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentages_must_be_numbers() {
        for bad in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1.0] {
            assert!(check_percent(bad).is_err(), "{bad}");
        }
        assert_eq!(check_percent(0.0), Ok(0.0));
        assert_eq!(check_percent(150.0), Ok(150.0));
    }

    #[test]
    fn groups_thousands() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(1000), "1,000");
        assert_eq!(group(1234567), "1,234,567");
    }
}
