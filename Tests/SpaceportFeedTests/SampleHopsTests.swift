import Foundation
import NIOCore
import SpaceportCore
import Testing

@testable import SpaceportFeed

/// `sample-hops`: under a load test a reader gets at most so many hops a second, never a
/// half of one, always the failures, and tallies that count every hop exactly.
@Suite("Sampled hops")
struct SampleHopsTests {
    /// A subscriber sampling as the hub's does, on a clock the test sets.
    private struct Sampled {
        let subscriber = Subscriber(limit: 1_000_000, since: EventTime.now())

        init(perSecond: Int, now: NIODeadline) {
            subscriber.sampler = HopSampler(perSecond: perSecond, now: now)
        }

        /// Publishes `events` at `now`, and returns what the subscriber then reads.
        func publish(_ events: [FeedEvent], at now: NIODeadline) -> [FeedEntry] {
            for event in events {
                let entry = FeedEntry(event)
                if case .hop(let hop) = event {
                    _ = subscriber.offer(entry, HopFacts(hop), now: now)
                } else {
                    subscriber.enqueue(entry)
                }
            }
            subscriber.releaseTally(now: now)
            var read: [FeedEntry] = []
            while let entry = subscriber.take() { read.append(entry) }
            return read
        }
    }

    private func failed(_ number: Int) -> HopEvent {
        var hop = Samples.hop(number)
        hop.status = 503
        return hop
    }

    /// `count` hops, each start followed by its end.
    private func traffic(_ numbers: Range<Int>) -> [FeedEvent] {
        numbers.flatMap { [FeedEvent.hop(Samples.hop($0, phase: .start)), .hop(Samples.hop($0))] }
    }

    private func tallies(_ batch: [FeedEntry]) -> [HopTally] {
        batch.compactMap { if case .tally(let tally) = $0.event { tally } else { nil } }
    }

    private func hops(_ batch: [FeedEntry]) -> [HopEvent] {
        batch.compactMap { if case .hop(let hop) = $0.event { hop } else { nil } }
    }

