import Foundation
import NIOHTTP1
import SpaceportFeed

/// What the admin listener serves, and who may ask.
enum AdminEndpoint: String, CaseIterable {
    case metrics = "/metrics"
    case healthz = "/healthz"
    case readyz = "/readyz"
    case tree = "/tree"

    /// Whether anyone may ask: the probes say only whether the proxy serves, and a kubelet
    /// probing a pod cannot send a token from a Secret.
    var isProbe: Bool { self == .healthz || self == .readyz }

    /// The endpoint a request asks for, or the answer that refuses it: a method other than GET or
    /// HEAD, a path it does not serve, or, when a token is set, a request for anything but the
    /// probes without it (`Authorization: Bearer <token>`, as Prometheus's scrape config sends it).
    static func choose(_ head: HTTPRequestHead, token: String?) -> Result<AdminEndpoint, AdminAnswer> {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        if let token, AdminEndpoint(rawValue: path)?.isProbe != true {
            let given = head.headers.first(name: "authorization").flatMap { value -> String? in
                let parts = value.split(separator: " ", maxSplits: 1)
                guard parts.count == 2, parts[0].lowercased() == "bearer" else { return nil }
                return String(parts[1]).trimmingCharacters(in: .whitespaces)
            }
            guard let given, FeedToken.matches(given, expected: token) else {
                var answer = AdminAnswer(
                    .unauthorized, "this admin listener needs its token: send Authorization: Bearer <token>")
                answer.headers.add(name: "www-authenticate", value: "Bearer")
                return .failure(answer)
            }
        }
        guard head.method == .GET || head.method == .HEAD else {
            var answer = AdminAnswer(.methodNotAllowed, "the admin listener answers GET and HEAD only")
            answer.headers.add(name: "allow", value: "GET, HEAD")
            return .failure(answer)
        }
        guard let endpoint = AdminEndpoint(rawValue: path) else {
            let known = allCases.map(\.rawValue).joined(separator: ", ")
            return .failure(AdminAnswer(.notFound, "the admin listener serves \(known)"))
        }
        return .success(endpoint)
    }
}

/// One response of the admin listener.
struct AdminAnswer: Error {
    var status: HTTPResponseStatus
    var headers: HTTPHeaders
    var body: [UInt8]

    init(_ status: HTTPResponseStatus, contentType: String, body: [UInt8]) {
        self.status = status
        headers = HTTPHeaders([("content-type", contentType)])
        self.body = body
    }

    /// A line of text, the body of every answer but the metrics and the tree.
    init(_ status: HTTPResponseStatus, _ text: String) {
        self.init(status, contentType: "text/plain; charset=utf-8", body: Array((text + "\n").utf8))
    }
}
