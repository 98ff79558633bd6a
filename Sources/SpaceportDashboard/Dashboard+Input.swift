import SpaceportCore

extension Dashboard {
    /// The contexts whose bindings a key is looked up in, most specific first.
    public var keyContexts: [KeyContext] {
        switch view.modal {
        case nil: return [view.focus.context, .global]
        case .help: return [.help]
        case .detail: return [.detail]
        case .prompt: return [.prompt]
        case .confirm: return [.confirm]
        case .message: return [.message]
        }
    }

    public mutating func handle(_ input: Input, at now: Double) -> [Effect] {
        switch input {
        case .resize(let size):
            view.size = size
            return []
        case .mouse(let event):
            click(event)
            return []
        case .key(let key):
            if case .prompt = view.modal, keyMap.action(for: key, in: [.prompt]) == nil {
                if case .character(let character) = key { edit { $0.append(character) } }
                return []
            }
            guard let action = keyMap.action(for: key, in: keyContexts) else {
                if case .message = view.modal { view.modal = nil }
                return []
            }
            return perform(action, at: now)
        }
    }

    public mutating func perform(_ action: Action, at now: Double) -> [Effect] {
        switch action {
        case .up where isShowingDetail: selectInFlow(by: -1)
        case .down where isShowingDetail: selectInFlow(by: 1)
        case .up: move(by: -1)
        case .down: move(by: 1)
        case .pageUp: move(by: -pageSize)
        case .pageDown: move(by: pageSize)
        case .top: move(by: Int.min / 2)
        case .bottom: move(by: Int.max / 2)
        case .focusLeft: if view.focus != .tree { view.focus = .tree }
        case .focusRight: if view.focus == .tree { view.focus = .services }
        case .nextPane: view.focus = Pane(rawValue: (view.focus.rawValue + 1) % Pane.allCases.count)!
        case .previousPane:
            view.focus = Pane(
                rawValue: (view.focus.rawValue + Pane.allCases.count - 1) % Pane.allCases.count)!
        case .open where isShowingDetail: openSelectedFlowHop()
        case .open where view.hopsView == .flows && flowWindow.selected?.node == nil: toggleFlow()
        case .open: openSelectedHop()
        case .expand where view.hopsView == .flows: toggleFlow()
        case .expand: break
        case .switchView: switchView(at: now)
        case .replay: askToReplay(at: now)
        case .back: goBack()
        case .quit: return [.quit]
        case .toggleOverride: return toggleOverride(at: now)
        case .removeInstance: askToRemoveInstance(at: now)
        case .newSpace: askForNewSpace()
        case .deleteSpace: askToDeleteSpace()
        case .filter:
            // The prompt opens on the filter in force, to edit as a shell line is (Ctrl-U clears it).
            let question =
                view.hopsView == .flows ? "Filter flows (those with a hop that matches):" : "Filter hops:"
            view.modal = .prompt(
                Prompt(
                    purpose: .filter(previous: view.filter), question: question, text: view.filter.text,
                    problem: nil))
        case .clearFilter:
            guard !view.filter.isEmpty else { break }
            view.filter = .none
            note("filter cleared", isError: false, at: now)
        case .pause: togglePause()
        case .follow: follow()
        case .cycleTheme:
            view.themeIndex = (view.themeIndex + 1) % themes.count
            note("theme: \(theme.name)", isError: false, at: now)
        case .help: view.modal = .help(scroll: 0)
        case .submit: return submitPrompt(at: now)
        case .confirm: return confirm(at: now)
        case .cancel: cancel()
        case .eraseCharacter: edit { if !$0.isEmpty { $0.removeLast() } }
        case .eraseWord: edit { $0 = Self.withoutLastWord($0) }
        case .eraseLine: edit { $0 = "" }
        case .custom(let name): return [.custom(name)]
        }
        return []
    }

    private var pageSize: Int {
        let layout = self.layout
        switch view.modal {
        case .help, .detail: return max(1, view.size.height - 4)
        default: return max(1, (layout.rows[view.focus]?.height ?? 2) - 1)
        }
    }

    private mutating func move(by delta: Int) {
        switch view.modal {
        case .help(let scroll): view.modal = .help(scroll: clampScroll(scroll + delta))
        case .detail: scrollDetail(by: delta)
        case nil:
            switch view.focus {
            case .tree: moveSpace(by: delta)
            case .services: moveService(by: delta)
            case .hops where view.hopsView == .flows: moveFlow(by: delta)
            case .hops: moveHop(by: delta)
            }
        default: break
        }
    }

    private func clampScroll(_ value: Int) -> Int { min(max(value, 0), 10_000) }

    mutating func moveSpace(by delta: Int) {
        let spaces = treeRows.compactMap(\.space)
        guard !spaces.isEmpty else { return }
        let current = view.selectedSpace.flatMap { spaces.firstIndex(of: $0) } ?? 0
        let target = Self.clamped(current, delta, count: spaces.count)
        selectSpace(spaces[target])
    }

    mutating func selectSpace(_ ref: SpaceRef) {
        let service = serviceRows(at: 0)[safe: view.serviceIndex]?.service
        view.selectedSpace = ref
        let rows = serviceRows(at: 0)
        view.serviceIndex =
            service.flatMap { name in
                rows.firstIndex { Names.serviceKey($0.service) == Names.serviceKey(name) }
            }
            ?? min(view.serviceIndex, max(0, rows.count - 1))
    }