    @Test("past its budget a burst reaches the reader as whole hops only, and the tally counts all of it")
    func burstIsSampledWhole() {
        let start = NIODeadline.now()
        let sampled = Sampled(perSecond: 100, now: start)
        let batch = sampled.publish(traffic(0..<1000), at: start)
        let sent = hops(batch)
        // A second's budget at once: a hundred hops, each start with its own end.
        #expect(sent.count == 200)
        let starts = Set(sent.filter { $0.phase == .start }.map(\.id))
        #expect(starts == Set(sent.filter { $0.phase == .end }.map(\.id)))
        #expect(tallies(batch).isEmpty, "a tally waits for its quarter second")

        let later = sampled.publish([], at: start + .milliseconds(250))
        #expect(
            tallies(later) == [
                HopTally(
                    hops: 1000, sampled: 100, failed: 0, seconds: 0.25,
                    routes: [HopTally.Route(routeAs: "azureuser", service: "servicea", hops: 1000)])
            ])
        #expect(sampled.subscriber.sampler?.nextDue == nil)
        #expect(sampled.publish([], at: start + .seconds(1)).isEmpty, "an empty tally is not sent")
    }

    @Test("a burst within a second's budget, a page load, reaches the reader whole: nothing is left out")
    func pageLoadComesWhole() {
        let start = NIODeadline.now()
        let sampled = Sampled(perSecond: 250, now: start)
        #expect(hops(sampled.publish(traffic(0..<240), at: start)).count == 480)
        let tally = tallies(sampled.publish([], at: start + .milliseconds(250))).first
        #expect(tally?.hops == 240 && tally?.leftOut == 0)
    }

    @Test("the end of a hop whose start was sent always follows, budget or not")
    func endFollowsItsStart() {
        let start = NIODeadline.now()
        let sampled = Sampled(perSecond: 1, now: start)
        let first = sampled.publish([.hop(Samples.hop(1, phase: .start))], at: start)
        #expect(hops(first) == [Samples.hop(1, phase: .start)])
        let flood = sampled.publish(
            (2..<50).map { .hop(Samples.hop($0, phase: .start)) } + [.hop(Samples.hop(1))], at: start)
        #expect(hops(flood) == [Samples.hop(1)], "the budget was spent; hop 1's end still comes")
    }

    @Test("routes are tallied by the space routed as and the service, largest first")
    func routesAreTallied() {
        let start = NIODeadline.now()
        let sampled = Sampled(perSecond: 1000, now: start)
        let ends =
            [Samples.hop(1), Samples.hop(2, routeAs: "default", tried: ["default"])]
            + (3..<6).map { Samples.hop($0, routeAs: "bob", tried: []) }
            + [Samples.hop(9, routeAs: "default", tried: ["default"], unknownRouteAs: "nobody")]
        _ = sampled.publish(ends.map { .hop($0) }, at: start)
        let later = sampled.publish([], at: start + .milliseconds(250))
        #expect(
            tallies(later).first?.routes == [
                .init(routeAs: "bob", service: "servicea", hops: 3),
                .init(routeAs: "default", service: "servicea", hops: 2),
                .init(routeAs: "azureuser", service: "servicea", hops: 1),
            ])
    }

    @Test("failed hops have a budget of their own: a flood of successes does not hide them")
    func failuresGetThrough() {
        let start = NIODeadline.now()
        let sampled = Sampled(perSecond: 10, now: start)
        let batch = sampled.publish(
            traffic(0..<500) + [.hop(Samples.hop(900, phase: .start)), .hop(failed(900))], at: start)
        #expect(hops(batch).last == failed(900), "the failure comes as its end alone")
        let later = sampled.publish([], at: start + .seconds(1))
        #expect(tallies(later).first?.failed == 1)
        #expect(tallies(later).first?.hops == 501)
    }

    @Test(
        "a hop whose caller lost its route shares the failures' budget: a flood of successes does not hide it"
    )
    func lostHopsGetThrough() {
        let start = NIODeadline.now()
        let sampled = Sampled(perSecond: 10, now: start)
        var lost = Samples.hop(900)
        lost.propagation = .lost
        let batch = sampled.publish(
            traffic(0..<500) + [.hop(Samples.hop(900, phase: .start)), .hop(lost)], at: start)
        #expect(hops(batch).last == lost, "the lost hop comes as its end alone")
        let later = sampled.publish([], at: start + .seconds(1))
        #expect(tallies(later).first?.failed == 0, "a lost hop is no failure")
    }

    @Test(
        "a burst of a second's budget comes whole; past it the budget refills smoothly, about perSecond hops a second, spread out"
    )
    func steadyRate() {
        let start = NIODeadline.now()
        let sampled = Sampled(perSecond: 200, now: start)
        var sentPerStep: [Int] = []
        var counted = 0
        var number = 0
        // Two seconds of 5,000 hops a second, in 5 ms batches.
        for step in 1...400 {
            let batch = sampled.publish(
                traffic(number..<(number + 25)), at: start + .milliseconds(Int64(step * 5)))
            number += 25
            sentPerStep.append(hops(batch).filter { $0.phase == .start }.count)
            counted += tallies(batch).reduce(0) { $0 + $1.hops }
        }
        let sent = sentPerStep.reduce(0, +)
        // The first second's 200 at once (and what refilled meanwhile), then one every 5 ms.
        #expect(sentPerStep.prefix(8).allSatisfy { $0 == 25 }, "\(sentPerStep.prefix(10))")
        #expect((590...620).contains(sent), "\(sent) hops sent in 2 s at 200 a second")
        #expect(sentPerStep.suffix(300).allSatisfy { $0 <= 2 }, "no burst at the top of a second")
        let last = sampled.publish([], at: start + .seconds(3))
        counted += tallies(last).reduce(0) { $0 + $1.hops }
        #expect(counted == 10_000, "the tallies count every hop once")
    }

    @Test("everything that is not a hop passes, and the tally comes in order, with the hop that made it due")
    func otherEventsPass() {
        let start = NIODeadline.now()
        let sampled = Sampled(perSecond: 1, now: start)
        _ = sampled.publish(traffic(0..<5), at: start)
        let batch = sampled.publish(
            [.hop(Samples.hop(7, phase: .start)), .ack(id: "a"), .dropped(count: 2), .hop(Samples.hop(7))],
            at: start + .milliseconds(300))
        // The budget is spent, so hop 7 is left out. Its start made the tally due; hop 7 counts
        // in the next one, as it ended after.
        #expect(batch.map(\.event.type) == ["tally", "ack", "dropped"])
        #expect(tallies(batch).first?.hops == 5)
    }

    @Test("a hop counts in the tally when it ends: one still open, a WebSocket say, counts once it closes")
    func hopsCountAtTheirEnd() {
        let start = NIODeadline.now()
        let sampled = Sampled(perSecond: 100, now: start)
        _ = sampled.publish([.hop(Samples.hop(1, phase: .start))] + traffic(2..<5), at: start)
        let first = tallies(sampled.publish([], at: start + .milliseconds(250)))
        #expect(first.map(\.hops) == [3], "hop 1 is still open")
        _ = sampled.publish([.hop(Samples.hop(1))], at: start + .seconds(5))
        let second = tallies(sampled.publish([], at: start + .milliseconds(5250)))
        #expect(second.map(\.hops) == [1])
        #expect(second.first?.routes == [.init(routeAs: "azureuser", service: "servicea", hops: 1)])
    }

    @Test("a spent budget says exactly when it takes a start again, so the hub can leave out the ones before")
    func spentBudgetSaysWhenItReopens() throws {
        let start = NIODeadline.now()
        let sampled = Sampled(perSecond: 10, now: start)
        let sampler = { sampled.subscriber.sampler }
        #expect(try #require(sampler()).startsOpenAt <= start, "a fresh budget takes starts at once")
        #expect(hops(sampled.publish(traffic(0..<30), at: start)).count == 20)
        // Ten a second: the next whole token is a tenth of a second away.
        #expect(try #require(sampler()).startsOpenAt == start + .milliseconds(100))
        let early = sampled.publish([.hop(Samples.hop(40, phase: .start))], at: start + .milliseconds(99))
        #expect(hops(early).isEmpty)
        let due = sampled.publish([.hop(Samples.hop(41, phase: .start))], at: start + .milliseconds(100))
        #expect(hops(due).map(\.id) == [Samples.hop(41).id])
    }

    /// Reads until the tallies have counted `hops`, returning the hop lines seen on the way.
    private func untilTallied(_ client: LineSocket, hops expected: Int) async throws -> (
        hops: [HopEvent], tallies: [HopTally]
    ) {
        var hops: [HopEvent] = []
        var tallies: [HopTally] = []
        while tallies.reduce(0, { $0 + $1.hops }) < expected {
            switch try await client.nextEvent() {
            case .hop(let hop): hops.append(hop)
            case .tally(let tally): tallies.append(tally)
            default: break
            }
        }
        return (hops, tallies)
    }

    @Test(
        "over a socket, a sampling reader gets a few whole hops of a burst and tallies that count all of it, the last one after the traffic stops"
    )
    func socketReaderSamples() async throws {
        try await withFeed { feed in
            let plain = try await LineSocket.unix(feed.socketPath)
            let sampling = try await LineSocket.unix(feed.socketPath)
            try await sampling.send(.sampleHops(id: "s1", perSecond: 50))
            _ = try await sampling.next("the ack") { $0 == .ack(id: "s1") }
            for number in 0..<2000 {
                feed.hub.publish(.hop(Samples.hop(number, phase: .start)))
                feed.hub.publish(.hop(Samples.hop(number)))
            }
            let seen = try await untilTallied(sampling, hops: 2000)
            #expect(seen.tallies.reduce(0) { $0 + $1.hops } == 2000)
            #expect(seen.tallies.flatMap(\.routes).reduce(0) { $0 + $1.hops } == 2000)
            let starts = Set(seen.hops.filter { $0.phase == .start }.map(\.id))
            let ends = Set(seen.hops.filter { $0.phase == .end }.map(\.id))
            #expect(!starts.isEmpty && ends.count < 100, "\(ends.count) of 2000 hops were sent")
            // Whole hops; a hop whose start was left out may come as its end alone, if the
            // budget refilled while the test published.
            #expect(starts.isSubset(of: ends))
            #expect(seen.tallies.reduce(0) { $0 + $1.sampled } == ends.count)

            // A reader that did not ask still gets every line.
            var plainCount = 0
            while plainCount < 4000 { if case .hop = try await plain.nextEvent() { plainCount += 1 } }
            await plain.close()
            await sampling.close()
        }
    }

    @Test("a failure amid a flood reaches a sampling, coalescing reader as its end alone")
    func failureAmidFlood() async throws {
        try await withFeed { feed in
            let client = try await LineSocket.unix(feed.socketPath)
            try await client.send(.coalesceHops(id: "c"))
            try await client.send(.sampleHops(id: "s", perSecond: 10))
            _ = try await client.next("the second ack") { $0 == .ack(id: "s") }
            for number in 0..<1000 {
                feed.hub.publish(.hop(Samples.hop(number, phase: .start)))
                feed.hub.publish(.hop(number == 500 ? failed(number) : Samples.hop(number)))
            }
            let seen = try await untilTallied(client, hops: 1000)
            #expect(seen.hops.contains(failed(500)))
            #expect(seen.hops.allSatisfy { $0.phase == .end }, "finished hops come as their end alone")
            #expect(seen.tallies.reduce(0) { $0 + $1.failed } == 1)
            await client.close()
        }
    }

    @Test("a feed client asked to sample hands on the proxy's tallies")
    func feedClientAsks() async throws {
        try await withFeed { feed in
            let client = FeedClient(targets: [.unix(feed.socketPath)], shaping: HopShaping(perSecond: 5))
            try await client.start()
            _ = try await nextClientEvent(client, "the ack") {
                if case .event(_, .ack) = $0 { return true }
                return false
            }
            for number in 0..<300 {
                feed.hub.publish(.hop(Samples.hop(number, phase: .start)))
                feed.hub.publish(.hop(Samples.hop(number)))
            }
            let event = try await nextClientEvent(client, "a tally") {
                if case .event(_, .tally) = $0 { return true }
                return false
            }
            guard case .event(_, .tally(let tally)) = event else { return }
            #expect(tally.hops == 300 && tally.sampled == 5)
            await client.stop()
        }
    }

    @Test("an in-process reader sampling in batches gets its tallies, the last once traffic stops")
    func inProcessBatches() async throws {
        let tree = try SpacesFile.parse(text: Samples.spacesYAML, file: "spaces.yaml")
        let hub = FeedHub(store: SpacesStore(tree: tree), hello: Samples.hello)
        let subscription = hub.subscribe(limit: 16_384)
        let shaping = HopShaping(coalesce: true, perSecond: 20)
        // The first read (hello, spaces) asks for the sample; hops published before it come whole.
        #expect(await subscription.next(upTo: 512, shaping: shaping)?.map(\.type) == ["hello", "spaces"])
        for number in 0..<1000 {
            hub.publish(.hop(Samples.hop(number, phase: .start)))
            hub.publish(.hop(Samples.hop(number)))
        }
        let (hops, counted, sampled) = try await within("the tallies") {
            var hops = 0
            var counted = 0
            var sampled = 0
            while counted < 1000 {
                guard let batch = await subscription.next(upTo: 512, shaping: shaping) else { break }
                for event in batch {
                    if case .hop(let hop) = event, hop.phase == .end { hops += 1 }
                    if case .tally(let tally) = event {
                        counted += tally.hops
                        sampled += tally.sampled
                    }
                }
                try await Task.sleep(for: .milliseconds(5))
            }
            return (hops, counted, sampled)
        }
        #expect(counted == 1000)
        #expect(hops >= 2 && hops < 50, "the budget's hops, \(hops) of 1000")
        #expect(hops == sampled, "each sampled hop arrived once, as its end alone")
        hub.close()
    }

    @Test("sample-hops before the token is refused like any command")
    func needsTheTokenFirst() async throws {
        let options = try FeedServerOptions.tcpForTests(token: "tok")
        try await withFeed(options: options) { feed in
            let client = try await LineSocket.tcp(try #require(feed.listeners.tcp))
            try await client.send(.sampleHops(id: "1", perSecond: 10))
            let lines = try await client.untilClosed()
            #expect(lines.count == 1 && lines[0].contains("authenticate first"))
        }
    }

    @Test("a sample-hops with a bad rate gets an error naming the field, and the feed goes on")
    func badRate() async throws {
        try await withFeed { feed in
            let client = try await LineSocket.unix(feed.socketPath)
            try await client.send(#"{"cmd":"sample-hops","id":"9","perSecond":-3}"# + "\n")
            let error = try await client.next("the error") { $0.type == "error" }
            #expect(
                error == .error(message: "'perSecond' must be a whole number from 1 to 1000000", id: "9"))
            feed.hub.publish(.hop(Samples.hop(1)))
            _ = try await client.next("the next hop") { $0 == .hop(Samples.hop(1)) }
            await client.close()
        }
    }

    @Test(
        "hops a sampler leaves out take no room in the reader's queue: a small queue drops nothing under a flood"
    )
    func leftOutHopsTakeNoRoom() async throws {
        let tree = try SpacesFile.parse(text: Samples.spacesYAML, file: "spaces.yaml")
        let hub = FeedHub(store: SpacesStore(tree: tree), hello: Samples.hello, replayLimit: 1)
        let subscription = hub.subscribe(limit: 16)
        _ = await subscription.next(upTo: 64, shaping: HopShaping(perSecond: 1))
        for number in 0..<10_000 {
            hub.publish(.hop(Samples.hop(number, phase: .start)))
            hub.publish(.hop(Samples.hop(number)))
        }
        #expect(subscription.queued <= 3, "\(subscription.queued) waiting")
        var events: [FeedEvent] = []
        while let event = subscription.poll() { events.append(event) }
        #expect(!events.contains { $0.type == "dropped" })
        hub.close()
    }
}

