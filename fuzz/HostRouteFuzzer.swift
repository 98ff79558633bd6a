import SpaceportCore

/// The tree every input is routed against: three levels, a fallback, a disabled instance.
private let tree: SpaceTree = {
    let text = """
        spaces:
          default:
            services:
              servicea: { upstream: 127.0.0.1:5001 }
              serviceb: { upstream: 127.0.0.1:5002 }
          azureuser:
            parent: default
            services:
              servicea: { upstream: 127.0.0.1:6001, enabled: false }
          hotfix:
            parent: azureuser
        """
    return try! SpacesFile.parse(text: text, file: "fuzz.yaml")
}()

/// Input: a Host value, then optionally a newline and a route header value.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzHostRoute(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let text = String(decoding: UnsafeBufferPointer(start: data, count: size), as: UTF8.self)
    let parts = text.split(separator: "\n", maxSplits: 1, omittingEmptySubsequences: false)
    let host = String(parts[0])
    let header = parts.count > 1 ? String(parts[1]) : nil
    do {
        let route = try HostRoute.parse(host, domain: "localhost")
        precondition(
            Names.isValid(route.service), "host \(host.debugDescription) gave service \(route.service)")
        if let space = route.space { precondition(Names.isValid(space), "host gave space \(space)") }
    } catch {
        precondition(!error.description.isEmpty)
        precondition(
            !error.description.unicodeScalars.contains { $0.value < 0x20 }, "a raw control in \(error)")
    }
    do {
        let route = try tree.route(RouteRequest(host: host, routeHeader: header))
        precondition(Names.isValid(route.routeAs), "routed as \(route.routeAs.debugDescription)")
        precondition(route.tried.allSatisfy(tree.contains), "tried a space that does not exist")
        if let space = route.space { precondition(route.tried.contains(space)) }
    } catch {
        precondition([400, 404].contains(error.status), "status \(error.status) for \(error)")
        precondition(
            !error.description.unicodeScalars.contains { $0.value < 0x20 }, "a raw control in \(error)")
    }
    return 0
}
