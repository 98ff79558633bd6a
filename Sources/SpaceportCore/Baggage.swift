/// The W3C `baggage` header (https://www.w3.org/TR/baggage/) as a proxy reads and edits it: the
/// members of one or more `baggage` fields, each kept as it came, and the one field to forward
/// when some members must carry a value.
public struct Baggage: Hashable, Sendable {
    /// The spec's limits: every system passes on a baggage of up to 64 members and 8,192 bytes,
    /// and none need pass on more, so the proxy edits a baggage only while it stays within both.
    public static let maxMembers = 64
    public static let maxBytes = 8_192

    /// The fields as they came, each made contiguous UTF-8 so that a member is read where it sits.
    private let fields: [String]
    /// Where each well-formed member sits, in order; several fields are one list, in the order
    /// they came. Offsets alone, so that reading and bridging a baggage counts no references.
    private let places: [Place]
    /// The members that break the spec's grammar, in order; each is skipped on its own.
    public let skipped: [Skipped]
    /// One field came and it is its members joined by "," byte for byte (no whitespace around
    /// them, no empty element, nothing skipped): a rewrite that only adds members copies it whole.
    private let joinsAsItCame: Bool

    /// No baggage: what a request without a `baggage` field carries.
    public init() {
        fields = []
        places = []
        skipped = []
        joinsAsItCame = false
    }

    /// The members of one `baggage` field's value.
    public init(_ field: String) {
        self.init(fields: [field])
    }

    /// The members of the values of every `baggage` field a request carries, in order. Reading a
    /// baggage makes no string of its own: a member is where it sits in its field.
    public init(fields: [String]) {
        // A field the proxy read is native UTF-8 already; only another kind of string is copied.
        var fields = fields
        if !fields.allSatisfy(\.isContiguousUTF8) {
            for index in fields.indices { fields[index].makeContiguousUTF8() }
        }
        var places: [Place] = []
        var skipped: [Skipped] = []
        for index in fields.indices {
            _ = fields[index].utf8.withContiguousStorageIfAvailable {
                Self.parseList($0, field: index, into: &places, skipped: &skipped)
            }
        }
        self.fields = fields
        self.places = places
        self.skipped = skipped
        let memberBytes = places.reduce(places.count - 1) { $0 + $1.bounds.count }
        joinsAsItCame = fields.count == 1 && skipped.isEmpty && memberBytes == fields[0].utf8.count
    }

    /// Some `baggage` field came (`Baggage()` is a request without one).
    public var came: Bool { !fields.isEmpty }

    /// The well-formed members, in order.
    public var members: [Member] {
        places.map { Member(field: fields[$0.field], place: $0) }
    }

    public static func == (left: Baggage, right: Baggage) -> Bool {
        left.members == right.members && left.skipped == right.skipped
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(members)
        hasher.combine(skipped)
    }

    /// The members of one field's value (`bytes`, the UTF-8 of field `field`), appended to
    /// `places`, and those that break the grammar to `skipped`: one pass that finds the commas
    /// as it reads the members, a table look-up a byte.
    private static func parseList(
        _ bytes: UnsafeBufferPointer<UInt8>, field: Int, into places: inout [Place],
        skipped: inout [Skipped]
    ) {
        // Room for members of a dozen bytes or so without growing the list member by member.
        places.reserveCapacity(places.count + 2 + bytes.count / 12)
        classes.withUnsafeBufferPointer { classes in
            var index = 0
            while index < bytes.count {
                while index < bytes.count, classes[Int(bytes[index])] & whitespace != 0 { index += 1 }
                let element = parseMember(bytes, from: index, classes)
                index = element.next + 1
                // An empty element is no member: lists may have them (RFC 9110 §5.6.1).
                guard !element.bounds.isEmpty else { continue }
                switch element.parsed {
                case .success(let parts):
                    places.append(
                        Place(
                            field: field, bounds: element.bounds, keyLength: parts.keyLength,
                            valueOffsets: parts.valueOffsets))
                case .failure(let problem):
                    skipped.append(
                        Skipped(
                            text: String(decoding: bytes[element.bounds], as: UTF8.self), problem: problem))
                }
            }
        }
    }

