// swift-tools-version: 6.1
// Microbenchmarks for Sluice's hot-path pieces, with ordo-one/benchmark.
//
//     swift package --package-path Benchmarks/Micro benchmark
//
// SwiftPM refuses target paths outside a package's root ("target ... is outside the package
// root"), so these benchmarks import Sluice's modules through library products of the root
// package. The root Package.swift must export them:
//
//     .library(name: "PostgresWire", targets: ["PostgresWire"]),
//     .library(name: "SluiceAuth", targets: ["SluiceAuth"]),
//     .library(name: "SluiceCore", targets: ["SluiceCore"]),
//     .library(name: "SluiceIO", targets: ["SluiceIO"]),
//
// (Benchmarks/run-micro runs them today on a temporary copy of the repository that adds those
// four lines, without touching the real Package.swift.)
import PackageDescription

let package = Package(
    name: "SluiceMicroBenchmarks",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(name: "Sluice", path: "../.."),
    ],
    targets: [
        .executableTarget(
            name: "SluiceMicro",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "PostgresWire", package: "Sluice"),
                .product(name: "SluiceAuth", package: "Sluice"),
                .product(name: "SluiceCore", package: "Sluice"),
                .product(name: "SluiceIO", package: "Sluice"),
            ],
            path: "Benchmarks/SluiceMicro",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
