/// A `host:port` the proxy listens on or connects to. IPv6 hosts are written `[::1]:80`.
public struct Address: Hashable, Sendable, CustomStringConvertible {
    public var host: String
    public var port: Int

    public init(host: String, port: Int) {
        self.host = host
        self.port = port
    }

    /// Parses `host:port`; the message says what is wrong in words a user can act on.
    public init(parsing text: String) throws(AddressError) {
        let trimmed = text.trimmingSpaces()
        var host: Substring
        var portText: Substring
        if trimmed.hasPrefix("[") {
            guard let close = trimmed.firstIndex(of: "]") else {
                throw AddressError(text: text, reason: "an IPv6 host needs a closing ']'")
            }
            host = trimmed[trimmed.index(after: trimmed.startIndex)..<close]
            let rest = trimmed[trimmed.index(after: close)...]
            guard rest.hasPrefix(":") else {
                throw AddressError(text: text, reason: "expected ':PORT' after the IPv6 host")
            }
            portText = rest.dropFirst()
        } else {
            guard let colon = trimmed.lastIndex(of: ":") else {
                throw AddressError(text: text, reason: "expected HOST:PORT, for example 127.0.0.1:5001")
            }
            host = trimmed[..<colon]
            portText = trimmed[trimmed.index(after: colon)...]
            if host.utf8.contains(UInt8(ascii: ":")) {
                throw AddressError(text: text, reason: "write an IPv6 host in brackets, as [::1]:5001")
            }
        }
        guard !host.isEmpty else {
            throw AddressError(text: text, reason: "the host is empty")
        }
        for byte in host.utf8 {
            let ok =
                Names.isLowerAlnum(byte) || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") || byte == UInt8(ascii: ":")
                || byte == UInt8(ascii: "_")
            if !ok {
                throw AddressError(
                    text: text,
                    reason:
                        "the host '\(Printable.clip(String(host)))' has a character a host name cannot hold")
            }
        }
        guard let port = Int(portText), (1...65535).contains(port) || (port == 0 && !portText.isEmpty) else {
            throw AddressError(text: text, reason: "the port must be a number from 1 to 65535")
        }
        self.host = String(host)
        self.port = port
    }

    public var description: String {
        host.utf8.contains(UInt8(ascii: ":")) ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    /// True for 127.0.0.0/8, ::1 and localhost: addresses that other machines cannot reach.
    public var isLoopback: Bool {
        host == "localhost" || host == "::1" || host.hasPrefix("127.")
    }
}

public struct AddressError: Error, Equatable, CustomStringConvertible {
    public var text: String
    public var reason: String
    public var description: String { "'\(Printable.clip(text))' is not an address: \(reason)" }
}

extension StringProtocol {
    /// Without the spaces and tabs around it, as a value in a file or a list element in an
    /// HTTP field is read.
    public func trimmingSpaces() -> Substring {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" { slice.removeLast() }
        return slice
    }
}
