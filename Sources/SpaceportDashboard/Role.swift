/// What a cell means, not how it looks: a theme maps each role to colours and attributes.
public enum Role: String, CaseIterable, Sendable {
    case normal
    case muted
    case border
    case title
    case titleFocused = "title-focused"
    case header
    case tree
    case flowSpace = "flow-space"
    case owned
    case inherited
    case missing
    case overrideOn = "override-on"
    case overrideOff = "override-off"
    case healthUp = "health-up"
    case healthDown = "health-down"
    case rate
    case method
    case routeAs = "route-as"
    case status2xx = "status-2xx"
    case status3xx = "status-3xx"
    case status4xx = "status-4xx"
    case status5xx = "status-5xx"
    case statusPending = "status-pending"
    case fallback
    case lost
    case restored
    case failed
    case replay
    case waterfall
    case chainServed = "chain-served"
    case chainSkipped = "chain-skipped"
    case selection
    case selectionInactive = "selection-inactive"
    case statusBar = "status-bar"
    case statusBarKey = "status-bar-key"
    case note
    case error
    case invalid
    case help
    case helpKey = "help-key"
    case dialog
    case prompt

    /// The role for an HTTP status: a class colour, or pending while the hop is in flight.
    public static func status(_ code: Int?) -> Role {
        guard let code else { return .statusPending }
        switch code {
        case 200..<300: return .status2xx
        case 300..<400: return .status3xx
        case 400..<500: return .status4xx
        default: return code < 200 ? .status2xx : .status5xx
        }
    }
}
