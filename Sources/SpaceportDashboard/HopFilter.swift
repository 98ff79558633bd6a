import Foundation
import SpaceportCore

/// What the `/` prompt narrows the hop list to. Terms are ANDed; `!` before a term negates it.
///
///     service:servicea   space:azureuser   status:5xx  5xx  status:404
///     method:POST  POST   path:/api   lost  restored  kept  bridged
///     proto:grpc   grpc:UNAVAILABLE   grpc:14
///     anything-else (host or path contains it)
public struct HopFilter: Equatable, Sendable {
    public enum Term: Equatable, Sendable {
        case service(String)
        /// Matches the space routed as or the space that served.
        case space(String)
        case statusClass(Int)
        case status(Int)
        case method(String)
        case path(String)
        /// What became of the hop's route context: `lost`, `restored`, `kept`, `bridged`.
        case propagation(HopPropagation)
        /// How the request came: `http`, `websocket`, `tcp`, `h2`, `grpc`.
        case transport(HopProtocol)
        /// A gRPC call's status, by name or number.
        case grpcStatus(GRPCStatus)
        /// Host or path contains it.
        case text(String)
    }

    public struct Clause: Equatable, Sendable {
        public var term: Term
        public var negated: Bool
    }

    public let text: String
    public let clauses: [Clause]

    public static let none = HopFilter(text: "", clauses: [])

    public var isEmpty: Bool { clauses.isEmpty }

    private static let methods: Set<String> = [
        "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "CONNECT", "TRACE",
    ]

    public static func parse(_ text: String) throws(HopFilterError) -> HopFilter {
        var clauses: [Clause] = []
        for word in text.split(whereSeparator: { $0 == " " || $0 == "\t" }) {
            var token = Substring(word)
            let negated = token.hasPrefix("!")
            if negated { token = token.dropFirst() }
            guard !token.isEmpty else {
                throw HopFilterError(
                    term: String(word), problem: "'!' must come right before a term, as !5xx")
            }
            clauses.append(Clause(term: try term(token, word: String(word)), negated: negated))
        }
        return HopFilter(text: text, clauses: clauses)
    }

    private static func term(_ token: Substring, word: String) throws(HopFilterError) -> Term {
        if let colon = token.firstIndex(of: ":") {
            let key = token[..<colon].lowercased()
            let value = String(token[token.index(after: colon)...])
            guard !value.isEmpty else {
                throw HopFilterError(term: word, problem: "'\(key):' needs a value after the colon")
            }
            switch key {
            case "service", "svc": return .service(Names.serviceKey(value))
            case "space", "as": return .space(value)
            case "status", "code": return try status(value, word: word)
            case "method": return .method(value.uppercased())
            case "path": return .path(value)
            case "proto", "protocol":
                guard let transport = HopProtocol(rawValue: value.lowercased()) else {
                    throw HopFilterError(
                        term: word,
                        problem:
                            "'\(Sanitized.line(value))' is not a protocol; use http, websocket, tcp, h2 or grpc"
                    )
                }
                return .transport(transport)
            case "grpc":
                guard let status = GRPCStatus(named: value) else {
                    throw HopFilterError(
                        term: word,
                        problem:
                            "'\(Sanitized.line(value))' is not a gRPC status; use a name such as UNAVAILABLE or a number from 0 to 16"
                    )
                }
                return .grpcStatus(status)
            default:
                throw HopFilterError(
                    term: word,
                    problem:
                        "unknown key '\(Sanitized.line(key))'; use service:, space:, status:, method:, path:, proto: or grpc:"
                )
            }
        }
        let text = String(token)
        if text.count == 3, text.lowercased().hasSuffix("xx") { return try status(text, word: word) }
        if methods.contains(text) { return .method(text) }
        if let propagation = HopPropagation(rawValue: text.lowercased()) { return .propagation(propagation) }
        return .text(text)
    }

    private static func status(_ value: String, word: String) throws(HopFilterError) -> Term {
        let lower = value.lowercased()
        if lower.count == 3, lower.hasSuffix("xx"), let digit = lower.first?.wholeNumberValue,
            (1...5).contains(digit)
        {
            return .statusClass(digit)
        }
        if let code = Int(value), (100...599).contains(code) { return .status(code) }
        throw HopFilterError(
            term: word,
            problem: "'\(Sanitized.line(value))' is not a status; use 1xx to 5xx or a code such as 404")
    }

    public func matches(_ record: HopRecord) -> Bool {
        clauses.allSatisfy { clause in Self.matches(clause.term, record.hop) != clause.negated }
    }

    private static func matches(_ term: Term, _ hop: HopEvent) -> Bool {
        switch term {
        case .service(let key): return hop.service.map(Names.serviceKey) == key
        case .space(let name): return hop.space == name || hop.routeAs == name || hop.unknownRouteAs == name
        case .statusClass(let digit): return hop.status.map { $0 / 100 == digit } ?? false
        case .status(let code): return hop.status == code
        case .method(let method): return hop.method?.uppercased() == method
        case .path(let text): return contains(hop.path, text)
        case .propagation(let propagation): return hop.propagation == propagation
        case .transport(let transport): return hop.protocol == transport
        case .grpcStatus(let status): return hop.grpcStatus == status.rawValue
        case .text(let text): return contains(hop.path, text) || contains(hop.host, text)
        }
    }

    private static func contains(_ haystack: String?, _ needle: String) -> Bool {
        guard let haystack else { return false }
        return haystack.range(of: needle, options: .caseInsensitive) != nil
    }
}

public struct HopFilterError: Error, Equatable, Sendable, CustomStringConvertible {
    public var term: String
    public var problem: String
    public var description: String { "invalid filter: \(problem)" }
}
