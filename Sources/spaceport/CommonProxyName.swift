import ArgumentParser
import SpaceportCore

/// `--name`, as `proxy`, `dash` and `demo` take it: it names the proxy in its hops and its
/// feed socket, so it is a DNS label.
enum ProxyNameOption {
    static func check(_ name: String) throws {
        guard let problem = Names.problem(with: name) else { return }
        throw ValidationError("--name: \(problem)")
    }
}
