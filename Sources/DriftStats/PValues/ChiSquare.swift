#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

// MARK: - Incomplete gamma

/// The regularized incomplete gamma functions P(a, x) and Q(a, x) = 1 − P(a, x).
///
/// These are the distribution functions behind the chi-square p-value:
/// `chi2.sf(x, k) = Q(k/2, x/2)`. They follow scipy (`scipy.special.gammainc`,
/// `scipy.special.gammaincc`) to within 1e-9 relative error for the shapes a chi-square
/// test meets (a = k/2 with k in 1...5000) and x from 1e-10 to 1e5, down to results at
/// the smallest normal double (see `Fixtures/golden/make_chi2_pvalues.py`).
///
/// Method (Numerical Recipes §6.2): for `x < a + 1` the power series gives P, and
/// Q = 1 − P; for `x >= a + 1` Lentz's continued fraction gives Q, and P = 1 − Q.
/// Whichever function can become tiny in a region is the one computed directly there,
/// so the far upper tail never goes through `1 − P`. The common prefactor
/// `xᵃ e⁻ˣ / Γ(a)` is built in log space (with `lgamma_r`, or Stirling's series for
/// `a >= 10`) and exponentiated once together with the logarithm of the series or
/// fraction, so a tail value does not underflow until the result itself does.
///
/// Boost and scipy add Temme's uniform asymptotic expansion for large `a` with `x`
/// near `a`. It is not needed for the 1e-9 target, measured against scipy: with the
/// Stirling form of the prefactor the worst relative error over the golden cases is
/// 3e-13 near the mode and 4e-12 in the far tail (where mpmath shows the 4e-12 is
/// scipy's own error), and 7e-12 over 400,000 random (a ≤ 2500, x ≤ 1e5) cases.
/// Beyond that range the series and the fraction need `O(√a)` steps (about 24,000 at
/// a = 1e7); the cap of ``maximumIterations`` is reached near a = 1e8, where results
/// lose accuracy. Chi-square tests in Driftline never get there.
///
/// Edge cases (never a trap):
/// - `x <= 0` or `x` NaN: P = 0, Q = 1. scipy returns NaN for negative or NaN `x`;
///   Driftline treats them as "no evidence", the conservative answer for a p-value.
/// - `x = +∞`: P = 1, Q = 0 (for finite `a`).
/// - `a = 0` and `x > 0`: P = 1, Q = 0, as scipy.
/// - `a = +∞` and finite `x`: P = 0, Q = 1, as scipy.
/// - `a < 0`, `a` NaN, or `a` and `x` both infinite: NaN, as scipy.
public enum IncompleteGamma {
    /// Regularized lower incomplete gamma function P(a, x) (`scipy.special.gammainc`).
    ///
    /// P(a, x) = γ(a, x) / Γ(a) = (1/Γ(a)) ∫₀ˣ tᵃ⁻¹ e⁻ᵗ dt.
    ///
    /// - Parameters:
    ///   - a: The shape, `a >= 0`.
    ///   - x: The upper limit of the integral.
    /// - Returns: P(a, x) in `0...1`; see ``IncompleteGamma`` for the edge cases.
    public static func regularizedLower(a: Double, x: Double) -> Double {
        switch evaluate(a: a, x: x) {
        case .lower(let p): return p
        case .upper(let q): return 1 - q
        }
    }

    /// Regularized upper incomplete gamma function Q(a, x) = 1 − P(a, x)
    /// (`scipy.special.gammaincc`).
    ///
    /// In the upper tail Q is computed directly, not as `1 − P`, so it keeps its
    /// relative accuracy down to the smallest normal doubles (about 2.2e-308); below
    /// that it degrades gracefully into subnormals and then 0.
    ///
    /// - Parameters:
    ///   - a: The shape, `a >= 0`.
    ///   - x: The lower limit of the integral ∫ₓ^∞ tᵃ⁻¹ e⁻ᵗ dt / Γ(a).
    /// - Returns: Q(a, x) in `0...1`; see ``IncompleteGamma`` for the edge cases.
    public static func regularizedUpper(a: Double, x: Double) -> Double {
        switch evaluate(a: a, x: x) {
        case .lower(let p): return 1 - p
        case .upper(let q): return q
        }
    }

    /// Which of P and Q was computed directly: the other one is `1 −` it.
    enum Value {
        case lower(Double)
        case upper(Double)
    }

    /// Maximum number of series terms or continued-fraction steps.
    ///
    /// Both need `O(√a)` steps near `x ≈ a` (about 400 for a = 2500, measured) and far
    /// fewer elsewhere; the cap only bounds the work for absurd shapes.
    static let maximumIterations = 100_000

    static func evaluate(a: Double, x: Double) -> Value {
        if a.isNaN || a < 0 { return .lower(.nan) }
        if x.isNaN || x <= 0 { return .lower(0) }
        if a == 0 { return .upper(0) }
        if a.isInfinite { return x.isInfinite ? .lower(.nan) : .lower(0) }
        if x.isInfinite { return .upper(0) }
        if x < a + 1 {
            return .lower(lowerSeries(a: a, x: x))
        } else {
            return .upper(upperContinuedFraction(a: a, x: x))
        }
    }

