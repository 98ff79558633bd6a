import Foundation
import SpaceportCore
import Testing

@testable import SpaceportFeed

/// The TCP feed's token as `spaceport proxy`, `tail` and `dash` take it: never on the command
/// line, where `ps` shows it to every local user.
@Suite("The feed token, kept out of sight")
struct FeedTokenCommandTests {
    /// A runtime folder with a spaces file in it.
    private func runtime() throws -> (folder: String, spaces: String) {
        let folder = Samples.temporaryFolder()
        let spaces = folder + "/spaces.yaml"
        try Samples.spacesYAML.write(toFile: spaces, atomically: true, encoding: .utf8)
        return (folder, spaces)
    }

    private func tokenFile(in folder: String, _ token: String, mode: mode_t = 0o600) throws -> String {
        let path = folder + "/token"
        try (token + "\n").write(toFile: path, atomically: false, encoding: .utf8)
        chmod(path, mode)
        return path
    }

    /// A proxy with a TCP feed on a free port; returns the process, its stderr and the feed's address.
    private func proxy(
        _ extra: [String], runtime: String, spaces: String, environment: [String: String] = [:]
    )
        async throws -> (SpaceportBinary, AsyncStream<String>, String)
    {
        let proxy = try SpaceportBinary(
            ["proxy", "--spaces", spaces, "--ingress", "127.0.0.1:0", "--feed-tcp", "127.0.0.1:0"] + extra,
            runtime: runtime, environment: environment)
        let errors = SpaceportBinary.lines(proxy.errors)
        let feed = try await firstLine(errors, "the feed line") { $0.contains(" and tcp://") }
        let address = String(feed.split(separator: " ").last ?? "")
        return (proxy, errors, address)
    }

    /// `spaceport tail --json` on `feed` until its hello, then stopped; the hello line.
    private func attach(
        _ feed: String, runtime: String, _ arguments: [String], environment: [String: String] = [:]
    )
        async throws -> String
    {
        let tail = try SpaceportBinary(
            ["tail", "--json", "--feed", feed] + arguments, runtime: runtime, environment: environment)
        let hello = try await firstLine(SpaceportBinary.lines(tail.output), "the hello") {
            $0.contains(#""type":"hello""#)
        }
        tail.process.interrupt()
        #expect(try await tail.exitStatus() == 0)
        return hello
    }

    /// Runs a command that should end by itself; its exit status and stderr. One that goes on
    /// running is stopped, so a failing test does not leave it behind.
    private static func ending(_ arguments: [String], runtime: String) async throws -> (Int32, String) {
        let run = try SpaceportBinary(arguments, runtime: runtime)
        defer { if run.process.isRunning { run.process.terminate() } }
        let status = try await run.exitStatus()
        return (
            status, String(decoding: run.errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        )
    }

    private func arguments(of pid: Int32) throws -> String {
        let data = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))
        return String(decoding: data, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
    }

    @Test("a token from a file or the environment never appears in the proxy's arguments, and attaches")
    func tokenNotInArguments() async throws {
        let (folder, spaces) = try runtime()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let token = "s3cret-\(UUID().uuidString)"
        let file = try tokenFile(in: folder, token)
        let (fromFile, _, feed) = try await proxy(
            ["--feed-token-file", file], runtime: folder, spaces: spaces)
        defer { if fromFile.process.isRunning { fromFile.process.terminate() } }
        let seen = try arguments(of: fromFile.process.processIdentifier)
        #expect(seen.contains("--feed-token-file \(file)"))
        #expect(!seen.contains(token))
        #expect(
            try await attach(feed, runtime: folder, ["--token-file", file]).contains(
                "\"pid\":\(fromFile.process.processIdentifier)"))
        let tail = try SpaceportBinary(
            ["tail", "--feed", feed], runtime: folder, environment: [FeedToken.environmentVariable: token])
        defer { if tail.process.isRunning { tail.process.terminate() } }
        _ = try await firstLine(SpaceportBinary.lines(tail.errors), "the attach note") {
            $0.hasPrefix("attached to")
        }
        #expect(!(try arguments(of: tail.process.processIdentifier)).contains(token))
        tail.process.interrupt()
        #expect(try await tail.exitStatus() == 0)
        fromFile.process.interrupt()
        #expect(try await fromFile.exitStatus() == 0)

        let (fromEnvironment, _, _) = try await proxy(
            ["--name", "env"], runtime: folder, spaces: spaces,
            environment: [FeedToken.environmentVariable: token])
        defer { if fromEnvironment.process.isRunning { fromEnvironment.process.terminate() } }
        #expect(!(try arguments(of: fromEnvironment.process.processIdentifier)).contains(token))
        fromEnvironment.process.interrupt()
        #expect(try await fromEnvironment.exitStatus() == 0)
    }

