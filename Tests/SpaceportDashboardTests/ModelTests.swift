import SpaceportCore
import Testing

@testable import SpaceportDashboard

@Suite("The dashboard's model of what the feeds said")
struct ModelTests {
    @Test("a hop's start and end become one row with the end's status and duration")
    func startAndEndMerge() {
        var model = DashboardModel()
        model.ingest(.hop(Fixtures.hop("h1", phase: .start)), from: "main", at: 1)
        #expect(model.hops.count == 1)
        #expect(model.hops[0]?.hasEnded == false)
        model.ingest(.hop(Fixtures.hop("h1", phase: .end, status: 201, duration: 40)), from: "main", at: 2)
        #expect(model.hops.count == 1)
        let record = model.hops[0]
        #expect(record?.hasEnded == true)
        #expect(record?.hop.status == 201)
        #expect(record?.hop.durationMs == 40)
        #expect(record?.hop.method == "GET")
    }

    @Test("the same hop id from two feeds is two hops")
    func idsAreScopedBySource() {
        var model = DashboardModel()
        model.ingest(.hop(Fixtures.hop("h1")), from: "one", at: 1)
        model.ingest(.hop(Fixtures.hop("h1")), from: "two", at: 1)
        #expect(model.hops.count == 2)
    }

    @Test("the ring holds 10,000 hops by default and forgets the oldest first")
    func ringIsBounded() {
        #expect(DashboardModel().hops.capacity == 10_000)
        var model = DashboardModel(hopCapacity: 3)
        for number in 1...5 { model.ingest(.hop(Fixtures.hop("h\(number)")), from: "main", at: 1) }
        #expect(model.hops.count == 3)
        #expect(model.hops.newestFirst().map(\.hop.id) == ["h5", "h4", "h3"])
        #expect(model.hops.record(source: "main", id: "h1") == nil)
        model.ingest(.hop(Fixtures.hop("h1", status: 500)), from: "main", at: 1)
        #expect(model.hops.newestFirst().map(\.hop.id) == ["h1", "h5", "h4"])
    }