    /// Each byte's classes in the grammar, for `parseMember`.
    private static let tokenByte: UInt8 = 1
    private static let baggageOctet: UInt8 = 2
    private static let whitespace: UInt8 = 4
    private static let classes: [UInt8] = (0...255).map { byte in
        (HTTPToken.isTokenByte(byte) ? tokenByte : 0) | (isBaggageOctet(byte) ? baggageOctet : 0)
            | (isWhitespace(byte) ? whitespace : 0)
    }

    /// The bytes of the member at `place`.
    private func withBytes<Result>(of place: Place, _ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result
    {
        fields[place.field].utf8.withContiguousStorageIfAvailable {
            body(UnsafeBufferPointer(rebasing: $0[place.bounds]))
        }!
    }

    /// Where the first member with `key` sits in `places`.
    private func index(ofKey key: String) -> Int? {
        let length = key.utf8.count
        // The lengths first: most keys differ in length, and comparing lengths costs a fraction
        // of comparing text.
        return places.firstIndex {
            $0.keyLength == length && withBytes(of: $0) { $0.starts(with: key.utf8) }
        }
    }

    /// The first member with `key` (keys are compared exactly, as the spec folds no case). When a
    /// key repeats, the first occurrence wins, here and when bridging, as the spec lets a system
    /// that deduplicates keep the first.
    public func member(forKey key: String) -> Member? {
        index(ofKey: key).map { Member(field: fields[places[$0].field], place: places[$0]) }
    }

    /// The decoded value of the first member with `key`.
    public func value(forKey key: String) -> String? {
        guard let index = index(ofKey: key) else { return nil }
        let place = places[index]
        return withBytes(of: place) { Baggage.percentDecoded($0[place.valueOffsets]) }
    }

    /// Whether bridging `keys` adds every one of them at the end and changes nothing else, to a
    /// baggage that is one field as it came: then its field and `,` and `appended` (the keys,
    /// each `key=value`, as `bridging` writes them, `appended` bytes long) are what `bridging`
    /// would forward, and the proxy writes them so without making the field.
    public func appendsAll(_ keys: [String], appendedBytes: Int) -> Bool {
        joinsAsItCame && keys.allSatisfy { index(ofKey: $0) == nil }
            && Self.fits(members: places.count + keys.count, bytes: fields[0].utf8.count + 1 + appendedBytes)
    }

    /// What to forward so that the members with `keys` carry `value`. The first member with each
    /// key gets `value` (percent-encoded as the spec says, its properties kept); a key no member
    /// has is added at the end as `key=value`; every other member goes on as it came, in order
    /// and byte for byte. Keys are applied in order, each only while the result stays within the
    /// spec's limits, so no member is ever sent in half; a key that would pass one is left out
    /// and reported. A rewritten field lists the members joined by "," and leaves out the skipped
    /// ones, as the spec allows.
    /// - Precondition: every key is an HTTP token (the spaces file checks the keys it is given).
    public func bridging(_ keys: [String], to value: String) -> Bridge {
        let encoded = Self.percentEncoded(value)
        // The members whose value changes, with their new text; the keys added are those no
        // member has and no limit left out, found again as the field is written.
        var replaced: [(index: Int, text: String)] = []
        var count = places.count
        var bytes =
            joinsAsItCame ? fields[0].utf8.count : places.reduce(max(count - 1, 0)) { $0 + $1.bounds.count }
        var overLimit: [OverLimit] = []
        for key in keys {
            assert(HTTPToken.isToken(key), "a baggage key is an HTTP token")
            if let index = index(ofKey: key) {
                let member = Member(field: fields[places[index].field], place: places[index])
                if member.value == value { continue }
                let new = member.replacingValue(with: encoded)
                let newBytes = bytes - member.bounds.count + new.utf8.count
                guard Self.fits(members: count, bytes: newBytes) else {
                    overLimit.append(OverLimit(key: key, replacing: true, members: count, bytes: newBytes))
                    continue
                }
                replaced.append((index, new))
                bytes = newBytes
            } else {
                let newBytes = bytes + (count == 0 ? 0 : 1) + key.utf8.count + 1 + encoded.utf8.count
                guard Self.fits(members: count + 1, bytes: newBytes) else {
                    overLimit.append(
                        OverLimit(key: key, replacing: false, members: count + 1, bytes: newBytes))
                    continue
                }
                count += 1
                bytes = newBytes
            }
        }
        let added = count - places.count
        guard added > 0 || !replaced.isEmpty else {
            return Bridge(field: nil, overLimit: overLimit, addedKeys: 0)
        }
        // Written in place, `bytes` long: appending piece by piece cost a proxied request more than
        // the rest of its bridging.
        let field = String(unsafeUninitializedCapacity: bytes) { out in
            var field = FieldWriter(out: out)
            if joinsAsItCame && replaced.isEmpty {
                field.put(fields[0])
            } else {
                for index in places.indices {
                    if index > 0 { field.put(",") }
                    if let new = replaced.first(where: { $0.index == index }) {
                        field.put(new.text)
                    } else {
                        withBytes(of: places[index]) { field.put($0) }
                    }
                }
            }
            for key in keys
            where added > 0 && index(ofKey: key) == nil && !overLimit.contains(where: { $0.key == key }) {
                if field.end > 0 { field.put(",") }
                field.put(key)
                field.put("=")
                field.put(encoded)
            }
            return field.end
        }
        return Bridge(field: field, overLimit: overLimit, addedKeys: added)
    }

    /// Text copied into a field's storage one piece after another: a value of its own on the stack,
    /// since a nested function capturing the offset made every piece pay for checks on the capture.
    private struct FieldWriter {
        let out: UnsafeMutableBufferPointer<UInt8>
        var end = 0

        mutating func put(_ text: String) {
            if text.utf8.withContiguousStorageIfAvailable({ put($0) }) == nil {
                end = out[end...].initialize(fromContentsOf: text.utf8)
            }
        }

        mutating func put(_ piece: UnsafeBufferPointer<UInt8>) {
            guard let source = piece.baseAddress, let base = out.baseAddress else { return }
            (base + end).initialize(from: source, count: piece.count)
            end += piece.count
        }
    }

    /// `value` as a baggage value: UTF-8, with `%` and every byte outside the spec's
    /// baggage-octet (controls, space, `"`, `,`, `;`, `\` and non-ASCII) percent-encoded.
    public static func percentEncoded(_ value: String) -> String {
        // A space's name, as a route-as value always is, has nothing to encode.
        var value = value
        if value.withUTF8({ $0.allSatisfy { isBaggageOctet($0) && $0 != UInt8(ascii: "%") } }) {
            return value
        }
        let digits = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(value.utf8.count)
        for byte in value.utf8 {
            if isBaggageOctet(byte) && byte != UInt8(ascii: "%") {
                out.append(byte)
            } else {
                out += [UInt8(ascii: "%"), digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}

extension Baggage {
    /// One `key=value;properties` list member, kept as where it sits in its field and where its
    /// parts sit in it: most members only pass through, so their key, value and properties are
    /// read out when asked.
    public struct Member: Hashable, Sendable {
        /// The `baggage` field the member is part of, its UTF-8 contiguous.
        let field: String
        /// The member as it came in `field` (UTF-8 offsets), from its key to the end of its last
        /// property; the whitespace around it belongs to the list.
        let bounds: Range<Int>
        /// The key's length: the key starts the member.
        let keyLength: Int
        /// Where the value sits in the member, as it came (UTF-8 offsets from its start).
        let valueOffsets: Range<Int>

        init(field: String, place: Place) {
            self.field = field
            bounds = place.bounds
            keyLength = place.keyLength
            valueOffsets = place.valueOffsets
        }

        public static func == (left: Member, right: Member) -> Bool {
            left.withBytes { one in right.withBytes { other in one.elementsEqual(other) } }
        }

        public func hash(into hasher: inout Hasher) {
            withBytes { hasher.combine(bytes: UnsafeRawBufferPointer($0)) }
        }

        /// The member as it came.
        public var text: String { string(0..<bounds.count) }

        public var key: String { string(0..<keyLength) }

        /// The value percent-decoded as UTF-8: a `+` stays a plus, and bytes that are not UTF-8
        /// become U+FFFD, as the spec says.
        public var value: String {
            // The parser let only a well-formed percent-encoding through.
            withBytes { Baggage.percentDecoded($0[valueOffsets]) } ?? encodedValue
        }

        /// The value as it came, still percent-encoded.
        public var encodedValue: String { string(valueOffsets) }

        /// The properties after the value, in order.
        public var properties: [Property] {
            withBytes { bytes in
                var properties: [Property] = []
                _ = Baggage.scanProperties(bytes[valueOffsets.upperBound...]) { key, value in
                    properties.append(
                        Property(
                            key: String(decoding: bytes[key], as: UTF8.self),
                            value: value.map { String(decoding: bytes[$0], as: UTF8.self) }))
                }
                return properties
            }
        }

        /// The member as it came, its value replaced by `encoded` (already percent-encoded).
        func replacingValue(with encoded: String) -> String {
            let bytes = withBytes { Array($0) }
            return String(decoding: bytes[..<valueOffsets.lowerBound], as: UTF8.self) + encoded
                + String(decoding: bytes[valueOffsets.upperBound...], as: UTF8.self)
        }

        private func string(_ offsets: Range<Int>) -> String {
            withBytes { String(decoding: $0[offsets], as: UTF8.self) }
        }

        /// The member's bytes; its field was made contiguous when it was read.
        func withBytes<Result>(_ body: (UnsafeBufferPointer<UInt8>) -> Result) -> Result {
            field.utf8.withContiguousStorageIfAvailable { body(UnsafeBufferPointer(rebasing: $0[bounds])) }!
        }
    }

    /// Where a well-formed member sits: which field, its bounds in it, and its parts' offsets in
    /// it, as `Member` has them.
    struct Place: Sendable {
        let field: Int
        let bounds: Range<Int>
        let keyLength: Int
        let valueOffsets: Range<Int>
    }

    /// A `;key` or `;key=value` after a member's value. The spec gives properties no meaning, so
    /// they are kept as they came, nothing decoded.
    public struct Property: Hashable, Sendable {
        public let key: String
        /// Nil for a property that is a key alone.
        public let value: String?

        public init(key: String, value: String? = nil) {
            self.key = key
            self.value = value
        }
    }

    /// A list member that breaks the spec's grammar: left out of `members`, and of a rewritten field.
    public struct Skipped: Hashable, Sendable, CustomStringConvertible {
        /// The member as it came, without the whitespace around it.
        public let text: String
        public let problem: Problem

        public var description: String {
            "skipped the baggage member '\(Printable.clip(text))': \(problem)"
        }
    }

    /// What is wrong with a skipped member.
    public enum Problem: Error, Hashable, Sendable, CustomStringConvertible {
        case noKey
        case noEquals
        case badValue
        case badPercentEncoding
        case badProperty

        public var description: String {
            switch self {
            case .noKey:
                return "it does not start with a key (letters, digits and \(HTTPToken.symbols))"
            case .noEquals:
                return "its key is not followed by '='"
            case .badValue:
                return
                    "its value holds a space, '\"', ',', ';', '\\', a control or a non-ASCII character, which must be percent-encoded"
            case .badPercentEncoding:
                return "its value has a '%' that is not followed by two hex digits"
            case .badProperty:
                return "a property after ';' is not key or key=value"
            }
        }
    }

    /// The `baggage` to forward once members carry a value.
    public struct Bridge: Hashable, Sendable {
        /// The one `baggage` field to send in place of every `baggage` field that came (one field
        /// even when several came), or nil when nothing changed: then the fields go on exactly as
        /// they came, as many as there were.
        public let field: String?
        /// The keys left out because carrying the value would pass a limit, for the hop to record;
        /// empty when every key carries it.
        public let overLimit: [OverLimit]
        /// How many keys the field gains as members of their own (the others replace a value).
        public let addedKeys: Int
    }

    /// A key the proxy could not make carry the value without passing the spec's limits.
    public struct OverLimit: Hashable, Sendable, CustomStringConvertible {
        public let key: String
        /// Whether the key's member was there with another value (else it was to be added).
        public let replacing: Bool
        /// The members and bytes the baggage would have had with it.
        public let members: Int
        public let bytes: Int

        public var description: String {
            let change =
                replacing ? "left \(key) as it was in the baggage" : "did not add \(key) to the baggage"
            let limit =
                members > Baggage.maxMembers
                ? "\(members) members, more than the \(Baggage.maxMembers)"
                : "\(bytes) bytes, more than the \(Baggage.maxBytes)"
            return "\(change): it would have made \(limit) every service must pass on (W3C Baggage)"
        }
    }
}

extension Baggage {
    static func fits(members: Int, bytes: Int) -> Bool {
        members <= maxMembers && bytes <= maxBytes
    }

    /// baggage-octet: visible ASCII but `"`, `,`, `;` and `\`.
    static func isBaggageOctet(_ byte: UInt8) -> Bool {
        switch byte {
        case 0x21, 0x23...0x2B, 0x2D...0x3A, 0x3C...0x5B, 0x5D...0x7E: return true
        default: return false
        }
    }

    /// OWS: spaces and tabs.
    static func isWhitespace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t")
    }

    static func trimmed(_ bytes: UnsafeBufferPointer<UInt8>, _ range: Range<Int>) -> Range<Int> {
        var lower = range.lowerBound
        var upper = range.upperBound
        while lower < upper, isWhitespace(bytes[lower]) { lower += 1 }
        while upper > lower, isWhitespace(bytes[upper - 1]) { upper -= 1 }
        return lower..<upper
    }

    /// A list element as `parseMember` reads it.
    typealias ListElement = (
        bounds: Range<Int>, next: Int, parsed: Result<(keyLength: Int, valueOffsets: Range<Int>), Problem>
    )

    /// list-member = key OWS "=" OWS value *( OWS ";" OWS property ): the list element of
    /// `bytes` that starts at `start` (after the whitespace before it) and runs to the next comma
    /// or the end (`next`). Its bounds leave out the whitespace around it; the member is checked
    /// whole, read out only in part (`Member`), its offsets from its start. No part of a member
    /// may hold a comma, so a `key=value` member, as nearly all are, is read to its end in the
    /// pass that finds it; one with properties, or no member, is read again up to its comma.
    /// - Parameter classes: `Baggage.classes`.
    static func parseMember(
        _ bytes: UnsafeBufferPointer<UInt8>, from start: Int, _ classes: UnsafeBufferPointer<UInt8>
    ) -> ListElement {
        func has(_ index: Int, _ kind: UInt8) -> Bool { classes[Int(bytes[index])] & kind != 0 }
        let end = bytes.count
        var index = start
        while index < end, has(index, tokenByte) { index += 1 }
        let keyLength = index - start
        while index < end, has(index, whitespace) { index += 1 }
        let equals = index < end && bytes[index] == UInt8(ascii: "=")
        var value = index..<index
        var percent = false
        if keyLength > 0 && equals {
            index += 1
            while index < end, has(index, whitespace) { index += 1 }
            let valueStart = index
            while index < end, has(index, baggageOctet) {
                percent = percent || bytes[index] == UInt8(ascii: "%")
                index += 1
            }
            value = valueStart..<index
        }
        // The element's end: its comma (or the end), found by reading on when it was not reached.
        var next = index
        while next < end, bytes[next] != UInt8(ascii: ",") { next += 1 }
        let bounds = trimmed(bytes, start..<next)
        func failure(_ problem: Problem) -> ListElement { (bounds, next, .failure(problem)) }
        guard keyLength > 0 else { return failure(.noKey) }
        guard equals else { return failure(.noEquals) }
        let rest = value.upperBound..<bounds.upperBound
        if !rest.isEmpty, !scanProperties(bytes[rest], { _, _ in }) {
            let afterValue = bytes[rest].firstIndex { !isWhitespace($0) } ?? rest.upperBound
            return failure(
                afterValue == rest.upperBound || bytes[afterValue] == UInt8(ascii: ";")
                    ? .badProperty : .badValue)
        }
        if percent, !isPercentEncoded(bytes[value]) { return failure(.badPercentEncoding) }
        return (bounds, next, .success((keyLength, (value.lowerBound - start)..<(value.upperBound - start))))
    }

    /// *( OWS ";" OWS property ) up to the end of `bytes`, each property's key and value handed to
    /// `each`; false when the bytes are not that.
    static func scanProperties(
        _ bytes: Slice<UnsafeBufferPointer<UInt8>>, _ each: (Range<Int>, Range<Int>?) -> Void
    ) -> Bool {
        var index = bytes.startIndex
        let end = bytes.endIndex
        skipWhitespace(bytes, from: &index)
        while index < end {
            guard bytes[index] == UInt8(ascii: ";") else { return false }
            index += 1
            skipWhitespace(bytes, from: &index)
            let propertyKey = take(bytes, from: &index, while: HTTPToken.isTokenByte)
            guard !propertyKey.isEmpty else { return false }
            skipWhitespace(bytes, from: &index)
            var propertyValue: Range<Int>?
            if index < end, bytes[index] == UInt8(ascii: "=") {
                index += 1
                skipWhitespace(bytes, from: &index)
                propertyValue = take(bytes, from: &index, while: isBaggageOctet)
                skipWhitespace(bytes, from: &index)
            }
            each(propertyKey, propertyValue)
        }
        return true
    }

    private static func skipWhitespace(_ bytes: Slice<UnsafeBufferPointer<UInt8>>, from index: inout Int) {
        while index < bytes.endIndex, isWhitespace(bytes[index]) { index += 1 }
    }

    private static func take(
        _ bytes: Slice<UnsafeBufferPointer<UInt8>>, from index: inout Int, while accepted: (UInt8) -> Bool
    ) -> Range<Int> {
        let start = index
        while index < bytes.endIndex, accepted(bytes[index]) { index += 1 }
        return start..<index
    }

    /// Whether every `%` in `bytes` is followed by two hex digits.
    static func isPercentEncoded(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> Bool {
        percentDecoding(bytes) { _ in }
    }

    /// The value with each `%XX` turned back into its byte, read as UTF-8; nil when a `%` is not
    /// followed by two hex digits.
    static func percentDecoded(_ bytes: Slice<UnsafeBufferPointer<UInt8>>) -> String? {
        guard bytes.contains(UInt8(ascii: "%")) else { return String(decoding: bytes, as: UTF8.self) }
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        guard percentDecoding(bytes, { out.append($0) }) else { return nil }
        return String(decoding: out, as: UTF8.self)
    }

    /// Each byte of `bytes` with every `%XX` turned back into its byte, handed to `each`; false,
    /// part way, at a `%` not followed by two hex digits.
    private static func percentDecoding(
        _ bytes: Slice<UnsafeBufferPointer<UInt8>>, _ each: (UInt8) -> Void
    ) -> Bool {
        var index = bytes.startIndex
        while index < bytes.endIndex {
            let byte = bytes[index]
            guard byte == UInt8(ascii: "%") else {
                each(byte)
                index += 1
                continue
            }
            guard bytes.endIndex - index >= 3, let high = hexValue(bytes[index + 1]),
                let low = hexValue(bytes[index + 2])
            else { return false }
            each(high << 4 | low)
            index += 3
        }
        return true
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