    /// log(xᵃ e⁻ˣ / Γ(a)), the prefactor shared by the series and the continued fraction.
    ///
    /// Written plainly, `a·log x − x − lgamma(a)` subtracts terms of size `a·log a`, and
    /// its rounding error (about `ε·a·log a`, 6e-12 relative at a = 2500, measured)
    /// becomes the relative error of P and Q. For `a >= 10` Stirling's series takes
    /// the large terms out analytically:
    /// `a·log(x/a) − (x − a) + ½·log(a / 2π) − s(a)`, where only the first two terms
    /// grow with `a` and nearly cancel exactly when `x ≈ a`, where the error mattered.
    static func logPrefactor(a: Double, x: Double) -> Double {
        if a < 10 { return a * log(x) - x - logGamma(a) }
        let excess = x - a
        let d = excess / a
        // log1p is accurate near x ≈ a; far from it, log(x / a) is (for tiny x, 1 + d
        // would have lost x entirely).
        let logRatio = abs(d) < 0.5 ? log1p(d) : log(x / a)
        return a * logRatio - excess + 0.5 * log(a / (2 * Double.pi)) - stirlingCorrection(a)
    }

    /// s(a) = lgamma(a) − ((a − ½)·log a − a + ½·log 2π), from its asymptotic series.
    ///
    /// For `a >= 10` the first omitted term, 691 / (360360·a¹¹), is below 2e-14.
    @inline(__always)
    static func stirlingCorrection(_ a: Double) -> Double {
        let r = 1 / a
        let r2 = r * r
        return r * (1.0 / 12 - r2 * (1.0 / 360 - r2 * (1.0 / 1260 - r2 * (1.0 / 1680 - r2 / 1188))))
    }

    /// P(a, x) from the power series
    /// P = xᵃ e⁻ˣ / Γ(a + 1) · Σₙ xⁿ / ((a + 1)(a + 2)…(a + n)), for `x < a + 1`.
    static func lowerSeries(a: Double, x: Double) -> Double {
        // Every term is positive and, since x < a + 1, the ratio x / (a + n) is below
        // 1 from the first term on: the sum converges and carries no cancellation.
        var term = 1.0
        var sum = 1.0
        var denominator = a
        for _ in 0..<maximumIterations {
            denominator += 1
            term *= x / denominator
            sum += term
            if term <= sum * Double.ulpOfOne * 0.5 { break }
        }
        return exp(logPrefactor(a: a, x: x) + log(sum / a))
    }

    /// Q(a, x) from the continued fraction
    /// Q = xᵃ e⁻ˣ / Γ(a) · 1 / (x + 1 − a − 1·(1 − a) / (x + 3 − a − 2·(2 − a) / (x + 5 − a − …))),
    /// evaluated with the modified Lentz algorithm, for `x >= a + 1`.
    static func upperContinuedFraction(a: Double, x: Double) -> Double {
        // Lentz's guard against a zero denominator: tiny compared with any term.
        let tiny = Double.leastNormalMagnitude / Double.ulpOfOne
        var b = x + 1 - a
        var c = 1 / tiny
        var d = 1 / b
        var fraction = d
        var i = 0.0
        for _ in 0..<maximumIterations {
            i += 1
            let an = -i * (i - a)
            b += 2
            d = an * d + b
            if abs(d) < tiny { d = tiny }
            c = b + an / c
            if abs(c) < tiny { c = tiny }
            d = 1 / d
            let delta = d * c
            fraction *= delta
            if abs(delta - 1) <= Double.ulpOfOne { break }
        }
        return exp(logPrefactor(a: a, x: x) + log(fraction))
    }

    /// log Γ(a) for `a > 0`.
    ///
    /// The corresponding C function is `lgamma_r`: the reentrant form, because
    /// `lgamma` writes the global `signgam` and p-values are computed concurrently.
    @inline(__always)
    static func logGamma(_ a: Double) -> Double {
        var sign: Int32 = 0
        return lgamma_r(a, &sign)
    }
}

// MARK: - Chi-square

/// Chi-square distribution tail and the chi-square test of homogeneity.
public enum ChiSquare {
    /// Survival function of the chi-square distribution with `k` degrees of freedom,
    /// P(X > x) (`scipy.stats.chi2.sf(x, k)`).
    ///
    /// It equals ``IncompleteGamma/regularizedUpper(a:x:)`` at `(k/2, x/2)` and keeps
    /// its relative accuracy far into the tail (p-values down to about 1e-300).
    ///
    /// Edge cases (never a trap): `x <= 0` → 1, `x = +∞` → 0, `x` NaN → 1 (scipy gives
    /// NaN; a p-value of 1 means "no evidence of drift"). A non-positive or NaN `k` has
    /// no distribution and gives NaN, as scipy.
    ///
    /// - Parameters:
    ///   - x: The statistic.
    ///   - k: The degrees of freedom, `k > 0` (need not be an integer).
    /// - Returns: The upper-tail probability in `0...1`.
    public static func survival(_ x: Double, degreesOfFreedom k: Double) -> Double {
        guard k > 0 else { return .nan }  // also NaN k
        return IncompleteGamma.regularizedUpper(a: k / 2, x: x / 2)
    }

