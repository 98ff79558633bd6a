/// gRPC's status codes, by the names its documentation (`doc/statuscodes.md`) gives them: the
/// proxy's own gRPC answers, a hop's `grpcStatus` shown by name, and the dashboard's filter.
public enum GRPCStatus: Int, CaseIterable, Sendable {
    case ok = 0
    case cancelled, unknown, invalidArgument, deadlineExceeded, notFound, alreadyExists
    case permissionDenied, resourceExhausted, failedPrecondition, aborted, outOfRange
    case unimplemented, `internal`, unavailable, dataLoss, unauthenticated

    /// `UNAVAILABLE`, as gRPC spells it.
    public var name: String {
        switch self {
        case .ok: "OK"
        case .cancelled: "CANCELLED"
        case .unknown: "UNKNOWN"
        case .invalidArgument: "INVALID_ARGUMENT"
        case .deadlineExceeded: "DEADLINE_EXCEEDED"
        case .notFound: "NOT_FOUND"
        case .alreadyExists: "ALREADY_EXISTS"
        case .permissionDenied: "PERMISSION_DENIED"
        case .resourceExhausted: "RESOURCE_EXHAUSTED"
        case .failedPrecondition: "FAILED_PRECONDITION"
        case .aborted: "ABORTED"
        case .outOfRange: "OUT_OF_RANGE"
        case .unimplemented: "UNIMPLEMENTED"
        case .internal: "INTERNAL"
        case .unavailable: "UNAVAILABLE"
        case .dataLoss: "DATA_LOSS"
        case .unauthenticated: "UNAUTHENTICATED"
        }
    }

    /// A code by its name (any case) or its number: `UNAVAILABLE`, `unavailable`, `14`.
    public init?(named text: String) {
        if let number = Int(text) {
            self.init(rawValue: number)
            return
        }
        guard let match = Self.allCases.first(where: { $0.name == text.uppercased() }) else { return nil }
        self = match
    }

    /// The code's name, or the number itself for one gRPC does not define.
    public static func describe(_ code: Int) -> String {
        GRPCStatus(rawValue: code)?.name ?? String(code)
    }

    /// The code the proxy answers a gRPC call with where it would answer HTTP `status`, as
    /// gRPC's `doc/http-grpc-status-mapping.md` and Envoy's local replies map them.
    public init(answering status: Int) {
        switch status {
        case 400: self = .invalidArgument
        case 401: self = .unauthenticated
        case 403: self = .permissionDenied
        case 404, 501: self = .unimplemented
        case 408, 504: self = .deadlineExceeded
        case 429, 502, 503: self = .unavailable
        case 431: self = .resourceExhausted
        default: self = .internal
        }
    }
}
