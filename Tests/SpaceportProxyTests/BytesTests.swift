import SpaceportCore
import Testing

@testable import SpaceportProxy

@Suite("Reading HTTP bytes")
struct BytesTests {
    @Test("a field name's bytes are exactly RFC 9110's tchars, every byte from 0 to 255 asked")
    func tokenBytes() {
        let tchars = Set("!#$%&'*+-.^_`|~0123456789".utf8)
            .union("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ".utf8)
        for byte in UInt8.min...UInt8.max {
            #expect(HTTPToken.isTokenByte(byte) == tchars.contains(byte), "byte \(byte)")
        }
    }

    @Test("HTTP/1. is found where it starts and nowhere else, and never past the end")
    func httpPrefix() {
        let line = Array("GET / HTTP/1.1".utf8)
        line.withUnsafeBytes { raw in
            #expect(Bytes.isHTTP1Prefix(raw, at: 6))
            #expect(!Bytes.isHTTP1Prefix(raw, at: 5))
            #expect(!Bytes.isHTTP1Prefix(raw, at: 8))
        }
        Array("HTTP/2.0".utf8).withUnsafeBytes { #expect(!Bytes.isHTTP1Prefix($0, at: 0)) }
        Array("http/1.1".utf8).withUnsafeBytes { #expect(!Bytes.isHTTP1Prefix($0, at: 0)) }
    }
}
