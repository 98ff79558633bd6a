import Foundation
import SpaceportCore

/// A blocking TCP client that sends exactly the bytes a test gives it and reads what
/// comes back, with no HTTP library in between to tidy either side.
public final class RawClient: @unchecked Sendable {
    private let fd: Int32
    private var leftover: [UInt8] = []
    private var closed = false

    /// Connects to `address`; `receiveBuffer` shrinks the socket's receive buffer first, so
    /// a client that stops reading pushes back at once.
    public init(_ address: Address, timeoutSeconds: Int = 30, receiveBuffer: Int32? = nil) throws {
        fd = try Sockets.stream(AF_INET)
        Sockets.configure(fd, timeoutSeconds: timeoutSeconds, receiveBuffer: receiveBuffer)
        var address4 = sockaddr_in()
        address4.sin_family = sa_family_t(AF_INET)
        address4.sin_port = in_port_t(UInt16(address.port).bigEndian)
        inet_pton(AF_INET, address.host, &address4.sin_addr)
        let result = withUnsafePointer(to: &address4) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard result == 0 else {
            let reason = String(cString: strerror(errno))
            Glibc.close(fd)
            throw TestFailure("cannot connect to \(address): \(reason)")
        }
    }

    deinit { close() }

    public func close() {
        guard !closed else { return }
        closed = true
        Glibc.close(fd)
    }

    public func send(_ text: String) throws { try send(Array(text.utf8)) }

    public func send(_ bytes: [UInt8]) throws {
        try Sockets.sendAll(fd, bytes)
    }

    /// Sends what it can; false once the peer has closed or reset the connection.
    public func trySend(_ bytes: [UInt8]) -> Bool { (try? send(bytes)) != nil }

    public func shutdownWrite() { shutdown(fd, Int32(SHUT_WR)) }

    /// Some bytes, or nil at EOF, on a reset, or when the read timed out.
    public func readSome(max: Int = 65536) -> [UInt8]? {
        if !leftover.isEmpty {
            defer { leftover = [] }
            return leftover
        }
        var buffer = [UInt8](repeating: 0, count: max)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        return count > 0 ? Array(buffer[..<count]) : nil
    }

    public enum Ending: Equatable, Sendable {
        case closed
        case reset
        case timedOut
        case moreBytes(String)
    }

    /// How the connection ends from here: the peer closes it, resets it, sends more, or
    /// says nothing until the read timeout.
    public func ending() -> Ending {
        if !leftover.isEmpty { return .moreBytes(String(decoding: leftover, as: UTF8.self)) }
        var buffer = [UInt8](repeating: 0, count: 4096)
        let count = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if count > 0 { return .moreBytes(String(decoding: buffer[..<count], as: UTF8.self)) }
        if count == 0 { return .closed }
        return errno == ECONNRESET ? .reset : .timedOut
    }

    public func readToEnd() -> [UInt8] {
        var all: [UInt8] = []
        while let chunk = readSome() { all += chunk }
        return all
    }

    public func read(count: Int) -> [UInt8] {
        var all: [UInt8] = []
        while all.count < count, let chunk = readSome() { all += chunk }
        if all.count > count {
            leftover = Array(all[count...])
            all = Array(all[..<count])
        }
        return all
    }

    /// One response: its head, and a body framed by Content-Length, chunks, or the close.
    public func readResponse(forHead: Bool = false) throws -> RawResponse {
        var buffer: [UInt8] = []
        let marker = Array("\r\n\r\n".utf8)
        while buffer.firstRange(of: marker) == nil {
            guard let chunk = readSome() else {
                throw TestFailure(
                    "the connection ended before a response head: \(String(decoding: buffer, as: UTF8.self).debugDescription)"
                )
            }
            buffer += chunk
        }
        let end = buffer.firstRange(of: marker)!
        let head = String(decoding: buffer[..<end.lowerBound], as: UTF8.self)
        leftover = Array(buffer[end.upperBound...])
        let lines = head.components(separatedBy: "\r\n")
        let words = lines[0].split(separator: " ")
        guard words.count >= 2, let status = Int(words[1]) else {
            throw TestFailure("not a status line: \(lines[0].debugDescription)")
        }
        var headers: [String: String] = [:]
        for line in lines.dropFirst() {
            guard let colon = line.firstIndex(of: ":") else { continue }
            headers[line[..<colon].lowercased()] = line[line.index(after: colon)...].trimmingCharacters(
                in: .whitespaces)
        }
        var response = RawResponse(statusLine: lines[0], status: status, headers: headers, body: [])
        if forHead || status < 200 || status == 204 || status == 304 { return response }
        if let length = headers["content-length"].flatMap(Int.init) {
            response.body = read(count: length)
        } else if headers["transfer-encoding"]?.lowercased() == "chunked" {
            response.body = try readChunks()
        } else {
            response.body = readToEnd()
        }
        return response
    }

    private func readLine() -> String {
        var line: [UInt8] = []
        while let byte = read(count: 1).first, byte != UInt8(ascii: "\n") {
            if byte != UInt8(ascii: "\r") { line.append(byte) }
        }
        return String(decoding: line, as: UTF8.self)
    }

    private func readChunks() throws -> [UInt8] {
        var body: [UInt8] = []
        while true {
            guard let size = Int(readLine().split(separator: ";").first ?? "", radix: 16) else {
                throw TestFailure("a bad chunk size in a response")
            }
            if size == 0 {
                while !readLine().isEmpty {}
                return body
            }
            body += read(count: size)
            _ = readLine()
        }
    }
}

public struct RawResponse: Sendable {
    public var statusLine: String
    public var status: Int
    public var headers: [String: String]
    public var body: [UInt8]
    public var text: String { String(decoding: body, as: UTF8.self) }
}
