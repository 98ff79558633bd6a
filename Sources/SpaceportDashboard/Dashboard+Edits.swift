import SpaceportCore

extension Dashboard {
    /// Space/o on a service: flip the space's own instance, or ask where the developer's
    /// local build listens when the space has no instance of its own.
    mutating func toggleOverride(at now: Double) -> [Effect] {
        guard let (ref, row) = selectedService(at: now) else { return [] }
        if let own = row.own {
            return send(
                .override(space: ref.space, service: own.service, enabled: !own.enabled), to: ref.source,
                at: now)
        }
        let from: String
        switch row.ownership {
        case .inherited(let space, _): from = "inherited from \(space)"
        default: from = "served by no space"
        }
        view.modal = .prompt(
            Prompt(
                purpose: .upstream(ref, service: row.service),
                question:
                    "\(row.service) in \(ref.space) is \(from). Address of your local build (host:port):",
                text: "127.0.0.1:", problem: nil))
        return []
    }

    mutating func askForNewSpace() {
        guard let ref = view.selectedSpace, let tree = selectedTree else { return }
        if tree.depth(of: ref.space) >= SpaceTree.maxDepth - 1 {
            view.modal = .message(
                "\(ref.space) is a grandchild: a child of it would be a fourth level, and spaces go at most root → child → grandchild.",
                isError: true)
            return
        }
        view.modal = .prompt(
            Prompt(
                purpose: .newSpace(parent: ref), question: "Name of the new space under \(ref.space):",
                text: "",
                problem: nil))
    }

    /// The selected space and the service row under the cursor, or a note saying how to pick one.
    private mutating func selectedService(at now: Double) -> (SpaceRef, ServiceRow)? {
        if let ref = view.selectedSpace, let row = serviceRows(at: now)[safe: view.serviceIndex] {
            return (ref, row)
        }
        let how = keyMap.key(for: .nextPane, in: .global).map { " (\($0) to the services pane)" } ?? ""
        note("select a service first\(how)", isError: true, at: now)
        return nil
    }

    mutating func askToDeleteSpace() {
        guard let ref = view.selectedSpace, let tree = selectedTree else { return }
        let below = tree.descendants(of: ref.space)
        let what =
            below.isEmpty
            ? "space \(ref.space) and its instances"
            : "space \(ref.space) and its descendants (\(below.joined(separator: ", ")))"
        view.modal = .confirm(
            Confirmation(
                question: "Delete \(what)\(savedIn(ref.source))?",
                request: EditRequest(
                    id: 0, source: ref.source, edit: .deleteSpace(name: ref.space, recursive: !below.isEmpty))
            ))
    }

    /// d on a service: remove the space's own instance, after a yes, so the space inherits it.
    mutating func askToRemoveInstance(at now: Double) {
        guard let (ref, row) = selectedService(at: now), let tree = selectedTree else { return }
        guard let own = row.own else {
            view.modal = .message(
                "\(ref.space) has no instance of \(row.service) of its own to remove.", isError: true)
            return
        }
        let edit = SpaceEdit.removeInstance(space: ref.space, service: own.service)
        let then: String
        switch (try? tree.applying(edit))?.ownership(of: own.service, in: ref.space) {
        case .inherited(let from, _)?: then = "\(ref.space) then inherits it from \(from)."
        default: then = "Then no space on \(ref.space)'s chain serves it."
        }
        view.modal = .confirm(
            Confirmation(
                question:
                    "Remove \(ref.space)'s own \(own.service) (\(own.upstream))\(savedIn(ref.source))? \(then)",
                request: EditRequest(id: 0, source: ref.source, edit: edit)))
    }

    /// ` from spaces.yaml` when the feed's proxy saves its edits to a file.
    private func savedIn(_ source: String) -> String {
        model.source(source)?.hello?.spacesFile.map { " from \(Sanitized.line($0))" } ?? ""
    }

    /// R on a hop: ask which space to send its request again as, the space selected in the tree
    /// when it is of the hop's proxy, else the one the hop was routed as.
    mutating func askToReplay(at now: Double) {
        let record: HopRecord?
        if case .detail(let page, _) = view.modal {
            record = model.hops.record(source: page.source, id: page.id)
        } else {
            record = selectedHop
        }
        guard let record else {
            let how = keyMap.key(for: .nextPane, in: .global).map { " (\($0) to the hop pane)" } ?? ""
            note("select a hop first\(how)", isError: true, at: now)
            return
        }
        let hop = record.hop
        let selected = view.selectedSpace.flatMap { $0.source == record.source ? $0.space : nil }
        let what =
            "\(Sanitized.line(hop.method, placeholder: "?")) \(HopsPane.withoutPort(Sanitized.line(hop.host, placeholder: "")))\(Sanitized.line(hop.path, placeholder: ""))"
        view.modal = .prompt(
            Prompt(
                purpose: .replay(HopKey(source: record.source, id: hop.id)),
                question: "Replay \(what) (hop \(Sanitized.line(hop.id))) routed as space:",
                text: selected ?? Sanitized.line(hop.routeAs, placeholder: ""), problem: nil))
    }

