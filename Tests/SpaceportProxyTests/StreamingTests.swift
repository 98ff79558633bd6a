import Foundation
import SpaceportCore
import SpaceportProxy
import Testing

/// Over 100 MB, so a proxy that buffered a body whole could not hide it.
private let bigBody = 110_000_000
/// What the whole test process may grow by while a big body passes through.
/// Well under the 105 MiB body, so a proxy that buffered it whole still fails; the margin is
/// for the other suites that allocate in this same process while these run in parallel.
private let memoryBudget = 80 * 1024 * 1024

private func singleService(_ upstream: TestUpstream) -> String {
    """
    spaces:
      default:
        services:
          app: { upstream: \(upstream.address) }
    """
}

@Suite("Streaming bodies", .serialized)
struct StreamingTests {
    @Test("a body over 100 MB reaches a slow reader while the proxy's memory stays bounded")
    func bigDownload() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(singleService(upstream)) { proxy in
            let before = residentBytes()
            let peak = PeakMemory()
            let result = try await Curl.download([
                "--limit-rate", "60M", proxy.url("app.localhost", "/bytes/\(bigBody)"),
            ])
            let grew = peak.stop() - before
            #expect(result.status == 200)
            #expect(result.bytes == bigBody)
            #expect(grew < memoryBudget, "resident memory grew by \(grew / 1_048_576) MiB")
            let hop = try await proxy.hops.end()
            #expect(hop.bytesOut == bigBody)
            print("100 MB download through the proxy: resident memory grew by \(grew / 1024) KiB")
        }
        await upstream.stop()
    }

    @Test("a body over 100 MB reaches a slow upstream, with a length and chunked, while memory stays bounded")
    func bigUpload() async throws {
        let upstream = try await TestUpstream.start("app")
        let file = try SparseFile(size: bigBody)
        defer { file.remove() }
        try await RunningProxy.with(singleService(upstream)) { proxy in
            for chunked in [false, true] {
                let before = residentBytes()
                let peak = PeakMemory()
                let upload =
                    chunked
                    ? try await Curl.run(
                        ["-T", "-", proxy.url("app.localhost", "/count?slow")], stdinFile: file.path)
                    : try await Curl.run(["-T", file.path, proxy.url("app.localhost", "/count?slow")])
                let grew = peak.stop() - before
                #expect(upload.status == 200)
                #expect(try upload.seen().bodyBytes == bigBody)
                #expect(try upload.seen().header("transfer-encoding") == (chunked ? "chunked" : nil))
                #expect(grew < memoryBudget, "resident memory grew by \(grew / 1_048_576) MiB")
                print(
                    "100 MB upload (\(chunked ? "chunked" : "content-length")): resident memory grew by \(grew / 1024) KiB"
                )
            }
        }
        await upstream.stop()
    }

    @Test("chunked bodies pass both ways and arrive whole")
    func chunkedBothWays() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(singleService(upstream)) { proxy in
            let client = try RawClient(proxy.listeners.ingress)
            let body = String(repeating: "spaceport ", count: 5000)
            try await blocking {
                try client.send(
                    "POST /count HTTP/1.1\r\nHost: app.localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
                        + "\(String(body.utf8.count / 2, radix: 16))\r\n\(body.prefix(body.count / 2))\r\n"
                        + "\(String(body.utf8.count - body.utf8.count / 2, radix: 16))\r\n\(body.dropFirst(body.count / 2))\r\n"
                        + "0\r\n\r\n")
            }
            let up = try await blocking { try client.readResponse() }
            #expect(up.status == 200)
            let seen = try JSONDecoder().decode(TestUpstream.Seen.self, from: Data(up.body))
            #expect(seen.bodyBytes == body.utf8.count)
            #expect(seen.header("transfer-encoding") == "chunked")

            try await blocking {
                try client.send("GET /bytes/300000?chunked HTTP/1.1\r\nHost: app.localhost\r\n\r\n")
            }
            let down = try await blocking { try client.readResponse() }
            #expect(down.headers["transfer-encoding"] == "chunked")
            #expect(down.body.count == 300_000)
        }
        await upstream.stop()
    }

    @Test("upstream connections are kept alive and reused across requests")
    func connectionReuse() async throws {
        let upstream = try await TestUpstream.start("app")
        try await RunningProxy.with(singleService(upstream)) { proxy in
            let urls = (0..<10).map { proxy.url("app.localhost", "/r\($0)") }
            let discard = Array(repeating: ["-o", "/dev/null"], count: urls.count).flatMap { $0 }
            let result = try await Run.process(try RequiredTool.curl.path(), ["-sS"] + discard + urls)
            #expect(result.status == 0)
            #expect(upstream.requests == 10)
            #expect(upstream.acceptedConnections == 1)

            for index in 0..<10 { _ = try await Curl.run([proxy.url("app.localhost", "/s\(index)")]) }
            #expect(upstream.requests == 20)
            // One pooled connection per event loop at most, however many clients came and went.
            #expect(upstream.acceptedConnections <= 1 + ProcessInfo.processInfo.activeProcessorCount)
        }
        await upstream.stop()
    }
}
