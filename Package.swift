// swift-tools-version: 6.1
//
// Driftline: a streaming data-drift and model-monitoring engine.
// Module boundaries follow DESIGN.md: C system libraries at the bottom, the
// statistics core with no dependencies, the event/format layer above it, every
// librdkafka call in DriftKafka, wiring in DriftEngine and the CLI on top.

import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .swiftLanguageMode(.v6),
]

let package = Package(
    name: "driftline",
    products: [
        .executable(name: "driftline", targets: ["driftline"]),
        .library(name: "DriftStats", targets: ["DriftStats"]),
        .library(name: "DriftCore", targets: ["DriftCore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.4.1"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
    ],
    targets: [
        // MARK: - System libraries

        .systemLibrary(
            name: "CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .systemLibrary(
            name: "CZstd",
            pkgConfig: "libzstd",
            providers: [.apt(["libzstd-dev"])]
        ),

        // MARK: - Targets

        .target(
            name: "DriftStats",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DriftCore",
            dependencies: ["DriftStats", "CZstd"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DriftKafka",
            dependencies: ["CRdKafka"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "DriftEngine",
            dependencies: [
                "DriftStats", "DriftCore", "DriftKafka",
                .product(name: "Yams", package: "Yams"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "driftline",
            dependencies: [
                "DriftEngine",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: - Tests

        .testTarget(
            name: "DriftStatsTests",
            dependencies: ["DriftStats"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DriftCoreTests",
            dependencies: ["DriftCore"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DriftEngineTests",
            dependencies: [
                "DriftEngine", "DriftCore", "DriftStats", "DriftKafka",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DriftKafkaTests",
            dependencies: ["DriftKafka"],
            swiftSettings: swiftSettings
        ),
    ]
)
