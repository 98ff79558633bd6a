import NIOHTTP1

/// The methods the proxy takes for HTTP, at every listener: those of RFC 9110, WebDAV and the
/// others SwiftNIO's parser knows, plus QUERY. Anything else is not HTTP, so at a `listen`
/// address it passes through raw.
enum Methods {
    private static let known: [(String, HTTPMethod)] = [
        ("GET", .GET), ("POST", .POST), ("PUT", .PUT), ("HEAD", .HEAD), ("DELETE", .DELETE),
        ("OPTIONS", .OPTIONS), ("PATCH", .PATCH), ("CONNECT", .CONNECT), ("TRACE", .TRACE), ("ACL", .ACL),
        ("COPY", .COPY), ("LOCK", .LOCK), ("MOVE", .MOVE), ("BIND", .BIND), ("LINK", .LINK),
        ("MKCOL", .MKCOL),
        ("MERGE", .MERGE), ("PURGE", .PURGE), ("NOTIFY", .NOTIFY), ("SEARCH", .SEARCH), ("UNLOCK", .UNLOCK),
        ("REBIND", .REBIND), ("UNBIND", .UNBIND), ("REPORT", .REPORT), ("UNLINK", .UNLINK),
        ("M-SEARCH", .MSEARCH), ("PROPFIND", .PROPFIND), ("CHECKOUT", .CHECKOUT), ("PROPPATCH", .PROPPATCH),
        ("SUBSCRIBE", .SUBSCRIBE), ("MKCALENDAR", .MKCALENDAR), ("MKACTIVITY", .MKACTIVITY),
        ("UNSUBSCRIBE", .UNSUBSCRIBE), ("SOURCE", .SOURCE), ("QUERY", .RAW(value: "QUERY")),
    ]

    /// The longest method's length: a line that runs longer without a space has none.
    static let longest = known.map(\.0.utf8.count).max()!

    /// The method these bytes spell, case and all; nil when they spell none.
    static func method<Bytes: Collection>(_ bytes: Bytes) -> HTTPMethod? where Bytes.Element == UInt8 {
        for (name, method) in known where name.utf8.count == bytes.count && name.utf8.elementsEqual(bytes) {
            return method
        }
        return nil
    }

    /// The bytes are the start of a method, which more bytes may complete.
    static func isPrefixOfMethod<Bytes: Collection>(_ bytes: Bytes) -> Bool where Bytes.Element == UInt8 {
        known.contains { $0.0.utf8.starts(with: bytes) }
    }
}
