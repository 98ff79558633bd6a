import SpaceportCore
import SpaceportWire

/// What `spaceport tail` prints for each event a client hears: hop and spaces lines for
/// the output (with `flows`, each finished flow instead of its hops), attach and detach notes
/// for the terminal. Pure, so it is tested as is: time comes in as `now`.
public struct TailPrinter: Sendable {
    public struct Lines: Equatable, Sendable {
        public var output: [String] = []
        public var notes: [String] = []
    }

    public var json: Bool
    /// Hops are gathered into flows, each printed once it has finished.
    public var flows: Bool
    private var spaces: [String: SpacesSnapshot] = [:]
    private var connected: Set<String> = []
    private var proxies: [String: String] = [:]
    private var waiting = TailFlows()

    public init(json: Bool, flows: Bool = false) {
        self.json = json
        self.flows = flows
    }

    /// How often a tail printing flows should `flush`, so a flow prints soon after it finished.
    public static let flushSeconds = 0.25

    /// The flows that have finished by `now` (tail's own clock, in seconds), or all that wait
    /// when `all` (tail is stopping); nothing when not printing flows.
    public mutating func flush(at now: Double, all: Bool = false) -> [String] {
        guard flows else { return [] }
        return printed(waiting.finished(at: now, all: all))
    }

    private func printed(_ done: [TailFlows.Flow]) -> [String] {
        done.flatMap { json ? [TailFlows.json($0)] : TailFlows.text($0) }
    }

    public mutating func lines(for event: FeedClientEvent, at now: Double = 0) -> Lines {
        if flows, case .event(let source, .hop(let hop)) = event {
            let pushed = waiting.add(hop, from: source, at: now)
            return Lines(output: printed(pushed) + flush(at: now))
        }
        var lines = Lines()
        switch event {
        case .connected(let source):
            connected.insert(source)
        case .disconnected(let source, let reason):
            connected.remove(source)
            spaces[source] = nil
            proxies[source] = nil
            lines.notes.append(
                "lost \(Printable.clip(source)): \(Printable.clip(reason, max: 200)); retrying")
        case .event(let source, let event):
            if json {
                lines.output.append(Self.terminalSafe(String(event.jsonLine().dropLast())))
            } else {
                lines = human(event, from: source)
            }
        }
        return lines
    }

    /// A JSON line with every scalar `Printable.isUnsafe` finds written as `\uXXXX`: the same
    /// JSON to a parser (such scalars stand only inside strings), but nothing in it acts on a
    /// terminal or reorders what the reader sees.
    static func terminalSafe(_ line: String) -> String {
        if Printable.isPrintableASCII(line) { return line }
        var out = ""
        out.reserveCapacity(line.utf8.count)
        for scalar in line.unicodeScalars {
            guard Printable.isUnsafe(scalar) else {
                out.unicodeScalars.append(scalar)
                continue
            }
            for unit in String(scalar).utf16 {
                let hex = String(unit, radix: 16, uppercase: true)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        return out
    }

    private mutating func human(_ event: FeedEvent, from source: String) -> Lines {
        var lines = Lines()
        let now = HopLine.clock(EventTime.now())
        let prefix = connected.count > 1 ? "[\(Printable.clip(proxies[source] ?? source, max: 40))] " : ""
        switch event {
        case .hello(let hello):
            proxies[source] = hello.proxy
            lines.notes.append(
                "attached to \(Printable.clip(hello.proxy, max: 63)) (pid \(hello.pid), \(Printable.clip(hello.version, max: 20))) at \(Printable.clip(source))"
            )
        case .spaces(let snapshot):
            if let previous = spaces[source] {
                for change in SpacesLine.changes(from: previous, to: snapshot) {
                    lines.output.append("\(prefix)\(now)  spaces  \(change)")
                }
            } else {
                lines.output.append("\(prefix)\(now)  spaces  \(SpacesLine.summary(snapshot))")
            }
            spaces[source] = snapshot
        case .hop(let hop):
            if hop.phase == .end { lines.output.append(prefix + HopLine.format(hop)) }
        case .dropped(let count):
            lines.output.append("\(prefix)\(now)  …  \(count) events dropped: tail fell behind")
        case .error(let message, let id):
            guard id == nil else { break }
            lines.output.append("\(prefix)\(now)  error  \(Printable.clip(message, max: 300))")
        case .tally(let tally):
            // Sent only when tail asked for a sample: say what the sample left out, and the rate.
            guard tally.leftOut > 0 else { break }
            let rate = tally.seconds > 0 ? Int((Double(tally.hops) / tally.seconds).rounded()) : tally.hops
            lines.output.append(
                "\(prefix)\(now)  …  \(tally.leftOut) of \(tally.hops) hops not shown (sampled), \(rate) hops/s"
            )
        case .ack, .request:
            break
        }
        return lines
    }
}