    mutating func moveService(by delta: Int) {
        let count = serviceRows(at: 0).count
        guard count > 0 else { return }
        view.serviceIndex = Self.clamped(view.serviceIndex, delta, count: count)
    }

    mutating func moveHop(by delta: Int) {
        let window = hopWindow
        guard let current = window.selected, let row = window.selectedRow else { return }
        let limit = view.pausedAt ?? model.hops.newestSequence ?? current
        var target = current
        var steps = 0
        if delta > 0 {
            for record in model.hops.newestFirst(from: current - 1) where view.filter.matches(record) {
                target = record.sequence
                steps += 1
                if steps == delta { break }
            }
        } else if current < limit {
            for sequence in (current + 1)...limit {
                guard let record = model.hops[sequence], view.filter.matches(record) else { continue }
                target = sequence
                steps -= 1
                if steps == delta { break }
            }
        }
        let height = layout.rows[.hops]?.height ?? 1
        view.following = false
        view.hopAnchor = target
        view.hopRow = min(max(row + steps, 0), max(0, height - 1))
    }

    static func clamped(_ index: Int, _ delta: Int, count: Int) -> Int {
        let (sum, overflow) = index.addingReportingOverflow(delta)
        if overflow { return delta < 0 ? 0 : count - 1 }
        return min(max(sum, 0), count - 1)
    }

    mutating func moveFlow(by delta: Int) {
        let list = FlowList(model: model, view: view)
        guard let current = list.index(of: view.following ? nil : view.flowAnchor),
            let row = flowWindow.selectedRow
        else { return }
        let (wanted, overflow) = current.addingReportingOverflow(delta)
        let last = list.count(upTo: overflow || delta < 0 ? current + 1 : wanted + 1) - 1
        let target = overflow ? (delta < 0 ? 0 : last) : min(max(wanted, 0), last)
        guard let id = list.id(at: target) else { return }
        let height = layout.rows[.hops]?.height ?? 1
        view.following = false
        view.flowAnchor = id
        view.flowRow = min(max(row + target - current, 0), max(0, height - 1))
    }

    /// Opens the selected flow into its calls, or closes it (selecting its own row).
    private mutating func toggleFlow() {
        let window = flowWindow
        guard let row = window.selected, let selectedRow = window.selectedRow else { return }
        let key = row.shape.flow.key
        // Flows that have left the index are forgotten, so the set stays as small as the list.
        view.expanded = view.expanded.filter { model.flows.flow($0) != nil }
        if view.expanded.remove(key) == nil { view.expanded.insert(key) }
        view.following = false
        view.flowAnchor = FlowRowID(flow: row.shape.flow.number)
        view.flowRow = max(0, selectedRow - (row.node.map { $0 + 1 } ?? 0))
    }

    private mutating func switchView(at now: Double) {
        view.hopsView = view.hopsView == .hops ? .flows : .hops
        note(view.hopsView == .flows ? "showing flows" : "showing hops", isError: false, at: now)
    }

    private mutating func openSelectedHop() {
        guard let record = selectedHop else { return }
        view.modal = .detail(HopPage(source: record.source, id: record.hop.id), back: [])
    }

    private mutating func togglePause() {
        if view.pausedAt != nil {
            view.pausedAt = nil
        } else {
            view.pausedAt = model.hops.newestSequence ?? -1
        }
    }

    /// Resumes a paused list and selects the newest hop, keeping it selected as hops arrive.
    private mutating func follow() {
        view.pausedAt = nil
        view.following = true
        view.hopAnchor = nil
        view.hopRow = 0
        view.flowAnchor = nil
        view.flowRow = 0
    }

    private mutating func click(_ event: MouseEvent) {
        switch view.modal {
        case .help, .detail, .message:
            if event.kind == .press { view.modal = nil }
            return
        case .prompt, .confirm:
            return
        case nil:
            break
        }
        guard let (pane, row) = layout.hit(x: event.x, y: event.y) else { return }
        view.focus = pane
        switch event.kind {
        case .scrollUp: move(by: -3)
        case .scrollDown: move(by: 3)
        case .press where row >= 0: select(row: row, in: pane)
        case .press: break
        }
    }

    private mutating func select(row: Int, in pane: Pane) {
        let height = layout.rows[pane]?.height ?? 0
        switch pane {
        case .tree:
            let rows = treeRows
            let selected = rows.firstIndex { $0.space != nil && $0.space == view.selectedSpace } ?? 0
            let index = Self.top(selected: selected, height: height) + row
            if let ref = rows[safe: index]?.space { selectSpace(ref) }
        case .services:
            let count = serviceRows(at: 0).count
            let index = Self.top(selected: view.serviceIndex, height: height) + row
            if index < count { view.serviceIndex = index }
        case .hops where view.hopsView == .flows:
            let window = flowWindow
            guard row < window.rows.count else { return }
            view.following = false
            view.flowAnchor = window.rows[row].id
            view.flowRow = row
        case .hops:
            let window = hopWindow
            guard row < window.sequences.count else { return }
            view.following = false
            view.hopAnchor = window.sequences[row]
            view.hopRow = row
        }
    }

    /// The first row shown so the selected row is visible: rows scroll only when they must.
    static func top(selected: Int, height: Int) -> Int { max(0, selected - max(height, 1) + 1) }
}

extension Array {
    subscript(safe index: Int) -> Element? { indices.contains(index) ? self[index] : nil }
}
