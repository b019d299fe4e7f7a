//! Numbers as people read them in every face's output.

/// 1234567 → "1,234,567".
pub fn grouped(n: u64) -> String {
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

/// Dollars: "$0.00", "$0.0042" for sub-cent amounts, "$12.34".
pub fn dollars(usd: f64) -> String {
    if usd == 0.0 {
        "$0.00".to_owned()
    } else if usd.abs() < 0.01 {
        format!("${usd:.4}")
    } else {
        format!("${usd:.2}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_thousands_and_shows_small_costs() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1_000), "1,000");
        assert_eq!(grouped(1_234_567), "1,234,567");
        assert_eq!(dollars(0.0), "$0.00");
        assert_eq!(dollars(0.0042), "$0.0042");
        assert_eq!(dollars(12.345), "$12.35");
    }
}
