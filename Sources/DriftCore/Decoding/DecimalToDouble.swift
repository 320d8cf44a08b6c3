#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Correctly rounded conversion of a decimal `w × 10^q` to a `Double`, the value glibc
/// `strtod` gives for the same text.
///
/// Three tiers, cheapest first: Clinger's exact fast path (the mantissa and the power of ten
/// are both exact doubles, so one IEEE multiplication or division rounds correctly),
/// Eisel–Lemire (a 64×128-bit product with the truncated power of five, exact unless the
/// product lands too close to a halfway point), and `strtod` on a NUL-terminated copy of the
/// text for what is left: mantissas of more than 19 digits whose neighbours round apart,
/// and Eisel–Lemire's rare undecidable products.
enum DecimalToDouble {
    /// 1e0 ... 1e22: every one is exactly representable.
    @usableFromInline static let exactPowersOfTen: [Double] = [
        1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
        1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
    ]

    /// The double nearest to `(negative ? -1 : 1) × mantissa × 10^exponent`.
    ///
    /// - Parameters:
    ///   - mantissa: The first (at most 19) significant digits.
    ///   - exponent: The power of ten that applies to `mantissa`.
    ///   - negative: The sign.
    ///   - truncated: Whether nonzero digits were dropped after the 19th; the exact value then
    ///     lies strictly between `mantissa` and `mantissa + 1` (times the power of ten).
    ///   - text: The number as written (valid JSON number grammar), used only by the fallback.
    /// - Returns: The correctly rounded double; ±infinity when the magnitude overflows.
    @inline(__always)
    static func convert(
        mantissa w: UInt64, exponent q: Int, negative: Bool, truncated: Bool,
        text: UnsafeRawBufferPointer
    ) -> Double {
        if !truncated {
            if w == 0 { return negative ? -0.0 : 0.0 }
            if w <= 1 << 53 {
                if let x = clinger(mantissa: w, exponent: q, negative: negative) { return x }
                if q > 22 && q <= 22 + 15 {
                    // w × 10^(q-22) may still be an exact integer below 2^53.
                    let (scaled, overflow) = w.multipliedReportingOverflow(by: UInt64(exactPowersOfTen[q - 22]))
                    if !overflow && scaled <= 1 << 53 {
                        let x = Double(scaled) * 1e22
                        return negative ? -x : x
                    }
                }
            }
            if let bits = eiselLemire(w, q) {
                let x = Double(bitPattern: bits)
                return negative ? -x : x
            }
        } else if let low = eiselLemire(w, q), let high = eiselLemire(w &+ 1, q), low == high {
            let x = Double(bitPattern: low)
            return negative ? -x : x
        }
        return viaStrtod(text)
    }

    /// Clinger's fast path: the correctly rounded double when `1 ≤ w ≤ 2^53` and
    /// `|q| ≤ 22` (both operands exact, so the single rounding is the correct one), else nil.
    ///
    /// Small enough to inline where ``convert(mantissa:exponent:negative:truncated:text:)``
    /// is not; the common short decimals take it.
    @inline(__always)
    static func clinger(mantissa w: UInt64, exponent q: Int, negative: Bool) -> Double? {
        // One unsigned compare per range: w - 1 < 2^53 and q + 22 <= 44.
        guard w &- 1 < 1 << 53, UInt(bitPattern: q &+ 22) <= 44 else { return nil }
        let d = Double(w)
        let x = q < 0 ? d / exactPowersOfTen[-q] : d * exactPowersOfTen[q]
        return negative ? -x : x
    }

    /// Eisel–Lemire (fast_float's `compute_float`): the bits of the nearest double to
    /// `w × 10^q` (w ≠ 0 allowed to be any 64-bit value), or nil when the 128-bit product
    /// cannot decide the rounding.
    @inline(__always)
    static func eiselLemire(_ w0: UInt64, _ q: Int) -> UInt64? {
        if w0 == 0 || q < -342 { return 0 }
        if q > 308 { return 0x7FF0_0000_0000_0000 }
        let lz = w0.leadingZeroBitCount
        let w = w0 << UInt64(lz)
        let index = (q &+ 342) &* 2
        let (fiveHigh, fiveLow) = powersOfFive128.withUnsafeBufferPointer { ($0[index], $0[index &+ 1]) }
        var (high, low) = w.multipliedFullWidth(by: fiveHigh)
        // 55 bits of precision are needed (52 + 1 implicit + 2 for rounding); if the low
        // 9 bits of the high word are all ones, a carry from the low product may matter.
        if high & 0x1FF == 0x1FF {
            let second = w.multipliedFullWidth(by: fiveLow).high
            let (sum, carry) = low.addingReportingOverflow(second)
            low = sum
            if carry { high &+= 1 }
        }
        // Outside q in [-27, 55] the truncated power of five may be off by one in the last
        // place; a low word of all ones could then hide a carry.
        if low == .max && (q < -27 || q > 55) { return nil }
        let upperBit = Int(high >> 63)
        let shift = UInt64(upperBit &+ 9)
        var mantissa = high >> shift
        // power(q) = floor(q × log2(10)) + 63, then the exponent bias.
        var power2 = (((152_170 &+ 65_536) &* q) >> 16) &+ 63 &+ upperBit &- lz &+ 1023
        if power2 <= 0 {
            // Subnormal (or zero) result.
            if -power2 &+ 1 >= 64 { return 0 }
            mantissa >>= UInt64(-power2 &+ 1)
            mantissa &+= mantissa & 1
            mantissa >>= 1
            // A mantissa of exactly 2^52 is the smallest normal: its bits already say so.
            return mantissa
        }
        // Exactly halfway between two doubles: round to even. Only possible for small q.
        if low <= 1 && q >= -4 && q <= 23 && mantissa & 3 == 1 && (mantissa << shift) == high {
            mantissa &= ~1
        }
        mantissa &+= mantissa & 1
        mantissa >>= 1
        if mantissa >= 2 << 52 {
            mantissa = 1 << 52
            power2 &+= 1
        }
        mantissa &= ~(1 << 52)
        if power2 >= 0x7FF { return 0x7FF0_0000_0000_0000 }
        return UInt64(power2) << 52 | mantissa
    }

    /// The fallback: glibc `strtod` on a NUL-terminated copy of the number's text.
    ///
    /// The corresponding C function is `strtod` (C locale: the decimal point is `.`).
    @inline(never)
    static func viaStrtod(_ text: UnsafeRawBufferPointer) -> Double {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: text.count &+ 1) { buffer in
            for k in 0..<text.count {
                buffer[k] = CChar(bitPattern: text[k])
            }
            buffer[text.count] = 0
            return strtod(buffer.baseAddress.unsafelyUnwrapped, nil)
        }
    }
}