/// `publishStart`: the proxy offers each start before building it, and the hub builds one only
/// for a reader that takes it.
@Suite("Starts built only for readers that take them")
struct LazyStartTests {
    private final class Builds: @unchecked Sendable {
        var count = 0
    }

    private func offer(_ hub: FeedHub, _ numbers: Range<Int>, _ builds: Builds) {
        for number in numbers {
            let start = Samples.hop(number, phase: .start)
            hub.publishStart(id: start.id) {
                builds.count += 1
                return start
            }
            hub.publish(hop: Samples.hop(number))
        }
    }

    private func makeHub() throws -> FeedHub {
        let tree = try SpacesFile.parse(text: Samples.spacesYAML, file: "spaces.yaml")
        return FeedHub(store: SpacesStore(tree: tree), hello: Samples.hello)
    }

    /// A hub with one reader that asked for `perSecond` hops a second (asking with its first read).
    private func sampledHub(perSecond: Int) async throws -> (FeedHub, FeedSubscription) {
        let hub = try makeHub()
        let subscription = hub.subscribe(limit: 100_000)
        _ = await subscription.next(upTo: 1_000, shaping: HopShaping(perSecond: perSecond))
        return (hub, subscription)
    }

    @Test("with no reader no start is built, and with a sampling reader only the starts it admits")
    func samplerBuildsWhatItAdmits() async throws {
        let hub = try makeHub()
        let builds = Builds()
        offer(hub, 0..<50, builds)
        #expect(builds.count == 0)

        let subscription = hub.subscribe(limit: 100_000)
        // The greeting and the replay (the fifty ends) come first; asking for them sets the sample.
        let greeting = await subscription.next(upTo: 1_000, shaping: HopShaping(perSecond: 10))
        #expect(greeting?.count == 52)
        offer(hub, 50..<1_050, builds)
        // The budget holds a second's worth: ten hops, each sent whole.
        #expect(builds.count == 10)
        var starts: [String] = []
        var ends: [String] = []
        while let event = subscription.poll() {
            if case .hop(let hop) = event {
                if hop.phase == .start { starts.append(hop.id) } else { ends.append(hop.id) }
            }
        }
        #expect(starts.count == 10)
        #expect(Set(starts).isSubset(of: Set(ends)))
        hub.close()
    }

    @Test("once a sampler's budget is spent, the hub builds no start until it refills, and then it does")
    func spentBudgetBuildsNoStart() async throws {
        let (hub, sampling) = try await sampledHub(perSecond: 1)
        let builds = Builds()
        offer(hub, 0..<3, builds)
        #expect(builds.count == 1, "a second's budget: one hop")
        offer(hub, 3..<100, builds)
        #expect(builds.count == 1)
        try await Task.sleep(for: .milliseconds(1_200))
        offer(hub, 100..<101, builds)
        #expect(builds.count == 2, "a second later the budget holds one start again")
        withExtendedLifetime(sampling) { hub.close() }
    }

    @Test("a reader that does not sample gets every start, built once whoever else samples")
    func plainReaderGetsEveryStart() async throws {
        let (hub, sampling) = try await sampledHub(perSecond: 1)
        let builds = Builds()
        let plain = hub.subscribe(limit: 100_000)
        offer(hub, 0..<100, builds)
        #expect(builds.count == 100)
        var starts = 0
        while let event = plain.poll() { if case .hop(let hop) = event, hop.phase == .start { starts += 1 } }
        #expect(starts == 100)
        withExtendedLifetime(sampling) { hub.close() }
    }
}
