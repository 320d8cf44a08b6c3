import DriftCore
import DriftEngine
import Testing

/// The terminal's table of drifted features formats whatever a metric holds: p-values of
/// any size (the example traffic has a chi-square p-value of 2.67e-311), infinities, NaN.
@Suite struct WindowTableTests {
    @Test(arguments: [
        (2.6699999999999997e-311, "2.67e-311"), (5e-324, "4.94e-324"), (Double.leastNormalMagnitude, "2.23e-308"),
        (Double.greatestFiniteMagnitude, "1.8e308"), (-2.5e-5, "-2.5e-5"), (1_234_567.0, "1.23e6"),
        (9_996_000.0, "1.0e7"), (0.000999, "9.99e-4"), (0.1234, "0.123"), (-0.5, "-0.5"), (0.0, "0.0"),
        (999_999.0, "999999.0"), (Double.infinity, "inf"), (-Double.infinity, "-inf"), (Double.nan, "nan"),
    ])
    func metricsOfEverySize(x: Double, expected: String) {
        #expect(WindowTable.fmt(x) == expected)
    }

    @Test func noMetricIsADash() {
        #expect(WindowTable.fmt(nil) == "-")
    }
}
