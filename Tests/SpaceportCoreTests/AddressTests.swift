import Testing

@testable import SpaceportCore

@Suite("Addresses are HOST:PORT, IPv6 in brackets")
struct AddressTests {
    @Test(
        "valid addresses read and print back the same",
        arguments: [
            ("127.0.0.1:5001", "127.0.0.1", 5001), ("localhost:80", "localhost", 80),
            ("[::1]:8080", "::1", 8080),
            (" api.internal:443 ", "api.internal", 443), ("0.0.0.0:0", "0.0.0.0", 0),
        ])
    func valid(text: String, host: String, port: Int) throws {
        let address = try Address(parsing: text)
        #expect(address.host == host)
        #expect(address.port == port)
        #expect(try Address(parsing: address.description) == address)
    }

    @Test(
        "each kind of bad address says what to fix",
        arguments: [
            ("nope", "'nope' is not an address: expected HOST:PORT, for example 127.0.0.1:5001"),
            ("::1:80", "'::1:80' is not an address: write an IPv6 host in brackets, as [::1]:5001"),
            ("[::1:80", "'[::1:80' is not an address: an IPv6 host needs a closing ']'"),
            ("[::1]80", "'[::1]80' is not an address: expected ':PORT' after the IPv6 host"),
            (":80", "':80' is not an address: the host is empty"),
            ("host:65536", "'host:65536' is not an address: the port must be a number from 1 to 65535"),
            ("host:http", "'host:http' is not an address: the port must be a number from 1 to 65535"),
            ("host:", "'host:' is not an address: the port must be a number from 1 to 65535"),
            (
                "ho st:1",
                "'ho st:1' is not an address: the host 'ho st' has a character a host name cannot hold"
            ),
        ])
    func invalid(text: String, message: String) {
        #expect(throws: AddressError.self) { try Address(parsing: text) }
        do {
            _ = try Address(parsing: text)
        } catch {
            #expect(error.description == message)
        }
    }

    @Test("loopback addresses are told apart from ones other machines can reach")
    func loopback() throws {
        #expect(try Address(parsing: "127.0.0.2:1").isLoopback)
        #expect(try Address(parsing: "[::1]:1").isLoopback)
        #expect(try Address(parsing: "localhost:1").isLoopback)
        #expect(try !Address(parsing: "0.0.0.0:1").isLoopback)
        #expect(try !Address(parsing: "10.0.0.1:1").isLoopback)
    }

    @Test("names are DNS labels; services may use capitals and match without them")
    func names() {
        #expect(Names.isValid("azureuser"))
        #expect(Names.isValid("a-1"))
        #expect(!Names.isValid("-a"))
        #expect(!Names.isValid("a-"))
        #expect(!Names.isValid(""))
        #expect(!Names.isValid(String(repeating: "a", count: 64)))
        #expect(Names.isValid(String(repeating: "a", count: 63)))
        #expect(Names.serviceProblem(with: "ServiceA") == nil)
        #expect(Names.serviceKey("ServiceA") == "servicea")
        #expect(Printable.clip("a\u{1B}[31m\n") == "a\\x1B[31m\\x0A")
    }

    @Test("trusted_proxies blocks match the addresses inside them and no others")
    func ipRanges() throws {
        let block = try IPRange(parsing: "10.1.0.0/16")
        #expect(block.contains("10.1.255.7"))
        #expect(!block.contains("10.2.0.1"))
        #expect(!block.contains("::1"))
        #expect(try IPRange(parsing: "10.1.2.3/16").description == "10.1.0.0/16")
        #expect(try IPRange(parsing: "127.0.0.1").contains("127.0.0.1"))
        #expect(try !IPRange(parsing: "127.0.0.1").contains("127.0.0.2"))
        #expect(try IPRange(parsing: "fd00::/8").contains("fdab::1"))
        #expect(try IPRange(parsing: "0.0.0.0/0").contains("192.0.2.1"))
        #expect(throws: AddressError.self) { try IPRange(parsing: "10.0.0.0/33") }
        #expect(throws: AddressError.self) { try IPRange(parsing: "example.com") }
    }

    @Test("a trusted_proxies entry that is not an address is refused at its line")
    func badTrustedProxy() {
        let text = "trusted_proxies:\n  - 10.0.0.0/8\n  - proxy.example\nspaces: {}\n"
        #expect {
            _ = try SpacesFile.parse(text: text, file: "s.yaml")
        } throws: { error in
            "\(error)".contains("s.yaml:3:5") && "\(error)".contains("proxy.example")
        }
    }
}
