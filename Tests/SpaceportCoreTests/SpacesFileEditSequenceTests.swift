import Testing

@testable import SpaceportCore

/// A seeded generator, so a failing sequence can be replayed from its seed.
private struct EditSeed: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return state ^ (state >> 29)
    }
}

@Suite("Long runs of random edits keep every supported layout and read back right")
struct SpacesFileEditSequenceTests {
    /// One file per supported layout.
    static let layouts: [String] = [
        SpacesFile.starter,
        SpacesFixtures.threeLevels,
        SpacesFixtures.azure.replacingOccurrences(of: "\n", with: "\r\n"),
        """
        # four-space indentation, block instances, quoted values
        spaces:
            default:
                services:
                    servicea:
                        upstream: "127.0.0.1:5001"  # quoted
                        enabled: true
                    serviceb: '127.0.0.1:5002'
            # a child
            azureuser:
                parent: default
        domain: localhost

        """,
        "# all flow\n{spaces: {default: {services: {servicea: 127.0.0.1:1}}, dev: {parent: default, services: {}}}}\n",
        "spaces: {}  # nothing yet\n",
    ]

    private static func randomEdit(_ tree: SpaceTree, using rng: inout EditSeed) -> SpaceEdit {
        let names = tree.spaces.map(\.name)
        let services = ["servicea", "serviceb", "ServiceC", "svc-d"]
        let port = Int.random(in: 1...65535, using: &rng)
        switch Int.random(in: 0..<11, using: &rng) {
        case 0..<4:
            let space = tree.spaces.filter { !$0.services.isEmpty }.randomElement(using: &rng)
            let service = space?.services.randomElement(using: &rng)?.service ?? "servicea"
            return .override(
                space: space?.name ?? "none", service: service, enabled: Bool.random(using: &rng))
        case 4..<7:
            return .setUpstream(
                space: names.randomElement(using: &rng) ?? "none",
                service: services.randomElement(using: &rng)!,
                upstream: Address(host: "127.0.0.1", port: port))
        case 7..<9:
            let parent = names.filter { tree.depth(of: $0) < 2 }.randomElement(using: &rng)
            return .createSpace(name: "s\(port)", parent: Bool.random(using: &rng) ? parent : nil)
        case 9:
            return .deleteSpace(name: names.randomElement(using: &rng) ?? "none", recursive: true)
        default:
            let space = tree.spaces.filter { !$0.services.isEmpty }.randomElement(using: &rng)
            let service = space?.services.randomElement(using: &rng)?.service ?? "servicea"
            return .removeInstance(space: space?.name ?? "none", service: service)
        }
    }

    static func comments(_ text: String) -> [String] {
        text.split(whereSeparator: { $0 == "\n" || $0 == "\r\n" })
            .map { $0.drop { $0 == " " } }
            .filter { $0.hasPrefix("#") }
            .map(String.init)
    }

    @Test("200 random edits per layout never fall back to a rewrite and always read back as the edited tree")
    func randomSequences() throws {
        for (index, layout) in Self.layouts.enumerated() {
            var rng = EditSeed(state: 0x5EED + UInt64(index))
            var text = layout
            var tree = try SpacesFixtures.tree(text)
            var deleted = false
            for step in 0..<200 {
                let edit = Self.randomEdit(tree, using: &rng)
                guard let next = try? tree.applying(edit) else { continue }
                let saved = SpacesFile.updatedText(text, from: tree, to: next, by: edit, file: "spaces.yaml")
                #expect(
                    !saved.hasPrefix(SpacesFile.rewriteNotice),
                    "layout \(index), step \(step): \(edit) fell back; before:\n\(text)")
                #expect(try SpacesFixtures.tree(saved) == next, "layout \(index), step \(step): \(edit)")
                guard !saved.hasPrefix(SpacesFile.rewriteNotice) else { break }
                switch edit {
                case .deleteSpace, .removeInstance: deleted = true
                default: break
                }
                if !deleted {
                    #expect(
                        Self.comments(saved) == Self.comments(layout),
                        "layout \(index), step \(step): \(edit)")
                }
                text = saved
                tree = next
            }
        }
    }
}
