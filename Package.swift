// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "Spaceport",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "spaceport", targets: ["spaceport"]),
        // For the benchmarks package (Benchmarks/), which depends on this one by path.
        .library(name: "SpaceportCore", targets: ["SpaceportCore"]),
        .library(name: "SpaceportProxy", targets: ["SpaceportProxy"]),
        .library(name: "SpaceportFeed", targets: ["SpaceportFeed"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
    ],
    targets: [
        .target(
            name: "SpaceportCore",
            dependencies: [.product(name: "Yams", package: "Yams")]
        ),
        .target(
            name: "SpaceportProxy",
            dependencies: [
                "SpaceportCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SpaceportFeed",
            dependencies: [
                "SpaceportCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "SpaceportDemo",
            dependencies: [
                "SpaceportCore",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]
        ),
        .target(
            name: "SpaceportDashboard",
            dependencies: ["SpaceportCore"]
        ),
        .systemLibrary(
            name: "CNcurses",
            pkgConfig: "ncursesw",
            providers: [.apt(["libncursesw5-dev"])]
        ),
        .target(
            name: "SpaceportTerminal",
            dependencies: ["CNcurses", "SpaceportDashboard"]
        ),
        .executableTarget(
            name: "spaceport",
            dependencies: [
                "SpaceportCore",
                "SpaceportProxy",
                "SpaceportFeed",
                "SpaceportDashboard",
                "SpaceportTerminal",
                "SpaceportDemo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // What several test targets share: hop collection, log capture, temporary folders.
        .target(
            name: "SpaceportTestSupport",
            dependencies: ["SpaceportCore", .product(name: "Logging", package: "swift-log")],
            path: "Tests/SpaceportTestSupport"
        ),
        .testTarget(name: "SpaceportCoreTests", dependencies: ["SpaceportCore", "SpaceportTestSupport"]),
        .testTarget(
            name: "SpaceportProxyTests",
            dependencies: [
                "SpaceportCore", "SpaceportProxy", "SpaceportTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SpaceportFeedTests",
            dependencies: [
                "SpaceportCore", "SpaceportProxy", "SpaceportFeed", "SpaceportTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SpaceportDashboardTests",
            dependencies: ["SpaceportCore", "SpaceportDashboard", "SpaceportTestSupport"]
        ),
        .testTarget(
            name: "SpaceportDemoTests",
            dependencies: [
                "SpaceportCore", "SpaceportDemo", "SpaceportProxy",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SpaceportHostileTests",
            dependencies: [
                "SpaceportCore", "SpaceportProxy", "SpaceportFeed", "SpaceportDashboard",
                "SpaceportTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "SpaceportEndToEndTests", dependencies: ["SpaceportCore"]),
    ]
)
