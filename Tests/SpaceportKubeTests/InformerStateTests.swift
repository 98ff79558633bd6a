import SpaceportKube
import Testing

@Suite("The informer's state machine, fed events without sockets")
struct InformerStateTests {
    private func namespace(_ name: String, version: String) -> Namespace {
        Namespace(
            metadata: ObjectMeta(name: name, resourceVersion: version, labels: ["azds.io/space": "true"]))
    }

    @Test("list first, then watch from the list's resourceVersion, each event and bookmark moving it on")
    func versions() {
        var state = InformerState<Namespace>()
        #expect(state.next == .list)
        let changed = state.listed([namespace("a", version: "5")], resourceVersion: "10")
        #expect(changed)
        #expect(state.next == .watch(from: "10"))
        let outcomes = [
            state.apply(.added(namespace("b", version: "11"))),
            state.apply(.modified(namespace("b", version: "12"))),
            state.apply(.modified(namespace("b", version: "12"))),
            state.apply(.bookmark(resourceVersion: "20")),
        ]
        #expect(outcomes == [.changed, .changed, .unchanged, .unchanged])
        #expect(state.next == .watch(from: "20"))
        let deletions = [
            state.apply(.deleted(namespace("a", version: "21"))),
            state.apply(.deleted(namespace("a", version: "22"))),
        ]
        #expect(deletions == [.changed, .unchanged])
        #expect(state.objects.keys.sorted() == ["b"])
        #expect(state.next == .watch(from: "22"))
    }

    @Test("an ERROR event with a 410 lists again; another ERROR watches again from where it was")
    func errors() {
        var state = InformerState<Namespace>()
        state.listed([], resourceVersion: "10")
        #expect(
            state.apply(
                .error(
                    Status(
                        status: "Failure", message: "too old resource version: 10 (30)", reason: "Expired",
                        code: 410)))
                == .relist("too old resource version: 10 (30)"))
        #expect(state.next == .list)
        state.listed([], resourceVersion: "30")
        #expect(
            state.apply(
                .error(
                    Status(status: "Failure", message: "internal error", reason: "InternalError", code: 500)))
                == .failed("internal error"))
        #expect(state.next == .watch(from: "30"))
    }

    @Test(
        "failures wait longer each time, a 410 answer relists at once, and a success starts the count again")
    func failures() {
        let backoff = Backoff(base: .milliseconds(100), cap: .seconds(1))
        var state = InformerState<Namespace>()
        state.listed([], resourceVersion: "10")
        let first = state.failed(
            .streamEnded(path: "/api/v1/namespaces", detail: "dropped"), backoff: backoff)
        let second = state.failed(.unreachable(server: "https://x", detail: "refused"), backoff: backoff)
        #expect(
            first <= .milliseconds(100) && second > .milliseconds(100) - .nanoseconds(1)
                && second <= .milliseconds(200))
        #expect(state.next == .watch(from: "10"), "a dropped stream watches again from the last version seen")
        let gone = state.failed(.gone(path: "/api/v1/namespaces"), backoff: backoff)
        #expect(gone == .zero)
        #expect(state.next == .list)
        state.listed([], resourceVersion: "40")
        #expect(state.failures == 0)
    }
}
