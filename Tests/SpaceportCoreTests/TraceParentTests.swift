import Testing

@testable import SpaceportCore

@Suite("W3C traceparent: read as Trace Context level 1 says, anything else ignored")
struct TraceParentTests {
    @Test("the spec's examples give their trace id, parent id and sampled flag")
    func specExamples() throws {
        let sampled = try #require(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        #expect(sampled.version == 0)
        #expect(sampled.traceID.description == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(sampled.traceID == TraceID(high: 0x4bf9_2f35_77b3_4da6, low: 0xa3ce_929d_0e0e_4736))
        #expect(sampled.parentID.description == "00f067aa0ba902b7")
        #expect(sampled.parentID.value == 0x00f0_67aa_0ba9_02b7)
        #expect(sampled.flags == 1)
        #expect(sampled.sampled)

        let notSampled = try #require(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00"))
        #expect(!notSampled.sampled)
        #expect(notSampled.traceID == sampled.traceID)

        let other = try #require(TraceParent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"))
        #expect(other.traceID.description == "0af7651916cd43dd8448eb211c80319c")
        #expect(other.parentID.description == "b7ad6b7169203331")
    }

    @Test("only the flags' lowest bit says sampled")
    func sampledBit() {
        #expect(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-09")?.sampled == true)
        #expect(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-08")?.sampled == false)
        #expect(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-ff")?.flags == 0xFF)
    }

    @Test(
        "what the spec's test suite calls invalid is ignored",
        arguments: [
            "ff-12345678901234567890123456789012-1234567890123456-01",  // version ff
            "0g-12345678901234567890123456789012-1234567890123456-01",  // version not hex
            "0A-12345678901234567890123456789012-1234567890123456-01",  // version in uppercase
            ".0-12345678901234567890123456789012-1234567890123456-01",
            "0.-12345678901234567890123456789012-1234567890123456-01",
            "000-12345678901234567890123456789012-1234567890123456-01",  // version too long
            "0-12345678901234567890123456789012-1234567890123456-01",  // version too short
            "00-00000000000000000000000000000000-1234567890123456-01",  // trace id all zero
            "00-12345678901234567890123456789012-0000000000000000-01",  // parent id all zero
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",  // trace id in uppercase
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00F067AA0BA902B7-01",  // parent id in uppercase
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-0A",  // flags in uppercase
            "00-.2345678901234567890123456789012-1234567890123456-01",
            "00-1234567890123456789012345678901.-1234567890123456-01",
            "00-123456789012345678901234567890123-1234567890123456-01",  // trace id too long
            "00-1234567890123456789012345678901-1234567890123456-01",  // trace id too short
            "00-12345678901234567890123456789012-.234567890123456-01",
            "00-12345678901234567890123456789012-123456789012345.-01",
            "00-12345678901234567890123456789012-12345678901234567-01",  // parent id too long
            "00-12345678901234567890123456789012-123456789012345-01",  // parent id too short
            "00-12345678901234567890123456789012-1234567890123456-.0",
            "00-12345678901234567890123456789012-1234567890123456-0.",
            "00-12345678901234567890123456789012-1234567890123456-001",  // flags too long
            "00-12345678901234567890123456789012-1234567890123456-1",  // flags too short
            "00-12345678901234567890123456789012-1234567890123456-01.",  // version 00 ends with its flags
            "00-12345678901234567890123456789012-1234567890123456-01 ",
            " 00-12345678901234567890123456789012-1234567890123456-01",
            "00-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like",
            "00_12345678901234567890123456789012-1234567890123456-01",
            "cc-12345678901234567890123456789012-1234567890123456-01.what-the-future-will-be-like",
            "cc-12345678901234567890123456789012-1234567890123456",  // shorter than 55
            "",
        ])
    func invalid(value: String) {
        #expect(TraceParent(value) == nil)
    }

    @Test("a later version is read by its first three fields, alone or followed by a dash and more")
    func futureVersion() throws {
        let plain = try #require(TraceParent("cc-12345678901234567890123456789012-1234567890123456-01"))
        #expect(plain.version == 0xCC)
        #expect(plain.traceID.description == "12345678901234567890123456789012")
        #expect(plain.parentID.description == "1234567890123456")
        let extended = try #require(
            TraceParent(
                "cc-12345678901234567890123456789012-1234567890123456-01-what-the-future-will-be-like"))
        #expect(extended.traceID == plain.traceID)
        #expect(extended.parentID == plain.parentID)
        #expect(extended.flags == 1)
        #expect(TraceParent("01-12345678901234567890123456789012-1234567890123456-00-")?.version == 1)
        #expect(
            TraceParent("fe-00000000000000000000000000000000-1234567890123456-01-x") == nil,
            "an all-zero trace id is invalid in any version")
    }

    @Test("two traceparent fields are ignored, one is read")
    func fields() {
        #expect(TraceParent(fields: ["00-12345678901234567890123456789012-1234567890123456-01"]) != nil)
        #expect(
            TraceParent(fields: [
                "00-12345678901234567890123456789011-1234567890123456-01",
                "00-12345678901234567890123456789012-1234567890123456-01",
            ]) == nil)
        #expect(TraceParent(fields: [String]()) == nil)
    }

    @Test("a trace id is one value whichever parent carried it, and reads back from its hex")
    func traceIDValue() throws {
        let first = try #require(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"))
        let second = try #require(TraceParent("00-4bf92f3577b34da6a3ce929d0e0e4736-b7ad6b7169203331-00"))
        #expect(Set([first.traceID, second.traceID]).count == 1)
        #expect(TraceID("4bf92f3577b34da6a3ce929d0e0e4736") == first.traceID)
        #expect(
            TraceID("00000000000000000000000000000001")?.description == "00000000000000000000000000000001")
        #expect(TraceID("00000000000000000000000000000000") == nil)
        #expect(TraceID("4BF92F3577B34DA6A3CE929D0E0E4736") == nil)
        #expect(TraceID("4bf92f3577b34da6a3ce929d0e0e473") == nil)
    }
}
