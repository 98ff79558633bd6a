import Logging
import SpaceportDashboard
import Testing

@testable import SpaceportApp

/// What a dashboard session does before it takes over a terminal: log lines and status items
/// reach the screen through its inbox.
@Suite("A dashboard session")
struct DashboardSessionTests {
    @Test("a warning logged through the session's logger shows in the status bar; an info line does not")
    func logLinesInTheStatusBar() throws {
        let session = try DashboardSession(unchecked: nil, extraBindings: [], environment: [:])
        session.logger.info("listening on 127.0.0.1:8080")
        session.logger.warning("the spaces file changed and is invalid")
        let shown = screen(of: session, size: Size(width: 120, height: 30))
        let statusBar = try #require(shown.split(separator: "\n").last)
        #expect(statusBar.contains("the spaces file changed and is invalid"), "\(shown)")
        #expect(!shown.contains("listening on"), "\(shown)")
    }

    @Test("a status item set through the session shows in the status bar")
    func statusItems() throws {
        let session = try DashboardSession(unchecked: nil, extraBindings: [], environment: [:])
        session.setStatus("traffic", DemoRun.trafficStatus(true))
        let shown = screen(of: session, size: Size(width: 120, height: 30))
        let statusBar = try #require(shown.split(separator: "\n").last)
        #expect(statusBar.contains("traffic on, g stops it"), "\(shown)")
    }

    /// The session's dashboard after taking what waits in its inbox, drawn as text.
    private func screen(of session: DashboardSession, size: Size) -> String {
        var dashboard = session.dashboard
        dashboard.view.size = size
        dashboard.receive(session.inbox.drain().updates, at: 1)
        var canvas = GridCanvas(size: size)
        dashboard.render(into: &canvas, at: 1)
        return canvas.text
    }
}
