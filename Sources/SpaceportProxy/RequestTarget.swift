/// The request-target of a request line (RFC 9112 §3.2): a path, an absolute URL as sent
/// to a proxy, `*`, or the `host:port` of a CONNECT.
enum RequestTarget: Equatable {
    case origin(String)
    case absolute(authority: String, path: String)
    case asterisk
    case authority(String)

    init?(_ uri: String, isConnect: Bool) {
        if isConnect {
            guard !uri.isEmpty, !uri.contains("/") else { return nil }
            self = .authority(uri)
        } else if uri.hasPrefix("/") {
            self = .origin(uri)
        } else if uri == "*" {
            self = .asterisk
        } else if let rest = Self.droppingScheme(uri) {
            let end = rest.firstIndex { $0 == "/" || $0 == "?" || $0 == "#" } ?? rest.endIndex
            var authority = rest[..<end]
            if let at = authority.lastIndex(of: "@") { authority = authority[authority.index(after: at)...] }
            guard !authority.isEmpty else { return nil }
            var path = String(rest[end...])
            if let hash = path.firstIndex(of: "#") { path = String(path[..<hash]) }
            if !path.hasPrefix("/") { path = "/" + path }
            self = .absolute(authority: String(authority), path: path)
        } else {
            return nil
        }
    }

    /// What the upstream sees on its request line: always origin-form.
    var forwardedPath: String {
        switch self {
        case .origin(let path): return path
        case .absolute(_, let path): return path
        case .asterisk: return "*"
        case .authority(let authority): return authority
        }
    }

    /// The path and query, for display; a CONNECT has none.
    var path: String? {
        if case .authority = self { return nil }
        return forwardedPath
    }

    /// The authority an absolute URL names; it takes the place of Host (RFC 9112 §3.2.2).
    var authority: String? {
        switch self {
        case .absolute(let authority, _), .authority(let authority): return authority
        case .origin, .asterisk: return nil
        }
    }

    private static func droppingScheme(_ uri: String) -> Substring? {
        for scheme in ["http://", "https://"] {
            if uri.count > scheme.count, uri.prefix(scheme.count).lowercased() == scheme {
                return uri.dropFirst(scheme.count)
            }
        }
        return nil
    }
}
