// swift-tools-version: 6.1
//
// Benchmarks of Driftline, a nested package so that `swift build` / `swift test` of the
// root package stay light (DESIGN.md). Run with `./run.sh` or
// `swift package --allow-writing-to-package-directory benchmark`.

import PackageDescription

let package = Package(
    name: "driftline-benchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(name: "driftline", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "StatsKernels",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "DriftStats", package: "driftline"),
            ],
            path: "Benchmarks/StatsKernels",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
        .executableTarget(
            name: "Pipeline",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "DriftCore", package: "driftline"),
                .product(name: "DriftStats", package: "driftline"),
            ],
            path: "Benchmarks/Pipeline",
            swiftSettings: [.swiftLanguageMode(.v6)],
            plugins: [
                .plugin(name: "BenchmarkPlugin", package: "benchmark"),
            ]
        ),
    ]
)