    /// Chi-square test of homogeneity on the 2 × K table `[reference, window]`.
    ///
    /// Computes what `scipy.stats.chi2_contingency([reference, window], correction=False)`
    /// computes after the columns whose total is zero are dropped (scipy itself refuses
    /// a table with a zero expected count): expected counts
    /// `row total × column total / grand total`, statistic `Σ (observed − expected)² / expected`,
    /// `K' − 1` degrees of freedom for `K'` non-empty columns, and the p-value
    /// ``survival(_:degreesOfFreedom:)`` of the statistic.
    ///
    /// Defined results where the test is not: fewer than two non-empty columns, or a row
    /// (reference or window) with no counts at all, give statistic 0, 0 degrees of freedom
    /// and p-value 1 (no evidence of a difference).
    ///
    /// Totals are summed exactly in integers (128 bits, so any `UInt64` counts work) and
    /// rounded to `Double` once; the statistic is computed in `Double` and does not
    /// overflow for any counts. scipy sums in `float64`, so once a total passes 2⁵³ the
    /// two can differ in the last bit of an expected count.
    ///
    /// - Parameters:
    ///   - reference: Counts per category in the reference.
    ///   - window: Counts per category in the window; the same categories in the same
    ///     order, so `window.count == reference.count` (checked with a precondition).
    /// - Returns: The statistic, its degrees of freedom and the p-value.
    public static func homogeneity(
        reference: UnsafeBufferPointer<UInt64>,
        window: UnsafeBufferPointer<UInt64>
    ) -> (statistic: Double, degreesOfFreedom: Int, pValue: Double) {
        precondition(
            reference.count == window.count,
            "reference and window must count the same categories")
        var referenceTotal = ExactSum()
        var windowTotal = ExactSum()
        var columns = 0
        for j in 0..<reference.count {
            referenceTotal.add(reference[j])
            windowTotal.add(window[j])
            if reference[j] != 0 || window[j] != 0 { columns += 1 }
        }
        guard columns >= 2, !referenceTotal.isZero, !windowTotal.isZero else {
            return (0, 0, 1)
        }
        let rowTotals = (referenceTotal.value, windowTotal.value)
        var grand = referenceTotal
        grand.add(windowTotal)
        let grandTotal = grand.value

        var statistic = 0.0
        for j in 0..<reference.count where reference[j] != 0 || window[j] != 0 {
            var column = ExactSum()
            column.add(reference[j])
            column.add(window[j])
            let columnTotal = column.value
            // Same operations in the same order as scipy's expected_freq.
            let expectedReference = rowTotals.0 * columnTotal / grandTotal
            let expectedWindow = rowTotals.1 * columnTotal / grandTotal
            let dr = Double(reference[j]) - expectedReference
            let dw = Double(window[j]) - expectedWindow
            statistic += dr * dr / expectedReference + dw * dw / expectedWindow
        }
        let degreesOfFreedom = columns - 1
        return (statistic, degreesOfFreedom, survival(statistic, degreesOfFreedom: Double(degreesOfFreedom)))
    }

    /// Chi-square test of homogeneity on `[reference, window]`, for counts held in arrays.
    ///
    /// The same test as the `UnsafeBufferPointer` form of
    /// ``homogeneity(reference:window:)``, with the same defined results.
    ///
    /// - Parameters:
    ///   - reference: Counts per category in the reference.
    ///   - window: Counts per category in the window, as many as `reference`.
    /// - Returns: The statistic, its degrees of freedom and the p-value.
    public static func homogeneity(
        reference: [UInt64],
        window: [UInt64]
    ) -> (statistic: Double, degreesOfFreedom: Int, pValue: Double) {
        reference.withUnsafeBufferPointer { r in
            window.withUnsafeBufferPointer { w in
                homogeneity(reference: r, window: w)
            }
        }
    }

    /// A sum of `UInt64` counts kept exactly in 128 bits.
    struct ExactSum {
        var high: UInt64 = 0
        var low: UInt64 = 0

        var isZero: Bool { high == 0 && low == 0 }

        mutating func add(_ count: UInt64) {
            let (sum, carry) = low.addingReportingOverflow(count)
            low = sum
            if carry { high &+= 1 }
        }

        mutating func add(_ other: ExactSum) {
            add(other.low)
            high &+= other.high
        }

        /// The sum rounded to `Double` (exactly rounded below 2⁶⁴).
        var value: Double {
            high == 0 ? Double(low) : Double(high) * 0x1p64 + Double(low)
        }
    }
}