    @Test("a token on the command line is refused with one line saying how to give it instead")
    func tokenOnCommandLine() async throws {
        let (folder, spaces) = try runtime()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        for (arguments, flag, fileFlag) in [
            (
                ["proxy", "--spaces", spaces, "--feed-tcp", "127.0.0.1:0", "--feed-token", "s3cret"],
                "--feed-token", "--feed-token-file"
            ),
            (["tail", "--feed", "tcp://127.0.0.1:1", "--token", "s3cret"], "--token", "--token-file"),
            (["dash", "--attach", "tcp://127.0.0.1:1", "--token", "s3cret"], "--token", "--token-file"),
        ] {
            let (status, errors) = try await Self.ending(arguments, runtime: folder)
            #expect(status == 64)
            #expect(
                errors
                    == "spaceport: error: \(flag) would show the token to every user of this machine (ps lists arguments); put it in a file only you can read and pass \(fileFlag) FILE, or set SPACEPORT_FEED_TOKEN\n"
            )
        }
    }

    @Test("a token file others may read is refused, by the proxy and by tail, saying how to close it")
    func openTokenFile() async throws {
        let (folder, spaces) = try runtime()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let file = try tokenFile(in: folder, "s3cret", mode: 0o640)
        let expected =
            "spaceport: error: the token file \(file) may be read by others (mode 640); run `chmod 600 \(file)`, or write a new token\n"
        for arguments in [
            ["proxy", "--spaces", spaces, "--feed-tcp", "127.0.0.1:0", "--feed-token-file", file],
            ["tail", "--feed", "tcp://127.0.0.1:1", "--token-file", file],
        ] {
            let (status, errors) = try await Self.ending(arguments, runtime: folder)
            #expect(status == 1)
            #expect(errors == expected)
        }
        #expect(throws: FeedTokenError.open(file, mode: 0o640)) { try FeedToken.read(file: file) }
        chmod(file, 0o604)
        #expect(throws: FeedTokenError.open(file, mode: 0o604)) { try FeedToken.read(file: file) }
        chmod(file, 0o600)
        #expect(try FeedToken.read(file: file) == "s3cret")
    }

    @Test(
        "a proxy given no token makes one in a 0600 file beside its socket, says where, and tail attaches with it"
    )
    func generatedToken() async throws {
        let (folder, spaces) = try runtime()
        defer { try? FileManager.default.removeItem(atPath: folder) }
        let (proxy, errors, feed) = try await proxy([], runtime: folder, spaces: spaces)
        defer { if proxy.process.isRunning { proxy.process.terminate() } }
        let file = folder + "/spaceport/spaceport.token"
        let said = try await firstLine(errors, "where the token is") { $0.contains("token") }
        #expect(
            said.hasSuffix(
                "spaceport: the tcp feed's token, made for this run, is in \(file): clients pass --token-file \(file)"
            ))
        var info = stat()
        #expect(stat(file, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o600)
        #expect(info.st_uid == geteuid())
        #expect(try await attach(feed, runtime: folder, ["--token-file", file]).contains(#""type":"hello""#))
        proxy.process.interrupt()
        #expect(try await proxy.exitStatus() == 0)
        #expect(access(file, F_OK) != 0, "the made token goes with the proxy")
    }
}
