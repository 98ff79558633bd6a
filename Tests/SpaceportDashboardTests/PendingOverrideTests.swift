import SpaceportCore
import Testing

@testable import SpaceportDashboard

@Suite("An override shows pending until the tree shows it")
struct PendingOverrideTests {
    private func servicesRow(_ service: String, in canvas: GridCanvas) -> String? {
        canvas.text.split(separator: "\n").map(String.init).first {
            $0.contains(" \(service) ") && $0.contains("127.0.0.1:")
        }
    }

    /// The dashboard on azureuser's own servicea, in the services pane.
    private func onServicea() throws -> Dashboard {
        var dashboard = Fixtures.dashboard()
        dashboard.selectSpace(SpaceRef(source: Fixtures.source, space: "azureuser"))
        dashboard.view.focus = .services
        dashboard.view.serviceIndex = try #require(
            dashboard.serviceRows(at: 0).firstIndex { $0.service == "servicea" })
        return dashboard
    }

    @Test(
        "toggled, taken by the proxy but not yet in its tree (a cluster's watch), the row says pending, then off"
    )
    func pendingUntilWatched() throws {
        var dashboard = try onServicea()
        #expect(servicesRow("servicea", in: Fixtures.screen(dashboard))?.contains(" on ") == true)
        guard case .edit(let request) = dashboard.press(.space).first else {
            Issue.record("no edit")
            return
        }
        #expect(servicesRow("servicea", in: Fixtures.screen(dashboard))?.contains("pending") == true)
        dashboard.receive(.editResult(id: request.id, error: nil), at: 2)
        #expect(
            dashboard.view.note?.text == "override servicea in azureuser off: pending until the tree shows it"
        )
        let row = try #require(servicesRow("servicea", in: Fixtures.screen(dashboard, at: 2)))
        #expect(row.contains("pending"), "\(row)")
        // Off the selected row, the mark has the note's colour.
        dashboard.view.serviceIndex = try #require(
            dashboard.serviceRows(at: 2).firstIndex { $0.service != "servicea" })
        #expect(Fixtures.screen(dashboard, at: 2).role(of: "pending") == .note)
        // The watch brings the patched Service: the tree shows it off, and the mark goes.
        let confirmed = try Fixtures.tree().applying(request.edit)
        dashboard.receive(.feed(source: Fixtures.source, .spaces(SpacesSnapshot(confirmed))), at: 3)
        #expect(dashboard.unconfirmedEdits.isEmpty)
        #expect(dashboard.view.note?.text == "done: override servicea in azureuser off")
        let after = try #require(servicesRow("servicea", in: Fixtures.screen(dashboard, at: 3)))
        #expect(!after.contains("pending") && after.contains(" off "), "\(after)")
    }

    @Test("a tree that already shows the override when the proxy answers leaves nothing pending")
    func fileEditsAreDoneAtOnce() throws {
        var dashboard = try onServicea()
        guard case .edit(let request) = dashboard.press(.space).first else {
            Issue.record("no edit")
            return
        }
        dashboard.receive(
            .feed(
                source: Fixtures.source, .spaces(SpacesSnapshot(try Fixtures.tree().applying(request.edit)))),
            at: 2)
        dashboard.receive(.editResult(id: request.id, error: nil), at: 2)
        #expect(dashboard.unconfirmedEdits.isEmpty)
        #expect(dashboard.view.note?.text == "done: override servicea in azureuser off")
        #expect(servicesRow("servicea", in: Fixtures.screen(dashboard, at: 2))?.contains("pending") == false)
    }
}
