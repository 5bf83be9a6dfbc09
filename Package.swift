// swift-tools-version:6.0
import PackageDescription

/// The targets every transaction runs through. Release builds skip the run-time exclusivity
/// checks there (measured with callgrind: about a sixth of Sluice's instructions per
/// transaction); debug builds, which the tests use, keep them, so a violation still fails a test.
let hotPath: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release))]

let package = Package(
    name: "Sluice",
    products: [
        .executable(name: "sluice", targets: ["sluice"]),
        // Libraries for the microbenchmarks in Benchmarks/Micro, which import the core as a package.
        .library(name: "PostgresWire", targets: ["PostgresWire"]),
        .library(name: "SluiceAuth", targets: ["SluiceAuth"]),
        .library(name: "SluiceCore", targets: ["SluiceCore"]),
        .library(name: "SluiceIO", targets: ["SluiceIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    ],
    targets: [
        .target(name: "CSluiceSys"),
        .systemLibrary(
            name: "COpenSSL",
            pkgConfig: "openssl",
            providers: [.apt(["libssl-dev"])]
        ),
        .target(name: "PostgresWire", swiftSettings: hotPath),
        .target(name: "SluiceAuth", dependencies: ["COpenSSL"]),
        .target(name: "SluiceConfig", dependencies: ["SluiceAuth"]),
        .target(name: "SluiceCore", dependencies: ["PostgresWire", "SluiceAuth", "SluiceConfig"], swiftSettings: hotPath),
        .target(name: "SluiceIO", dependencies: ["CSluiceSys"], swiftSettings: hotPath),
        .target(
            name: "SluiceServer",
            dependencies: [
                "SluiceCore", "SluiceIO", "PostgresWire", "SluiceAuth", "SluiceConfig",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: hotPath
        ),
        .target(name: "SluiceLocalCluster"),
        .executableTarget(
            name: "sluice",
            dependencies: [
                "SluiceServer", "SluiceConfig", "SluiceLocalCluster",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "PostgresWireTests", dependencies: ["PostgresWire"]),
        .testTarget(name: "SluiceAuthTests", dependencies: ["SluiceAuth"]),
        .testTarget(name: "SluiceConfigTests", dependencies: ["SluiceConfig"]),
        .testTarget(name: "SluiceCoreTests", dependencies: ["SluiceCore", "SluiceConfig", "PostgresWire"], exclude: ["Corpus"]),
        .testTarget(name: "SluiceIOTests", dependencies: ["SluiceIO"]),
        .testTarget(
            name: "SluiceIntegrationTests",
            dependencies: ["SluiceLocalCluster", "sluice", "PostgresWire", "SluiceAuth"],
            // Driver scripts the tests run with python3, found through #filePath.
            exclude: ["Drivers"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
