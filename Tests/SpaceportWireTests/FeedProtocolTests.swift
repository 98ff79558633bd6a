import Foundation
import SpaceportTestSupport
import Testing

@testable import SpaceportCore
@testable import SpaceportWire

@Suite("Feed events and commands are one JSON object per line, and read back the same")
struct FeedProtocolTests {
    static let hop = HopEvent(
        id: "h1", flow: "f1", phase: .end, time: "2026-01-02T03:04:05.006Z", proxy: "dev",
        listener: "ingress",
        from: HopCaller(space: "azureuser", service: "servicea"), routeAs: "azureuser",
        routeAsSource: .header,
        service: "serviceb", tried: ["azureuser", "default"], space: "default", upstream: "127.0.0.1:5002",
        protocol: .http, method: "GET", host: "serviceb", path: "/x?y=1", status: 200, durationMs: 1.5,
        bytesIn: 10, bytesOut: 20, error: nil)

    static func events() throws -> [FeedEvent] {
        [
            .hello(FeedHello(proxy: "dev", pid: 42, version: "0.1.0", listeners: ["ingress 127.0.0.1:8080"])),
            .spaces(SpacesSnapshot(try SpacesFile.parse(text: SampleSpaces.azure, file: "spaces.yaml"))),
            .spaces(
                SpacesSnapshot(
                    try SpacesFile.parse(text: SampleSpaces.azure, file: "spaces.yaml"),
                    fileProblem: "spaces.yaml:3:1: bad")),
            .hop(hop),
            .hop(HopEvent(id: "h2", flow: "f2", phase: .start, time: "t", proxy: "p", listener: "ingress")),
            .dropped(count: 3), .error(message: "no such space", id: "7"),
            .tally(
                HopTally(
                    hops: 41_000, sampled: 250, failed: 3, seconds: 0.25,
                    routes: [
                        .init(routeAs: "azureuser", service: "servicea", hops: 40_990),
                        .init(routeAs: "default", service: nil, hops: 10),
                    ])),
            .error(message: "bad line", id: nil),
            .ack(id: "7"),
            .request(
                id: "9",
                KeptRequestView(
                    hop: "h1", method: "POST", target: "/orders", version: "HTTP/1.1",
                    fields: [
                        .init(name: "Host", value: "servicea"),
                        .init(name: "Authorization", value: nil, sensitive: true),
                    ], bodyBytes: 12, bodyProblem: nil)),
        ]
    }

    @Test("every event round-trips through its line, which carries its type and v: 1")
    func eventRoundTrips() throws {
        for event in try Self.events() {
            let line = event.jsonLine()
            #expect(line.hasSuffix("}\n"))
            #expect(line.dropLast().contains("\n") == false)
            #expect(line.contains("\"type\":\"\(event.type)\""))
            #expect(line.contains("\"v\":1"))
            #expect(try FeedEvent.decode(line: line) == event)
        }
    }

    @Test(
        "a spaces line says fileProblem only while the file is invalid, and a field a reader does not know is ignored"
    )
    func fileProblemIsOptional() throws {
        let tree = try SpacesFile.parse(text: SampleSpaces.azure, file: "spaces.yaml")
        #expect(!FeedEvent.spaces(SpacesSnapshot(tree)).jsonLine().contains("fileProblem"))
        let line = FeedEvent.spaces(SpacesSnapshot(tree, fileProblem: "spaces.yaml:3:1: bad")).jsonLine()
        #expect(line.contains("\"fileProblem\":\"spaces.yaml:3:1: bad\""))
        // As an older reader meets fileProblem: a field it does not know.
        let later = line.replacingOccurrences(of: "\"fileProblem\"", with: "\"somethingNew\"")
        #expect(try FeedEvent.decode(line: later) == .spaces(SpacesSnapshot(tree)))
    }

