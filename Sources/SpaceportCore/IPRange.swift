import Foundation

/// A block of IP addresses written as an address (`10.0.0.7`, `::1`) or in CIDR notation
/// (`10.0.0.0/8`, `fd00::/8`): the `trusted_proxies` of the spaces file.
public struct IPRange: Hashable, Sendable, CustomStringConvertible {
    /// The network's bytes (4 for IPv4, 16 for IPv6), host bits cleared.
    private let network: [UInt8]
    private let prefixLength: Int

    public init(parsing text: String) throws(AddressError) {
        let trimmed = String(text.trimmingSpaces())
        let parts = trimmed.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
        guard let bytes = Self.bytes(of: String(parts[0])) else {
            throw AddressError(
                text: text, reason: "expected an IP address or a CIDR block such as 10.0.0.0/8 or fd00::/8")
        }
        let bits = bytes.count * 8
        var length = bits
        if parts.count == 2 {
            guard let number = Int(parts[1]), (0...bits).contains(number) else {
                throw AddressError(text: text, reason: "the prefix length must be a number from 0 to \(bits)")
            }
            length = number
        }
        prefixLength = length
        network = Self.masked(bytes, to: length)
    }

    /// True when `ip` (an address as text, as a socket reports it) lies in the block.
    public func contains(_ ip: String) -> Bool {
        guard let bytes = Self.bytes(of: ip), bytes.count == network.count else { return false }
        return Self.masked(bytes, to: prefixLength) == network
    }

    public var description: String {
        var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        network.withUnsafeBytes { raw in
            _ = inet_ntop(
                network.count == 4 ? AF_INET : AF_INET6, raw.baseAddress, &text, socklen_t(text.count))
        }
        let address = String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return prefixLength == network.count * 8 ? address : "\(address)/\(prefixLength)"
    }

    private static func bytes(of text: String) -> [UInt8]? {
        var v4 = in_addr()
        if inet_pton(AF_INET, text, &v4) == 1 { return withUnsafeBytes(of: &v4) { Array($0) } }
        var v6 = in6_addr()
        if inet_pton(AF_INET6, text, &v6) == 1 { return withUnsafeBytes(of: &v6) { Array($0) } }
        return nil
    }

    private static func masked(_ bytes: [UInt8], to length: Int) -> [UInt8] {
        bytes.enumerated().map { index, byte in
            let kept = min(max(length - index * 8, 0), 8)
            return kept == 8 ? byte : byte & ~(0xFF >> kept)
        }
    }
}