    /// Changes the open prompt's text; the filter applies as it is typed whenever it parses.
    mutating func edit(_ change: (inout String) -> Void) {
        guard case .prompt(var prompt) = view.modal else { return }
        var text = prompt.text
        change(&text)
        guard !text.unicodeScalars.contains(where: Sanitized.isUnsafe), text.count <= 200 else { return }
        prompt.text = text
        prompt.problem = nil
        if case .filter = prompt.purpose {
            do {
                view.filter = try HopFilter.parse(prompt.text)
            } catch {
                prompt.problem = error.description
            }
        }
        view.modal = .prompt(prompt)
    }

    mutating func submitPrompt(at now: Double) -> [Effect] {
        guard case .prompt(var prompt) = view.modal else { return [] }
        let text = prompt.text.trimmingBlanks()
        switch prompt.purpose {
        case .filter:
            do {
                view.filter = try HopFilter.parse(text)
                view.modal = nil
            } catch {
                prompt.problem = error.description
                view.modal = .prompt(prompt)
            }
            return []
        case .newSpace(let parent):
            if let problem = Names.problem(with: text) {
                prompt.problem = problem
            } else if model.source(parent.source)?.tree?.contains(text) == true {
                prompt.problem = "space '\(text)' exists already; pick another name"
            } else {
                view.modal = nil
                pendingSelection = SpaceRef(source: parent.source, space: text)
                return send(.createSpace(name: text, parent: parent.space), to: parent.source, at: now)
            }
        case .replay(let key):
            if let problem = Names.problem(with: text) {
                prompt.problem = problem
            } else if let tree = model.source(key.source)?.tree, !tree.contains(text) {
                prompt.problem = "there is no space '\(text)'; name one in the tree"
            } else {
                view.modal = nil
                return replay(key, as: text, at: now)
            }
        case .upstream(let ref, let service):
            do {
                let address = try Address(parsing: text)
                view.modal = nil
                return send(
                    .setUpstream(space: ref.space, service: service, upstream: address), to: ref.source,
                    at: now)
            } catch {
                prompt.problem = error.description
            }
        }
        view.modal = .prompt(prompt)
        return []
    }

    mutating func confirm(at now: Double) -> [Effect] {
        guard case .confirm(let confirmation) = view.modal else { return [] }
        view.modal = nil
        if case .deleteSpace(let name, _) = confirmation.request.edit,
            let parent = model.source(confirmation.request.source)?.tree?.space(name)?.parent
        {
            pendingSelection = SpaceRef(source: confirmation.request.source, space: parent)
        }
        return send(confirmation.request.edit, to: confirmation.request.source, at: now)
    }

    /// The line without its last word and the blanks after it, as Ctrl-W leaves a shell's.
    static func withoutLastWord(_ text: String) -> String {
        var text = Substring(text)
        while text.last?.isWhitespace == true { text.removeLast() }
        while let last = text.last, !last.isWhitespace { text.removeLast() }
        return String(text)
    }

    mutating func cancel() {
        if case .prompt(let prompt) = view.modal, case .filter(let previous) = prompt.purpose {
            view.filter = previous
        }
        view.modal = nil
    }

    private mutating func replay(_ key: HopKey, as space: String, at now: Double) -> [Effect] {
        let request = ReplayRequest(id: nextEditID, source: key.source, hop: key.id, space: space)
        nextEditID += 1
        pendingReplays[request.id] = request
        awaitedReplays.insert(key)
        note("replaying \(key.id) as \(space)…", isError: false, at: now)
        return [.replay(request)]
    }

    private mutating func send(_ edit: SpaceEdit, to source: String, at now: Double) -> [Effect] {
        let request = EditRequest(id: nextEditID, source: source, edit: edit)
        nextEditID += 1
        pendingEdits[request.id] = request
        note("\(edit)…", isError: false, at: now)
        return [.edit(request)]
    }
}
