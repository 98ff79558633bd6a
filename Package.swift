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
        .library(name: "SpaceportWire", targets: ["SpaceportWire"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.4"),
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
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // The feed's wire format: events and commands as lines of JSON, hops by hand both ways.
        .target(name: "SpaceportWire", dependencies: ["SpaceportCore"]),
        .target(
            name: "SpaceportFeed",
            dependencies: [
                "SpaceportCore", "SpaceportWire",
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
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOHPACK", package: "swift-nio-http2"),
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
        // The cluster source: credentials as kubectl finds them, the API client, the informer, the tree.
        .target(
            name: "SpaceportKube",
            dependencies: [
                "SpaceportCore",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        // The admin listener: /metrics for Prometheus, /healthz, /readyz and /tree.
        .target(
            name: "SpaceportAdmin",
            dependencies: [
                "SpaceportCore",
                "SpaceportProxy",
                "SpaceportFeed",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The wiring the commands call: the embedded proxy, the dashboard session, health probes, the demo.
        .target(
            name: "SpaceportApp",
            dependencies: [
                "SpaceportCore",
                "SpaceportProxy",
                "SpaceportFeed",
                "SpaceportDashboard",
                "SpaceportTerminal",
                "SpaceportDemo",
                "SpaceportAdmin",
                "SpaceportWire",
                "SpaceportKube",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .executableTarget(
            name: "spaceport",
            dependencies: [
                "SpaceportApp",
                "SpaceportCore",
                "SpaceportProxy",
                "SpaceportFeed",
                "SpaceportDashboard",
                "SpaceportTerminal",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        // bench/'s dashboard frame timer: built beside the tests, never part of the spaceport product.
        .executableTarget(
            name: "frame-bench",
            dependencies: [
                "SpaceportApp",
                "SpaceportCore",
                "SpaceportDashboard",
                "SpaceportTerminal",
                "SpaceportDemo",
                "SpaceportTestSupport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Sources/FrameBench"
        ),
        // What several test targets share: hop collection, log capture, temporary folders.
        .target(
            name: "SpaceportTestSupport",
            dependencies: ["SpaceportCore", .product(name: "Logging", package: "swift-log")],
            path: "Tests/SpaceportTestSupport"
        ),
        // The stand-in Kubernetes API server: HTTPS with a CA made in-process, documents kept as files.
        .target(
            name: "SpaceportKubeTestSupport",
            dependencies: [
                "SpaceportTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
            ],
            path: "Tests/SpaceportKubeTestSupport",
            resources: [.copy("Resources")]
        ),
        .testTarget(
            name: "SpaceportKubeTests",
            dependencies: [
                "SpaceportKube", "SpaceportKubeTestSupport", "SpaceportApp", "SpaceportCore",
                "SpaceportProxy",
                "SpaceportFeed", "SpaceportWire", "SpaceportDemo", "SpaceportTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(name: "SpaceportCoreTests", dependencies: ["SpaceportCore", "SpaceportTestSupport"]),
        .testTarget(
            name: "SpaceportWireTests",
            dependencies: [
                "SpaceportCore", "SpaceportWire", "SpaceportTestSupport",
                .product(name: "Yams", package: "Yams"),
            ]),
        .testTarget(
            name: "SpaceportProxyTests",
            dependencies: [
                "SpaceportCore", "SpaceportProxy", "SpaceportTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
            ]
        ),
        .testTarget(
            name: "SpaceportFeedTests",
            dependencies: [
                "SpaceportCore", "SpaceportProxy", "SpaceportFeed", "SpaceportWire", "SpaceportTestSupport",
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
                "SpaceportCore", "SpaceportDemo", "SpaceportProxy", "SpaceportTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SpaceportHostileTests",
            dependencies: [
                "SpaceportCore", "SpaceportProxy", "SpaceportFeed", "SpaceportWire", "SpaceportDashboard",
                "SpaceportTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
        .testTarget(
            name: "SpaceportAppTests",
            dependencies: [
                "SpaceportApp", "SpaceportCore", "SpaceportFeed", "SpaceportWire", "SpaceportDashboard",
                "SpaceportProxy",
                "SpaceportTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SpaceportAdminTests",
            dependencies: [
                "SpaceportAdmin", "SpaceportApp", "SpaceportCore", "SpaceportProxy", "SpaceportFeed",
                "SpaceportDemo",
                "SpaceportTestSupport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "SpaceportEndToEndTests",
            dependencies: [
                "SpaceportCore", "SpaceportWire", "SpaceportTestSupport", "SpaceportKubeTestSupport",
                .product(name: "Yams", package: "Yams"),
            ]),
    ]
)
