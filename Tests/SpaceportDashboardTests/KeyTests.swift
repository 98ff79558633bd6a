import Foundation
import SpaceportCore
import Testing

@testable import SpaceportDashboard

@Suite("Keys, mouse and the effects they ask for")
struct KeyTests {
    /// The dashboard with azureuser selected and the services pane focused on `service`.
    private func onService(_ service: String, in space: String = "azureuser") -> Dashboard {
        var dashboard = Fixtures.dashboard(hops: Fixtures.sampleHops)
        dashboard.selectSpace(SpaceRef(source: Fixtures.source, space: space))
        dashboard.view.focus = .services
        dashboard.view.serviceIndex = dashboard.serviceRows(at: 0).firstIndex { $0.service == service } ?? -1
        return dashboard
    }

    private func edits(_ effects: [Effect]) -> [SpaceEdit] {
        effects.compactMap { if case .edit(let request) = $0 { return request.edit } else { return nil } }
    }

    @Test("every binding in the table is what its keys dispatch in its context, so help cannot lie")
    func tableDispatches() {
        let map = KeyMap.standard
        for binding in map.bindings {
            for key in binding.keys {
                #expect(
                    map.action(for: key, in: [binding.context]) == binding.action,
                    "\(key.label) in \(binding.context)")
            }
        }
    }

    @Test("help lists every binding's keys and words, from the same table")
    func helpFromTable() {
        let lines = HelpView.lines(keyMap: .standard, glyphs: .unicode).map { $0.left.map(\.text).joined() }
        for binding in KeyMap.standard.bindings {
            let keys = binding.keys.map(\.label).joined(separator: " ")
            #expect(lines.contains { $0.contains(keys) && $0.contains(binding.help) }, "\(binding.help)")
        }
    }

    @Test("a binding the shell adds dispatches as its own effect and shows in help")
    func customBinding() {
        let traffic = KeyBinding(
            [.character("g")], .custom("traffic"), .global, "start or stop the demo traffic")
        var dashboard = Dashboard(keyMap: KeyMap.standard.adding([traffic]))
        #expect(dashboard.press(.character("g")) == [.custom("traffic")])
        let lines = HelpView.lines(keyMap: dashboard.keyMap, glyphs: .unicode).map {
            $0.left.map(\.text).joined()
        }
        #expect(lines.contains { $0.contains("g") && $0.contains("start or stop the demo traffic") })
    }

    @Test("Space on an owned service turns the space's own instance off")
    func toggleOff() {
        var dashboard = onService("servicea")
        let effects = dashboard.press(.space)
        #expect(edits(effects) == [.override(space: "azureuser", service: "servicea", enabled: false)])
        guard case .edit(let request) = effects.first else { return }
        #expect(request.source == Fixtures.source)
        #expect(dashboard.pendingEdits[request.id] == request)
    }

    @Test("o on a service whose own instance is off turns it back on")
    func toggleOn() {
        var dashboard = onService("serviceb", in: "bob")
        #expect(
            edits(dashboard.press(.character("o"))) == [
                .override(space: "bob", service: "serviceb", enabled: true)
            ])
    }

    @Test("Space on an inherited service asks for the local build's address, then points the space at it")
    func inheritedAsksForAddress() {
        var dashboard = onService("serviceb")
        #expect(dashboard.press(.space).isEmpty)
        guard case .prompt(let prompt) = dashboard.view.modal else {
            Issue.record("no prompt opened")
            return
        }
        #expect(prompt.question.contains("serviceb in azureuser is inherited from default"))
        #expect(prompt.text == "127.0.0.1:")
        dashboard.type("nope")
        #expect(dashboard.press(.enter).isEmpty)
        guard case .prompt(let refused) = dashboard.view.modal else {
            Issue.record("a bad address closed the prompt")
            return
        }
        #expect(refused.problem?.contains("the port must be a number") == true)
        for _ in 0..<4 { _ = dashboard.press(.backspace) }
        dashboard.type("6002")
        #expect(
            edits(dashboard.press(.enter)) == [
                .setUpstream(
                    space: "azureuser", service: "serviceb", upstream: Address(host: "127.0.0.1", port: 6002))
            ])
        #expect(dashboard.view.modal == nil)
    }

    @Test("n asks for a child's name and creates it under the selected space, which is then selected")
    func newChild() {
        var dashboard = Fixtures.dashboard()
        _ = dashboard.press(.down)
        #expect(dashboard.press(.character("n")).isEmpty)
        dashboard.type("Bad_Name")
        _ = dashboard.press(.enter)
        guard case .prompt(let prompt) = dashboard.view.modal else {
            Issue.record("a bad name closed the prompt")
            return
        }
        #expect(prompt.problem?.contains("DNS label") == true)
        for _ in 0..<8 { _ = dashboard.press(.backspace) }
        dashboard.type("carol")
        #expect(edits(dashboard.press(.enter)) == [.createSpace(name: "carol", parent: "azureuser")])
        let grown = try! Fixtures.tree().applying(.createSpace(name: "carol", parent: "azureuser"))
        dashboard.receive(.feed(source: Fixtures.source, .spaces(SpacesSnapshot(grown))), at: 3)
        #expect(dashboard.view.selectedSpace == SpaceRef(source: Fixtures.source, space: "carol"))
    }

    @Test("n on a grandchild is refused with a message: spaces go three levels deep")
    func fourthLevelRefused() {
        var dashboard = Fixtures.dashboard()
        _ = dashboard.press(.down, .down)
        #expect(dashboard.view.selectedSpace?.space == "bob")
        #expect(dashboard.press(.character("n")).isEmpty)
        guard case .message(let text, let isError) = dashboard.view.modal else {
            Issue.record("no message")
            return
        }
        #expect(isError)
        #expect(text.contains("fourth level"))
        _ = dashboard.press(.character("x"))
        #expect(dashboard.view.modal == nil)
    }

    @Test("d deletes a space only after y; n keeps it")
    func deleteAsksFirst() {
        var dashboard = Fixtures.dashboard()
        _ = dashboard.press(.down)
        #expect(dashboard.press(.character("d")).isEmpty)
        guard case .confirm(let confirmation) = dashboard.view.modal else {
            Issue.record("no question")
            return
        }
        #expect(confirmation.question.contains("azureuser and its descendants (bob)"))
        #expect(dashboard.press(.character("n")).isEmpty)
        #expect(dashboard.view.modal == nil)
        _ = dashboard.press(.character("d"))
        #expect(edits(dashboard.press(.character("y"))) == [.deleteSpace(name: "azureuser", recursive: true)])
    }

    @Test("an edit's result comes back: a note when it worked, the proxy's words when it did not")
    func editResults() {
        var dashboard = onService("servicea")
        guard case .edit(let first) = dashboard.press(.space).first else { return }
        dashboard.receive(
            .feed(
                source: Fixtures.source, .spaces(SpacesSnapshot(try! Fixtures.tree().applying(first.edit)))),
            at: 3)
        dashboard.receive(.editResult(id: first.id, error: nil), at: 3)
        #expect(dashboard.view.note?.text == "done: override servicea in azureuser off")
        #expect(dashboard.pendingEdits.isEmpty)
        guard case .edit(let second) = dashboard.press(.space).first else { return }
        dashboard.receive(.editResult(id: second.id, error: "spaces.yaml: cannot write\u{1B}[2J"), at: 3)
        #expect(dashboard.view.modal == .message("spaces.yaml: cannot write\\x1B[2J", isError: true))
    }

    @Test("an edit goes to the feed whose tree holds the space")
    func editsNameTheirFeed() {
        var dashboard = Fixtures.dashboard()
        dashboard.receive(.connected(source: "other"), at: 0)
        dashboard.receive(.feed(source: "other", .spaces(SpacesSnapshot(Fixtures.tree()))), at: 0)
        let rows = dashboard.treeRows
        #expect(rows.filter { if case .source = $0.kind { return true } else { return false } }.count == 2)
        dashboard.selectSpace(SpaceRef(source: "other", space: "azureuser"))
        dashboard.view.focus = .services
        guard case .edit(let request) = dashboard.press(.space).first else {
            Issue.record("no edit")
            return
        }
        #expect(request.source == "other")
    }

    @Test("Tab, the arrows and hjkl move between panes and rows")
    func navigation() {
        var dashboard = Fixtures.dashboard(hops: Fixtures.sampleHops)
        #expect(dashboard.view.focus == .tree)
        #expect(dashboard.view.selectedSpace?.space == "default")
        _ = dashboard.press(.character("j"), .down)
        #expect(dashboard.view.selectedSpace?.space == "bob")
        _ = dashboard.press(.up)
        #expect(dashboard.view.selectedSpace?.space == "azureuser")
        _ = dashboard.press(.character("l"))
        #expect(dashboard.view.focus == .services)
        _ = dashboard.press(.character("j"))
        #expect(dashboard.view.serviceIndex == 1)
        _ = dashboard.press(.tab)
        #expect(dashboard.view.focus == .hops)
        _ = dashboard.press(.character("h"))
        #expect(dashboard.view.focus == .tree)
        _ = dashboard.press(.backTab)
        #expect(dashboard.view.focus == .hops)
        _ = dashboard.press(.end)
        #expect(dashboard.selectedHop?.hop.id == "h1")
        _ = dashboard.press(.home)
        #expect(dashboard.selectedHop?.hop.id == "h4")
    }

    @Test("Enter opens the selected hop and Esc closes it; Esc on the list quits nothing, q and Ctrl-C quit")
    func openAndQuit() {
        var dashboard = Fixtures.dashboard(hops: Fixtures.sampleHops)
        dashboard.view.focus = .hops
        _ = dashboard.press(.down, .enter)
        #expect(dashboard.view.modal == .detail(HopPage(source: Fixtures.source, id: "h3"), back: []))
        #expect(dashboard.press(.escape).isEmpty)
        #expect(dashboard.view.modal == nil)
        #expect(dashboard.press(.escape, .escape).isEmpty)
        #expect(dashboard.view.modal == nil)
        _ = dashboard.press(.character("?"))
        #expect(dashboard.press(.character("q")).isEmpty)
        #expect(dashboard.press(.character("q")) == [.quit])
        #expect(dashboard.press(.control("c")) == [.quit])
    }

    @Test("Esc on the main view clears the filter, and says so")
    func escapeClearsTheFilter() {
        var dashboard = Fixtures.dashboard(hops: Fixtures.sampleHops)
        _ = dashboard.press(.character("/"))
        dashboard.type("5xx")
        _ = dashboard.press(.enter)
        #expect(dashboard.hopWindow.sequences.count == 1)
        #expect(dashboard.press(.escape).isEmpty)
        #expect(dashboard.view.filter.isEmpty)
        #expect(dashboard.hopWindow.sequences.count == 4)
        #expect(dashboard.view.note?.text == "filter cleared")
    }

    @Test(
        "the filter prompt opens on the filter in force; Ctrl-W erases a word, Ctrl-U the line, Esc restores the filter"
    )
    func promptEditing() {
        var dashboard = Fixtures.dashboard(hops: Fixtures.sampleHops)
        _ = dashboard.press(.character("/"))
        dashboard.type("service:servicec 4xx")
        _ = dashboard.press(.enter)
        #expect(dashboard.view.filter.text == "service:servicec 4xx")
        _ = dashboard.press(.character("/"))
        #expect(promptText(dashboard) == "service:servicec 4xx")
        _ = dashboard.press(.control("w"))
        #expect(promptText(dashboard) == "service:servicec ")
        #expect(dashboard.hopWindow.sequences.count == 1, "the filter applies as it is edited")
        _ = dashboard.press(.backspace, .backspace)
        #expect(promptText(dashboard) == "service:service")
        _ = dashboard.press(.control("u"))
        #expect(promptText(dashboard) == "")
        #expect(dashboard.hopWindow.sequences.count == 4)
        _ = dashboard.press(.escape)
        #expect(dashboard.view.modal == nil)
        #expect(
            dashboard.view.filter.text == "service:servicec 4xx",
            "Esc puts back the filter the prompt opened on")
        _ = dashboard.press(.character("/"), .control("u"), .enter)
        #expect(dashboard.view.filter.isEmpty)
    }

    private func promptText(_ dashboard: Dashboard) -> String? {
        if case .prompt(let prompt) = dashboard.view.modal { return prompt.text }
        return nil
    }

    @Test("while following, the newest hop is selected; moving stops it and the selected hop keeps its row")
    func following() {
        let many = (1...12).map { Fixtures.hop("h\($0)") }
        var dashboard = Fixtures.dashboard(width: 100, height: 16, hops: many)
        dashboard.view.focus = .hops
        #expect(dashboard.selectedHop?.hop.id == "h12")
        dashboard.receive(.feed(source: Fixtures.source, .hop(Fixtures.hop("h13"))), at: 2)
        #expect(dashboard.selectedHop?.hop.id == "h13")
        _ = dashboard.press(.down, .down)
        #expect(dashboard.view.following == false)
        #expect(dashboard.selectedHop?.hop.id == "h11")
        let row = dashboard.hopWindow.selectedRow
        #expect(row == 2)
        dashboard.receive(.feed(source: Fixtures.source, .hop(Fixtures.hop("h14"))), at: 2)
        #expect(dashboard.selectedHop?.hop.id == "h11")
        #expect(dashboard.hopWindow.selectedRow == row)
        #expect(Fixtures.screen(dashboard).text.contains("scrolled"))
        _ = dashboard.press(.character("f"))
        #expect(dashboard.selectedHop?.hop.id == "h14")
        _ = dashboard.press(.character("f"))
        #expect(dashboard.view.following, "f again keeps following")
        dashboard.receive(.feed(source: Fixtures.source, .hop(Fixtures.hop("h15"))), at: 2)
        #expect(dashboard.selectedHop?.hop.id == "h15")
    }

    @Test("p pauses the hop list: new hops wait until p resumes it, or f, which also selects the newest")
    func pausing() {
        var dashboard = Fixtures.dashboard(hops: Fixtures.sampleHops)
        dashboard.view.focus = .hops
        _ = dashboard.press(.character("p"))
        dashboard.receive(.feed(source: Fixtures.source, .hop(Fixtures.hop("h5"))), at: 2)
        #expect(dashboard.hopWindow.sequences.count == 4)
        #expect(Fixtures.screen(dashboard).text.contains("PAUSED"))
        _ = dashboard.press(.character("p"))
        #expect(dashboard.hopWindow.sequences.count == 5)
        _ = dashboard.press(.down, .down, .character("p"))
        dashboard.receive(.feed(source: Fixtures.source, .hop(Fixtures.hop("h6"))), at: 2)
        #expect(dashboard.selectedHop?.hop.id == "h3")
        _ = dashboard.press(.character("f"))
        #expect(!dashboard.view.isPaused)
        #expect(dashboard.view.following)
        #expect(dashboard.hopWindow.sequences.count == 6)
        #expect(dashboard.selectedHop?.hop.id == "h6")
        #expect(Fixtures.screen(dashboard).text.contains("following"))
    }

    @Test(
        "in a hop's detail, ↓ selects the flow's next hop, Enter opens it, and Esc goes back to the first, then the list"
    )
    func flowNavigation() {
        // An ingress hop that starts first and ends last, and the call it made meanwhile.
        let ingress = Fixtures.hop("in1", flow: "f1", second: 5, duration: 1500)
        let call = Fixtures.hop(
            "eg1", flow: "f1", second: 4, service: "serviceb", duration: 300,
            listener: "egress:azureuser/servicea")
        var dashboard = Fixtures.dashboard(width: 100, height: 30, hops: [call, ingress])
        dashboard.view.focus = .hops
        _ = dashboard.press(.enter)
        #expect(dashboard.view.modal == .detail(HopPage(source: Fixtures.source, id: "in1"), back: []))
        let flow = dashboard.model.flow(of: dashboard.model.hops.record(source: Fixtures.source, id: "in1")!)
        #expect(flow.map(\.hop.id) == ["in1", "eg1"], "ordered by start: the request, then its call")
        _ = dashboard.press(.down)
        let screen = Fixtures.screen(dashboard)
        #expect(screen.role(of: "egress:azureuser/servicea GET serviceb") == .selection)
        _ = dashboard.press(.enter)
        #expect(
            dashboard.view.modal
                == .detail(
                    HopPage(source: Fixtures.source, id: "eg1"),
                    back: [HopPage(source: Fixtures.source, id: "in1", selected: "eg1")]))
        #expect(Fixtures.screen(dashboard).text.contains("Hop eg1"))
        _ = dashboard.press(.escape)
        #expect(Fixtures.screen(dashboard).text.contains("Hop in1"))
        _ = dashboard.press(.escape)
        #expect(dashboard.view.modal == nil)
    }

    @Test(
        "d on a service asks, then removes the space's own instance; on an inherited service it says there is none"
    )
    func removeInstance() {
        var dashboard = onService("servicea")
        #expect(dashboard.press(.character("d")).isEmpty)
        guard case .confirm(let confirmation) = dashboard.view.modal else {
            Issue.record("no question")
            return
        }
        #expect(
            confirmation.question
                == "Remove azureuser's own servicea (127.0.0.1:6001)? azureuser then inherits it from default."
        )
        #expect(dashboard.press(.character("n")).isEmpty)
        #expect(dashboard.view.modal == nil)
        _ = dashboard.press(.character("d"))
        #expect(
            edits(dashboard.press(.character("y"))) == [
                .removeInstance(space: "azureuser", service: "servicea")
            ])
        var inherited = onService("serviceb")
        #expect(inherited.press(.character("d")).isEmpty)
        #expect(
            inherited.view.modal
                == .message("azureuser has no instance of serviceb of its own to remove.", isError: true))
    }

    @Test(
        "a question names the spaces file when the proxy has one, and no file when it keeps its spaces in memory"
    )
    func questionsNameTheFile() {
        var dashboard = Fixtures.dashboard()
        _ = dashboard.press(.down, .down, .character("d"))
        guard case .confirm(let inMemory) = dashboard.view.modal else { return }
        #expect(inMemory.question == "Delete space bob and its instances?")
        dashboard.receive(
            .feed(
                source: Fixtures.source,
                .hello(
                    FeedHello(proxy: "main", pid: 1, version: "0.1", listeners: [], spacesFile: "spaces.yaml")
                )),
            at: 1)
        _ = dashboard.press(.character("n"), .character("d"))
        guard case .confirm(let saved) = dashboard.view.modal else { return }
        #expect(saved.question == "Delete space bob and its instances from spaces.yaml?")
    }

    @Test("every key hint on screen is looked up in the key table, so a rebound key shows in them")
    func hintsFollowTheTable() {
        let rebound = KeyMap(
            KeyMap.standard.bindings.map { binding in
                var binding = binding
                let replacements: [Action: Key] = [
                    .help: .character("H"), .confirm: .character("J"), .cancel: .character("N"),
                    .quit: .character("Q"),
                    .back: .character("B"), .submit: .character("A"), .eraseLine: .control("x"),
                    .nextPane: .character("P"),
                ]
                if let key = replacements[binding.action] { binding.keys = [key] }
                return binding
            })
        var dashboard = Dashboard(keyMap: rebound, size: Size(width: 100, height: 30))
        dashboard.receive(.feed(source: Fixtures.source, .spaces(SpacesSnapshot(Fixtures.tree()))), at: 0)
        let bar = Fixtures.screen(dashboard).line(29)
        #expect(bar.hasSuffix("H help "), "\(bar)")
        _ = dashboard.handle(.key(.character("H")), at: 1)
        #expect(Fixtures.screen(dashboard).text.contains("Keys (B closes)"))
        _ = dashboard.handle(.key(.character("B")), at: 1)
        _ = dashboard.handle(.key(.character("d")), at: 1)
        #expect(Fixtures.screen(dashboard).text.contains("J yes, N no"))
        _ = dashboard.handle(.key(.character("N")), at: 1)
        _ = dashboard.handle(.key(.character("/")), at: 1)
        #expect(Fixtures.screen(dashboard).text.contains("A accepts, N cancels, Ctrl-X clears"))
        _ = dashboard.handle(.key(.character("N")), at: 1)
        dashboard.selectSpace(SpaceRef(source: Fixtures.source, space: "team2"))
        dashboard.view.focus = .services
        _ = dashboard.handle(.key(.character("o")), at: 1)
        #expect(dashboard.view.note?.text == "select a service first (P to the services pane)")
        dashboard.view.size = Size(width: 200, height: 9)
        #expect(Fixtures.screen(dashboard).text.contains("Q quits."))
    }

    @Test("t moves to the next theme and says which")
    func themes() {
        var dashboard = Fixtures.dashboard()
        #expect(dashboard.theme.name == "dark")
        _ = dashboard.press(.character("t"))
        #expect(dashboard.theme.name == "light")
        #expect(dashboard.view.note?.text == "theme: light")
        _ = dashboard.press(.character("t"), .character("t"))
        #expect(dashboard.theme.name == "dark")
    }

    @Test("a click selects the space, the service or the hop under it; the wheel scrolls")
    func mouse() {
        var dashboard = Fixtures.dashboard(hops: Fixtures.sampleHops)
        let layout = dashboard.layout
        let tree = layout.rows[.tree]!
        _ = dashboard.handle(.mouse(MouseEvent(x: tree.x + 2, y: tree.y + 2, kind: .press)), at: 2)
        #expect(dashboard.view.selectedSpace?.space == "bob")
        let services = dashboard.layout.rows[.services]!
        _ = dashboard.handle(.mouse(MouseEvent(x: services.x + 3, y: services.y + 1, kind: .press)), at: 2)
        #expect(dashboard.view.focus == .services)
        #expect(dashboard.view.serviceIndex == 1)
        let hops = dashboard.layout.rows[.hops]!
        _ = dashboard.handle(.mouse(MouseEvent(x: hops.x + 5, y: hops.y + 2, kind: .press)), at: 2)
        #expect(dashboard.view.focus == .hops)
        #expect(dashboard.selectedHop?.hop.id == "h2")
        _ = dashboard.handle(.mouse(MouseEvent(x: hops.x + 5, y: hops.y, kind: .scrollDown)), at: 2)
        #expect(dashboard.selectedHop?.hop.id == "h1")
    }
}
