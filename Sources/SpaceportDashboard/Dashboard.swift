import SpaceportCore

/// The dashboard as a value: the model, what the user looks at, and the key table.
/// `handle` turns input into view changes and effects; `receive` takes what the shell
/// reports; `render` draws the whole screen onto a canvas. No terminal, no threads.
public struct Dashboard: Sendable {
    public struct StatusItem: Equatable, Sendable {
        public var key: String
        public var value: String
    }

    public var model: DashboardModel
    public var view: ViewState
    public let keyMap: KeyMap
    public let themes: [Theme]
    public var glyphs: Glyphs
    /// Extra status-bar items from the shell, in the order first set.
    public private(set) var statusItems: [StatusItem] = []
    /// Edits sent and not yet answered, by id.
    public internal(set) var pendingEdits: [Int: EditRequest] = [:]
    /// Overrides the proxy took whose tree does not show them yet, by id: a cluster's tree
    /// changes when its watch brings the patched Service back.
    public internal(set) var unconfirmedEdits: [Int: EditRequest] = [:]
    /// Replays sent and not yet answered, by id.
    public internal(set) var pendingReplays: [Int: ReplayRequest] = [:]
    /// Hops replayed whose new flow has not arrived yet: it opens beside the original when it does.
    var awaitedReplays: Set<HopKey> = []
    var nextEditID = 1
    /// A space just asked for, selected as soon as a tree holds it.
    var pendingSelection: SpaceRef?
    /// How long a note stays in the status bar, in seconds.
    public var noteSeconds = 4.0

    public init(
        themes: [Theme] = ThemeCatalog.shipped.themes, themeIndex: Int = 0, keyMap: KeyMap = .standard,
        size: Size = Size(width: 80, height: 24), hopCapacity: Int = HopRing.defaultCapacity,
        glyphs: Glyphs = .unicode
    ) {
        self.model = DashboardModel(hopCapacity: hopCapacity)
        self.themes = themes.isEmpty ? [ThemeCatalog.shippedDefault] : themes
        self.view = ViewState(size: size, themeIndex: min(max(themeIndex, 0), self.themes.count - 1))
        self.keyMap = keyMap
        self.glyphs = glyphs
    }

    public var theme: Theme { themes[view.themeIndex] }

    public var treeRows: [TreeRow] { TreeRow.rows(for: model, glyphs: glyphs) }

    public func serviceRows(at now: Double) -> [ServiceRow] {
        ServiceRow.rows(for: view.selectedSpace, in: model, at: now)
    }

    public var layout: Layout {
        let rows = treeRows
        let width = rows.map { Columns.width(of: $0.guides + $0.label) + 7 }.max() ?? 0
        let services = view.selectedSpace.flatMap {
            model.source($0.source)?.tree?.serviceStates(of: $0.space).count
        }
        return Layout.make(size: view.size, focus: view.focus, treeWidth: width, serviceRows: services ?? 0)
    }

    public var hopWindow: HopWindow {
        HopWindow.make(model: model, view: view, height: layout.rows[.hops]?.height ?? 0)
    }

    public var flowWindow: FlowWindow {
        FlowWindow.make(model: model, view: view, height: layout.rows[.hops]?.height ?? 0)
    }

    /// The hop selected in the hop pane: the list's row, or in flows the call (or the flow's first hop).
    public var selectedHop: HopRecord? {
        switch view.hopsView {
        case .hops: return hopWindow.selected.flatMap { model.hops[$0] }
        case .flows: return flowWindow.selected?.record
        }
    }

    /// The spaces the selected flow's hops were served in, which the tree pane highlights.
    public func crossedSpaces(in window: FlowWindow?) -> Set<SpaceRef> {
        guard let shape = window?.selected?.shape else { return [] }
        return Set(
            shape.records.compactMap { record in
                record.hop.space.map { SpaceRef(source: record.source, space: $0) }
            })
    }

    public var selectedTree: SpaceTree? {
        view.selectedSpace.flatMap { model.source($0.source)?.tree }
    }

    /// Takes what the inbox held, oldest first. Each update is moved out rather than
    /// copied, so a hop reaches the ring without copying its strings.
    public mutating func receive(_ updates: consuming [DashboardUpdate], at now: Double) {
        var updates = updates
        updates.withUnsafeMutableBufferPointer { buffer in
            for index in buffer.indices {
                let update = buffer.moveElement(from: index)
                // Left initialized with an update that holds nothing, for the array to destroy.
                buffer.initializeElement(at: index, to: .handOffDropped(0))
                receive(consume update, at: now)
            }
        }
    }