    @Test("request rates count hops routed as each space, and per service, over the last five seconds")
    func rates() {
        var model = DashboardModel()
        model.connected("main", at: 90)
        for number in 0..<10 {
            model.ingest(
                .hop(Fixtures.hop("a\(number)", routeAs: "azureuser", tried: ["azureuser"])), from: "main",
                at: 100.5)
        }
        model.ingest(
            .hop(Fixtures.hop("b1", service: "serviceb", tried: ["azureuser", "default"], space: "default")),
            from: "main", at: 101)
        // At 101.5 the window holds the four whole seconds 97–100 and half of 101.
        #expect(model.spaceRate(source: "main", space: "azureuser", at: 101.5) == 11.0 / 4.5)
        #expect(
            model.serviceRate(source: "main", space: "azureuser", service: "servicea", at: 101.5) == 10 / 4.5)
        #expect(
            model.serviceRate(source: "main", space: "azureuser", service: "ServiceB", at: 101.5) == 1 / 4.5)
        #expect(model.spaceRate(source: "main", space: "default", at: 101.5) == 0)
        #expect(model.spaceRate(source: "main", space: "azureuser", at: 110) == 0)
    }

    @Test(
        "in the first seconds after attaching, rates count only live hops, over the time watched: not the replayed recent hops"
    )
    func firstSeconds() {
        var model = DashboardModel()
        model.connected("main", at: 0)
        let since = "2026-11-26T10:00:30.000Z"
        model.ingest(
            .hello(FeedHello(proxy: "main", pid: 1, version: "0", listeners: [], since: since)), from: "main",
            at: 0)
        // The proxy's last 50 hops, replayed on connect: they ended before this connection began.
        for number in 0..<50 {
            model.ingest(.hop(Fixtures.hop("r\(number)", second: 1 + number % 29)), from: "main", at: 0.1)
        }
        #expect(model.hops.count == 50, "the replayed hops are listed")
        #expect(model.spaceRate(source: "main", space: "azureuser", at: 0.5) == 0)
        // Then 1.2 a second, live: a start, then its end.
        func live(_ number: Int, at time: Double) {
            model.ingest(.hop(Fixtures.hop("l\(number)", phase: .start, second: 31)), from: "main", at: time)
            model.ingest(.hop(Fixtures.hop("l\(number)", second: 31)), from: "main", at: time + 0.01)
        }
        live(0, at: 0.8)
        live(1, at: 1.6)
        #expect(model.spaceRate(source: "main", space: "azureuser", at: 2) == 2.0 / 2)
        live(2, at: 2.5)
        live(3, at: 3.3)
        #expect(model.spaceRate(source: "main", space: "azureuser", at: 3.4) == 4 / 3.4)
    }

    @Test(
        "a sampling feed's rates come from its tallies, and the sampled hops it sends are not counted again")
    func tallyRates() {
        var model = DashboardModel()
        model.connected("main", at: 90)
        let tally = HopTally(
            hops: 500, sampled: 2, failed: 0, seconds: 0.25,
            routes: [
                .init(routeAs: "azureuser", service: "servicea", hops: 400),
                .init(routeAs: "azureuser", service: "ServiceB", hops: 90),
                .init(routeAs: "default", service: nil, hops: 10),
            ])
        model.ingest(
            .hop(Fixtures.hop("s1", routeAs: "azureuser", tried: ["azureuser"])), from: "main", at: 100)
        model.ingest(.tally(tally), from: "main", at: 100.2)
        // The hop before the first tally counted; from the tally on, hops are a sample already counted.
        model.ingest(
            .hop(Fixtures.hop("s2", routeAs: "azureuser", tried: ["azureuser"])), from: "main", at: 100.3)
        #expect(model.hops.count == 2)
        #expect(model.spaceRate(source: "main", space: "azureuser", at: 101) == 491.0 / 4)
        #expect(
            model.serviceRate(source: "main", space: "azureuser", service: "serviceb", at: 101) == 90.0 / 4)
        #expect(model.spaceRate(source: "main", space: "default", at: 101) == 10.0 / 4)
        #expect(model.source("main")?.tallied == true)
        let sampling = model.sampling(at: 101)
        #expect(sampling?.hopsPerSecond == 500.0 / 4)
        #expect(sampling?.share == 2.0 / 500)
    }

    @Test("a tally that left nothing out is not called a sample")
    func wholeTallyIsNoSample() {
        var model = DashboardModel()
        model.ingest(
            .tally(HopTally(hops: 3, sampled: 3, failed: 0, seconds: 0.25, routes: [])), from: "main", at: 1)
        #expect(model.sampling(at: 1.5) == nil)
    }

    @Test("a hop's end phase does not count as a second request")
    func endIsNotCountedTwice() {
        var model = DashboardModel()
        model.ingest(.hop(Fixtures.hop("h1", phase: .start)), from: "main", at: 1)
        model.ingest(.hop(Fixtures.hop("h1", phase: .end)), from: "main", at: 1)
        #expect(model.spaceRate(source: "main", space: "azureuser", at: 1) == 1)
    }

    @Test("dropped counts add up from every feed and from the hand-off to the screen")
    func droppedCounts() {
        var model = DashboardModel()
        model.ingest(.dropped(count: 3), from: "one", at: 1)
        model.ingest(.dropped(count: 4), from: "two", at: 1)
        model.ingest(.dropped(count: 1), from: "one", at: 1)
        model.handOffDropped = 2
        #expect(model.source("one")?.dropped == 4)
        #expect(model.totalDropped == 10)
    }

    @Test("events per second count every feed event")
    func eventRate() {
        var model = DashboardModel()
        for _ in 0..<25 { model.ingest(.dropped(count: 0), from: "main", at: 7.2) }
        #expect(model.eventRate(at: 7.9) == 25)
        #expect(abs(model.eventRate(at: 9.2) - 12.5) < 1e-9)
    }

    @Test("a tree that is not valid is reported and the last good one is kept")
    func invalidSnapshotKeepsTree() throws {
        var model = DashboardModel()
        model.ingest(.spaces(SpacesSnapshot(Fixtures.tree())), from: "main", at: 1)
        var broken = SpacesSnapshot(Fixtures.tree())
        broken.spaces[1].parent = "nowhere"
        model.ingest(.spaces(broken), from: "main", at: 2)
        #expect(model.source("main")?.tree == Fixtures.tree())
        #expect(model.source("main")?.treeProblem?.contains("not valid") == true)
    }

    @Test("the other hops of a flow are found by request id, oldest first")
    func flows() throws {
        var model = DashboardModel()
        for hop in Fixtures.sampleHops { model.ingest(.hop(hop), from: "main", at: 1) }
        let second = try #require(model.hops.record(source: "main", id: "h2"))
        #expect(model.flow(of: second).map(\.hop.id) == ["h1", "h2"])
    }

    @Test("the inbox drops hops beyond its capacity, never a tree or an edit's result")
    func inboxIsBounded() {
        let inbox = DashboardInbox(hopCapacity: 2)
        for number in 1...5 { inbox.post(.feed(source: "main", .hop(Fixtures.hop("h\(number)")))) }
        inbox.post(.feed(source: "main", .spaces(SpacesSnapshot(Fixtures.tree()))))
        inbox.post(.editResult(id: 1, error: nil))
        let (updates, dropped) = inbox.drain()
        #expect(updates.count == 4)
        #expect(dropped == 3)
        #expect(inbox.drain().updates.isEmpty)
    }
}