    @Test("a hop line shows every field, unknown ones as null")
    func hopShowsNulls() throws {
        let line = FeedEvent.hop(
            HopEvent(id: "h", flow: "f", phase: .start, time: "t", proxy: "p", listener: "l")
        )
        .jsonLine()
        let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any]
        let keys = Set(object?.keys.map { $0 } ?? [])
        for key in [
            "id", "flow", "phase", "time", "proxy", "listener", "from", "routeAs", "routeAsSource", "service",
            "tried",
            "space", "upstream", "protocol", "method", "host", "path", "status", "durationMs", "bytesIn",
            "bytesOut",
            "error", "type", "v",
        ] {
            #expect(keys.contains(key), "hop lines carry \(key)")
        }
        #expect(object?["error"] is NSNull)
    }

    @Test("a spaces snapshot rebuilds the tree it was taken from")
    func snapshotRebuildsTree() throws {
        let tree = try SpacesFile.parse(
            text: "domain: example.test\n" + SampleSpaces.threeLevels, file: "spaces.yaml")
        #expect(try SpacesSnapshot(tree).tree() == tree)
    }

    @Test(
        "lines that are not events are refused",
        arguments: [
            "not json", "{}", #"{"type":"nope","v":1}"#, #"{"type":"ack","v":1}"#,
            #"{"type":"dropped","count":"x"}"#,
        ])
    func badEvents(line: String) {
        #expect(throws: (any Error).self) { try FeedEvent.decode(line: line) }
    }

    @Test("every command round-trips through its line")
    func commandRoundTrips() throws {
        let commands: [FeedCommand] = [
            .auth(token: "s3cret"),
            .edit(id: "1", .override(space: "azureuser", service: "servicea", enabled: false)),
            .edit(
                id: nil,
                .setUpstream(space: "default", service: "a", upstream: try Address(parsing: "[::1]:9"))),
            .edit(id: "c", .createSpace(name: "dev", parent: "default")),
            .edit(id: "r", .createSpace(name: "root2", parent: nil)),
            .edit(id: "d", .deleteSpace(name: "dev", recursive: true)),
            .edit(id: "x", .removeInstance(space: "dev", service: "servicea")),
            .coalesceHops(id: "c"),
            .coalesceHops(id: nil),
            .sampleHops(id: "s", perSecond: 1000),
            .sampleHops(id: nil, perSecond: 1),
            .replay(id: "r1", hop: "9f2c4e1a7b3d5c6", space: "hotfix"),
            .request(id: nil, hop: "9f2c4e1a7b3d5c6"),
        ]
        for command in commands {
            #expect(try FeedCommand.decode(line: command.jsonLine()) == command)
        }
    }

    @Test("remove-service names the space and the service whose instance goes")
    func removeService() throws {
        #expect(
            try FeedCommand.decode(
                line: #"{"cmd":"remove-service","id":"13","service":"serviceb","space":"azureuser"}"#)
                == .edit(id: "13", .removeInstance(space: "azureuser", service: "serviceb")))
        #expect(throws: FeedCommandError(id: "14", message: "'service' must be a string")) {
            try FeedCommand.decode(line: #"{"cmd":"remove-service","id":"14","space":"azureuser"}"#)
        }
    }

    @Test("a numeric id is read as its digits")
    func numericId() throws {
        let command = try FeedCommand.decode(line: #"{"cmd":"delete-space","id":12,"name":"dev"}"#)
        #expect(command == .edit(id: "12", .deleteSpace(name: "dev", recursive: false)))
        for id in [0, 1] {
            let small = try FeedCommand.decode(line: #"{"cmd":"delete-space","id":\#(id),"name":"dev"}"#)
            #expect(small == .edit(id: "\(id)", .deleteSpace(name: "dev", recursive: false)))
        }
    }

    @Test(
        "a bad command says what is wrong and keeps its id",
        arguments: [
            ("[1]", nil, "not a JSON object; send one command per line, as {\"cmd\":\"override\",...}"),
            (
                #"{"id":"1"}"#, "1",
                "'cmd' is missing; expected one of: auth, override, set-upstream, remove-service, create-space, delete-space, coalesce-hops, sample-hops, replay, request"
            ),
            (
                #"{"cmd":"fly","id":"2"}"#, "2",
                "unknown command 'fly'; expected one of: auth, override, set-upstream, remove-service, create-space, delete-space, coalesce-hops, sample-hops, replay, request"
            ),
            (
                #"{"cmd":"sample-hops","id":"8"}"#, "8",
                "'perSecond' must be a whole number from 1 to 1000000"
            ),
            (
                #"{"cmd":"sample-hops","id":"8","perSecond":0}"#, "8",
                "'perSecond' must be a whole number from 1 to 1000000"
            ),
            (
                #"{"cmd":"sample-hops","id":"8","perSecond":2.5}"#, "8",
                "'perSecond' must be a whole number from 1 to 1000000"
            ),
            (
                #"{"cmd":"sample-hops","id":"8","perSecond":"100"}"#, "8",
                "'perSecond' must be a whole number from 1 to 1000000"
            ),
            (
                #"{"cmd":"override","id":"3","space":"a","service":"b","enabled":"no"}"#, "3",
                "'enabled' must be true or false"
            ),
            (
                #"{"cmd":"override","id":"3","space":"a","service":"b","enabled":1}"#, "3",
                "'enabled' must be true or false"
            ),
            (#"{"cmd":"override","id":"4","service":"b","enabled":true}"#, "4", "'space' must be a string"),
            (
                #"{"cmd":"set-upstream","id":"5","space":"a","service":"b","upstream":"x"}"#, "5",
                "'x' is not an address: expected HOST:PORT, for example 127.0.0.1:5001"
            ),
            (
                #"{"cmd":"create-space","id":"6","name":"Bad"}"#, "6",
                "bad space name: 'Bad' may hold only lowercase letters, digits and '-' (a DNS label)"
            ),
            (
                #"{"cmd":"create-space","id":"7","name":"ok","parent":3}"#, "7",
                "'parent' must be a string or null"
            ),
            (#"{"cmd":"auth","id":[1]}"#, nil, "'id' must be a string or a number"),
        ])
    func badCommands(line: String, id: String?, message: String) {
        #expect(throws: FeedCommandError(id: id, message: message)) { try FeedCommand.decode(line: line) }
    }
}