    public mutating func receive(_ update: consuming DashboardUpdate, at now: Double) {
        switch consume update {
        case .feed(let source, let event):
            let isTree = if case .spaces = event { true } else { false }
            let problem = if case .error(let message, _) = event { message } else { String?.none }
            var replay: (original: HopKey, flow: String)?
            if !awaitedReplays.isEmpty, case .hop(let hop) = event, let original = hop.replayOf {
                replay = (HopKey(source: source, id: original), hop.flow)
            }
            model.ingest(consume event, from: source, at: now)
            if let replay { showReplay(of: replay.original, flow: replay.flow) }
            if isTree {
                keepSelection()
                confirmEdits(of: source, at: now)
            }
            if let problem { note("\(source): \(Sanitized.line(problem))", isError: true, at: now) }
        case .connected(let source):
            model.connected(source, at: now)
        case .disconnected(let source, let reason):
            model.disconnected(source, reason: reason)
            note("lost \(source): \(Sanitized.line(reason))", isError: true, at: now)
        case .editResult(let id, let error):
            let request = pendingEdits.removeValue(forKey: id)
            if let error {
                view.modal = .message(Sanitized.line(error), isError: true)
            } else if let request {
                if shows(request) {
                    note("done: \(request.edit)", isError: false, at: now)
                } else {
                    unconfirmedEdits[id] = request
                    note("\(request.edit): pending until the tree shows it", isError: false, at: now)
                }
            }
        case .replayResult(let id, let error):
            let request = pendingReplays.removeValue(forKey: id)
            if let error {
                if let request { awaitedReplays.remove(HopKey(source: request.source, id: request.hop)) }
                view.modal = .message(Sanitized.line(error), isError: true)
            } else if let request {
                note(
                    "replayed \(request.hop) as \(Sanitized.line(request.space)): its flow is the newest",
                    isError: false, at: now)
            }
        case .health(let health):
            model.setHealth(health)
        case .status(let key, let value):
            if let value {
                if let index = statusItems.firstIndex(where: { $0.key == key }) {
                    statusItems[index].value = value
                } else {
                    statusItems.append(StatusItem(key: key, value: value))
                }
            } else {
                statusItems.removeAll { $0.key == key }
            }
        case .note(let text, let isError):
            note(text, isError: isError, at: now)
        case .handOffDropped(let count):
            model.handOffDropped += count
        }
    }

    /// The flow of a replay just arrived: in the flows view it opens, selected, and the original's
    /// flow opens too, to compare.
    private mutating func showReplay(of original: HopKey, flow: String) {
        awaitedReplays.remove(original)
        guard view.hopsView == .flows, let number = model.flows.flow(flow)?.number else { return }
        view.expanded.insert(flow)
        if let before = model.hops.record(source: original.source, id: original.id) {
            view.expanded.insert(before.hop.flow)
        }
        view.following = false
        view.flowAnchor = FlowRowID(flow: number)
        view.flowRow = 0
    }

    /// Whether the source's tree already shows an override asked for; other edits show at once.
    func shows(_ request: EditRequest) -> Bool {
        guard case .override(let space, let service, let enabled) = request.edit else { return true }
        return model.source(request.source)?.tree?.instance(service, in: space)?.enabled == enabled
    }

    /// Overrides the new tree of `source` shows are done.
    private mutating func confirmEdits(of source: String, at now: Double) {
        for (id, request) in unconfirmedEdits.sorted(by: { $0.key < $1.key }) where request.source == source {
            guard shows(request) else { continue }
            unconfirmedEdits.removeValue(forKey: id)
            note("done: \(request.edit)", isError: false, at: now)
        }
    }

    /// Whether an override of the service in the space is on its way: sent, or taken and not yet in the tree.
    func isOverridePending(_ ref: SpaceRef, service: String) -> Bool {
        let key = Names.serviceKey(service)
        return (Array(pendingEdits.values) + Array(unconfirmedEdits.values)).contains { request in
            guard request.source == ref.source, case .override(let space, let named, _) = request.edit else {
                return false
            }
            return space == ref.space && Names.serviceKey(named) == key
        }
    }

    mutating func note(_ text: String, isError: Bool, at now: Double) {
        view.note = Note(text: text, isError: isError, until: now + noteSeconds)
    }

    /// Keeps the selected space when the tree changes, or moves to the space asked for, or the first.
    mutating func keepSelection() {
        let spaces = treeRows.compactMap(\.space)
        if let wanted = pendingSelection, spaces.contains(wanted) {
            view.selectedSpace = wanted
            pendingSelection = nil
        } else if view.selectedSpace.map(spaces.contains) != true {
            view.selectedSpace = spaces.first
        }
        let count =
            view.selectedSpace.flatMap { model.source($0.source)?.tree?.serviceStates(of: $0.space).count }
            ?? 0
        view.serviceIndex = min(view.serviceIndex, max(0, count - 1))
    }
}
