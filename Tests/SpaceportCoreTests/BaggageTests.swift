import Testing

@testable import SpaceportCore

@Suite("W3C baggage: members read as the spec says, and bridged without disturbing the rest")
struct BaggageTests {
    typealias Property = Baggage.Property

    @Test("the spec's example keeps its three members byte for byte, properties with their member")
    func specExample() {
        let field = "key1=value1;property1;property2, key2 = value2, key3=value3; propertyKey=propertyValue"
        #expect(field.utf8.count == 86)
        let baggage = Baggage(field)
        #expect(
            baggage.members.map(\.text) == [
                "key1=value1;property1;property2", "key2 = value2", "key3=value3; propertyKey=propertyValue",
            ])
        #expect(baggage.members.map(\.text.utf8.count) == [31, 13, 38])
        #expect(baggage.members.map(\.key) == ["key1", "key2", "key3"])
        #expect(baggage.members.map(\.value) == ["value1", "value2", "value3"])
        #expect(baggage.members[0].properties == [Property(key: "property1"), Property(key: "property2")])
        #expect(baggage.members[1].properties.isEmpty)
        #expect(baggage.members[2].properties == [Property(key: "propertyKey", value: "propertyValue")])
        #expect(baggage.skipped.isEmpty)
    }

    @Test(
        "the spec's entries read the same from one field, from two, and with spaces around names and values")
    func specEntries() {
        let single = Baggage("userId=alice,serverNode=DF%2028,isProduction=false")
        let split = Baggage(fields: ["userId=alice", "serverNode=DF%2028,isProduction=false"])
        let spaced = Baggage(fields: ["userId =   alice", "serverNode = DF%2028, isProduction = false"])
        for baggage in [single, split, spaced] {
            #expect(baggage.members.map(\.key) == ["userId", "serverNode", "isProduction"])
            #expect(baggage.members.map(\.value) == ["alice", "DF 28", "false"])
            #expect(baggage.skipped.isEmpty)
        }
        #expect(
            spaced.members.map(\.text) == [
                "userId =   alice", "serverNode = DF%2028", "isProduction = false",
            ])
        #expect(spaced.members[1].encodedValue == "DF%2028")
    }

    @Test("tabs are whitespace too, around members, keys, '=', values and properties")
    func tabs() {
        let baggage = Baggage("\t k\t=\tv\t;\tp\t=\tq\t;\tflag\t ,\tnext=1")
        #expect(baggage.members.map(\.key) == ["k", "next"])
        #expect(baggage.members[0].value == "v")
        #expect(baggage.members[0].properties == [Property(key: "p", value: "q"), Property(key: "flag")])
        #expect(baggage.members[0].text == "k\t=\tv\t;\tp\t=\tq\t;\tflag")
    }

    @Test(
        "values are percent-decoded as UTF-8, a plus stays a plus, and bytes that are not UTF-8 become U+FFFD",
        arguments: [
            ("a%2Cb", "a,b"), ("a%3Bb", "a;b"), ("DF%2028", "DF 28"), ("Am%C3%A9lie", "Amélie"),
            ("am%c3%a9lie", "amélie"), ("a+b", "a+b"), ("%2B", "+"), ("100%25", "100%"), ("k=v=w", "k=v=w"),
            ("%FF", "\u{FFFD}"), ("", ""),
        ])
    func decoding(encoded: String, decoded: String) {
        let baggage = Baggage("key=\(encoded)")
        #expect(baggage.value(forKey: "key") == decoded)
        #expect(baggage.members.first?.encodedValue == encoded)
    }

    @Test("a malformed member is skipped on its own, with what is wrong, and the good ones around it stay")
    func malformedAmongGood() {
        let baggage = Baggage(
            #"good=1,noequals,bad key=2,=empty,quote="x",pct=%zz,short=%2,name=Amélie,a=b c,trail=1;,p=1;=x,last=ok;prop"#
        )
        #expect(baggage.members.map(\.key) == ["good", "last"])
        #expect(baggage.members[1].properties == [Property(key: "prop")])
        #expect(
            baggage.skipped.map(\.text) == [
                "noequals", "bad key=2", "=empty", #"quote="x""#, "pct=%zz", "short=%2", "name=Amélie",
                "a=b c", "trail=1;",
                "p=1;=x",
            ])
        #expect(
            baggage.skipped.map(\.problem) == [
                .noEquals, .noEquals, .noKey, .badValue, .badPercentEncoding, .badPercentEncoding, .badValue,
                .badValue,
                .badProperty, .badProperty,
            ])
        #expect(
            baggage.skipped[1].description
                == "skipped the baggage member 'bad key=2': its key is not followed by '='")
        #expect(
            baggage.skipped[4].description
                == "skipped the baggage member 'pct=%zz': its value has a '%' that is not followed by two hex digits"
        )
    }

    @Test("empty elements between commas and empty fields are no members and nothing to report")
    func emptyElements() {
        let baggage = Baggage(fields: ["", "a=1,, ,\t,b=2,", " "])
        #expect(baggage.members.map(\.key) == ["a", "b"])
        #expect(baggage.skipped.isEmpty)
        #expect(Baggage().members.isEmpty)
    }

    @Test("when a key repeats the first occurrence wins, and bridging changes only that one")
    func duplicateKeys() {
        let baggage = Baggage("azds-route-as=bob;p,other=1,azds-route-as=carol")
        #expect(baggage.members.count == 3)
        #expect(baggage.value(forKey: "azds-route-as") == "bob")
        #expect(baggage.member(forKey: "azds-route-as")?.properties == [Property(key: "p")])
        #expect(
            baggage.bridging(["azds-route-as"], to: "alice").field
                == "azds-route-as=alice;p,other=1,azds-route-as=carol")
        #expect(
            baggage.bridging(["azds-route-as"], to: "bob").field == nil,
            "the first already says bob, whatever a later one says")
    }

    @Test("keys are compared exactly, as the spec folds no case")
    func keysKeepCase() {
        let baggage = Baggage("Azds-Route-As=bob")
        #expect(baggage.value(forKey: "azds-route-as") == nil)
        #expect(baggage.value(forKey: "Azds-Route-As") == "bob")
    }

    @Test(
        "bridging replaces the first member's value, keeping its properties and whitespace and every other member"
    )
    func bridgeReplaces() {
        let baggage = Baggage("other=1;p, azds-route-as = old ;prop=x ;flag , last=Am%C3%A9lie")
        let bridge = baggage.bridging(["azds-route-as"], to: "alice")
        #expect(bridge.field == "other=1;p,azds-route-as = alice ;prop=x ;flag,last=Am%C3%A9lie")
        #expect(bridge.overLimit.isEmpty)
    }

    @Test("bridging adds a missing key at the end, leaving the others' encoding as it came")
    func bridgeAppends() {
        let baggage = Baggage("userId=Am%C3%A9lie,serverNode=DF%2028,isProduction=false")
        #expect(
            baggage.bridging(["azds-route-as"], to: "alice").field
                == "userId=Am%C3%A9lie,serverNode=DF%2028,isProduction=false,azds-route-as=alice")
        #expect(Baggage().bridging(["azds-route-as"], to: "alice").field == "azds-route-as=alice")
    }

    @Test("a bridged value is percent-encoded as the spec says, and reads back as it was")
    func bridgeEncodes() {
        let value = #"a,b;c d+é%"\="#
        let field = Baggage("k=1").bridging(["route"], to: value).field
        #expect(field == #"k=1,route=a%2Cb%3Bc%20d+%C3%A9%25%22%5C="#)
        #expect(Baggage(field ?? "").value(forKey: "route") == value)
        #expect(Baggage.percentEncoded("\u{1}\u{7F}") == "%01%7F")
    }

    @Test(
        "a baggage that already carries the value is left alone, however it was encoded, so its fields go on as they came"
    )
    func unchanged() {
        let fields = ["userId=alice", "azds-route-as=%61lice , okteto-divert=alice"]
        let bridge = Baggage(fields: fields).bridging(["azds-route-as", "okteto-divert"], to: "alice")
        #expect(bridge.field == nil)
        #expect(bridge.overLimit.isEmpty)
    }

    @Test(
        "a baggage that is one field as it came, with none of the keys, is forwarded as that field and the keys after it, as bridging writes it"
    )
    func appendsAll() {
        let keys = ["azds-route-as", "okteto-divert"]
        let appended = "azds-route-as=alice,okteto-divert=alice"
        let field = "userId=Am%C3%A9lie,serverNode=DF%2028;p=1,isProduction=false"
        let baggage = Baggage(field)
        #expect(baggage.appendsAll(keys, appendedBytes: appended.utf8.count))
        #expect(baggage.bridging(keys, to: "alice").field == field + "," + appended)
        // Whitespace, an empty element, a skipped member, a second field, a key already there,
        // or a limit passed: then only the whole bridge says what goes on.
        for other in [
            Baggage("userId=alice, next=1"), Baggage("userId=alice,,next=1"),
            Baggage("userId=alice,bad key=1"),
            Baggage(fields: ["userId=alice", "next=1"]), Baggage("okteto-divert=bob,userId=alice"),
            Baggage(Self.members(63)), Baggage(),
        ] {
            #expect(
                !other.appendsAll(keys, appendedBytes: appended.utf8.count), "\(other.members.map(\.text))")
        }
        #expect(!Baggage(field).appendsAll(keys, appendedBytes: Baggage.maxBytes - field.utf8.count))
    }

    @Test("several fields that need a change become one field, joined with commas")
    func severalFields() {
        let bridge = Baggage(fields: ["userId=alice", "serverNode=DF%2028", "okteto-divert=bob"])
            .bridging(["azds-route-as", "okteto-divert"], to: "carol")
        #expect(bridge.field == "userId=alice,serverNode=DF%2028,okteto-divert=carol,azds-route-as=carol")
    }

    @Test("a rewritten field leaves out the members that were skipped")
    func rewriteDropsSkipped() {
        let baggage = Baggage("good=1, bad key=2 ,last=3")
        #expect(baggage.bridging(["azds-route-as"], to: "alice").field == "good=1,last=3,azds-route-as=alice")
        let malformedRoute = Baggage("azds-route-as=bob smith,good=1")
        #expect(malformedRoute.value(forKey: "azds-route-as") == nil)
        #expect(malformedRoute.bridging(["azds-route-as"], to: "alice").field == "good=1,azds-route-as=alice")
    }

    /// `count` members `m0=v` …, joined by commas.
    static func members(_ count: Int) -> String {
        (0..<count).map { "m\($0)=v" }.joined(separator: ",")
    }

    @Test("adding the 64th member is carried; a 65th is not, and the baggage goes on as it came")
    func memberLimit() {
        let sixtyThree = Self.members(63)
        let added = Baggage(sixtyThree).bridging(["azds-route-as"], to: "alice")
        #expect(added.field == sixtyThree + ",azds-route-as=alice")
        #expect(Baggage(added.field ?? "").members.count == 64)
        #expect(added.overLimit.isEmpty)

        let sixtyFour = Self.members(64)
        let refused = Baggage(sixtyFour).bridging(["azds-route-as"], to: "alice")
        #expect(refused.field == nil)
        let bytes = sixtyFour.utf8.count + ",azds-route-as=alice".utf8.count
        #expect(
            refused.overLimit == [
                Baggage.OverLimit(key: "azds-route-as", replacing: false, members: 65, bytes: bytes)
            ])
        #expect(
            refused.overLimit.first?.description
                == "did not add azds-route-as to the baggage: it would have made 65 members, more than the 64 every service must pass on (W3C Baggage)"
        )
    }

    @Test("a baggage already past 64 members is not rewritten, even to replace a value")
    func pastMemberLimitAlready() {
        let bridge = Baggage("azds-route-as=bob," + Self.members(64)).bridging(["azds-route-as"], to: "alice")
        #expect(bridge.field == nil)
        #expect(bridge.overLimit.map(\.replacing) == [true])
        #expect(bridge.overLimit.map(\.members) == [65])
    }

    @Test("a result of exactly 8,192 bytes is carried; one byte more is not")
    func byteLimit() {
        // "big=" and its value, then ",azds-route-as=alice" (20 bytes).
        let exact = "big=" + String(repeating: "x", count: 8_192 - 20 - 4)
        let carried = Baggage(exact).bridging(["azds-route-as"], to: "alice")
        #expect(carried.field == exact + ",azds-route-as=alice")
        #expect(carried.field?.utf8.count == 8_192)

        let over = exact + "x"
        let refused = Baggage(over).bridging(["azds-route-as"], to: "alice")
        #expect(refused.field == nil)
        #expect(
            refused.overLimit == [
                Baggage.OverLimit(key: "azds-route-as", replacing: false, members: 2, bytes: 8_193)
            ])
        #expect(
            refused.overLimit.first?.description
                == "did not add azds-route-as to the baggage: it would have made 8193 bytes, more than the 8192 every service must pass on (W3C Baggage)"
        )
    }

    @Test("a replaced value that would grow the baggage past 8,192 bytes is left as it was")
    func byteLimitOnReplace() {
        // "azds-route-as=bob," is 18 bytes; alice is 2 bytes longer than bob.
        let fits = "azds-route-as=bob,big=" + String(repeating: "x", count: 8_192 - 2 - 22)
        #expect(Baggage(fits).bridging(["azds-route-as"], to: "alice").field?.utf8.count == 8_192)

        let bridge = Baggage(fits + "x").bridging(["azds-route-as"], to: "alice")
        #expect(bridge.field == nil)
        #expect(
            bridge.overLimit == [
                Baggage.OverLimit(key: "azds-route-as", replacing: true, members: 2, bytes: 8_193)
            ])
        #expect(
            bridge.overLimit.first?.description.hasPrefix("left azds-route-as as it was in the baggage: ")
                == true)
    }

    @Test(
        "with room for one more member, the first key is added whole and the next is reported, never half of it"
    )
    func roomForOne() {
        let sixtyThree = Self.members(63)
        let bridge = Baggage(sixtyThree).bridging(["azds-route-as", "okteto-divert"], to: "alice")
        #expect(bridge.field == sixtyThree + ",azds-route-as=alice")
        #expect(bridge.overLimit.map(\.key) == ["okteto-divert"])
        #expect(bridge.overLimit.map(\.members) == [65])
    }
}
