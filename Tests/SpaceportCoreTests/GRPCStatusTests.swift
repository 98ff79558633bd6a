import SpaceportCore
import Testing

@Suite("gRPC status codes")
struct GRPCStatusTests {
    @Test("a code is found by gRPC's name in any case or by its number, and named back")
    func namesAndNumbers() {
        #expect(GRPCStatus(named: "UNAVAILABLE") == .unavailable)
        #expect(GRPCStatus(named: "deadline_exceeded") == .deadlineExceeded)
        #expect(GRPCStatus(named: "14") == .unavailable)
        #expect(GRPCStatus(named: "17") == nil)
        #expect(GRPCStatus(named: "BROKEN") == nil)
        #expect(GRPCStatus.describe(12) == "UNIMPLEMENTED")
        #expect(GRPCStatus.describe(99) == "99")
        #expect(GRPCStatus.allCases.map(\.rawValue) == Array(0...16))
    }

    @Test("the proxy's HTTP answers map to gRPC's codes as gRPC's status mapping says")
    func answersMap() {
        #expect(GRPCStatus(answering: 404) == .unimplemented)
        #expect(GRPCStatus(answering: 400) == .invalidArgument)
        #expect(GRPCStatus(answering: 502) == .unavailable)
        #expect(GRPCStatus(answering: 503) == .unavailable)
        #expect(GRPCStatus(answering: 504) == .deadlineExceeded)
        #expect(GRPCStatus(answering: 508) == .internal)
    }
}
