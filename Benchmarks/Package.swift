// swift-tools-version: 6.1
import PackageDescription

// The proxy's speed claims, held by ordo-one's package-benchmark (`swift package benchmark`).
// A package of its own, so the root package's `swift build` and `swift test` never build it.
let package = Package(
    name: "SpaceportBenchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        .package(name: "Spaceport", path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
    ],
    targets: [
        // What each benchmark repeats: requests through the proxy's pipeline, hops to the feed.
        .target(
            name: "SpaceportBenchmarkSupport",
            dependencies: [
                .product(name: "SpaceportCore", package: "Spaceport"),
                .product(name: "SpaceportProxy", package: "Spaceport"),
                .product(name: "SpaceportFeed", package: "Spaceport"),
                .product(name: "SpaceportWire", package: "Spaceport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "SpaceportBenchmarks",
            dependencies: ["SpaceportBenchmarkSupport", .product(name: "Benchmark", package: "benchmark")],
            path: "Benchmarks/SpaceportBenchmarks",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        // The same scenarios without package-benchmark, whose allocator valgrind cannot run.
        .executableTarget(name: "InstructionCount", dependencies: ["SpaceportBenchmarkSupport"]),
    ]
)
