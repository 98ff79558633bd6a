import SpaceportCore
import SpaceportTestSupport
import Testing

@testable import SpaceportWire

@Suite("Feed command lines, bent")
struct FeedCommandFuzzTests {
    static let iterations = 4_000

    @Test("any feed command line decodes to a command that encodes back to itself, or to an error")
    func feedCommandDecoderNeverCrashes() {
        var rng = SplitMix64(seed: 0x5EED_0004)
        let seeds = [
            #"{"cmd":"override","id":"1","space":"azureuser","service":"servicea","enabled":false}"#,
            #"{"cmd":"set-upstream","id":2,"space":"default","service":"svc","upstream":"127.0.0.1:9"}"#,
            #"{"cmd":"create-space","id":"c","name":"dev","parent":"default"}"#,
            #"{"cmd":"delete-space","name":"dev","recursive":true}"#,
            #"{"cmd":"auth","token":"s3cret"}"#,
        ]
        for _ in 0..<Self.iterations {
            let line = Mutator.mutate(seeds.randomElement(using: &rng)!, using: &rng)
            do {
                let command = try FeedCommand.decode(line: line)
                #expect(try FeedCommand.decode(line: command.jsonLine()) == command)
            } catch {
                #expect(!error.message.isEmpty)
            }
        }
    }
}
