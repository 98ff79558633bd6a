import ArgumentParser
import SpaceportCore

struct TreeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tree",
        abstract: "Show the spaces and, under each, who serves every service it can reach.",
        discussion: """
            Each service is owned (✓, the space runs it), inherited (↑, from the nearest \
            ancestor that runs it) or missing (✗, no space on the way to the root runs it). \
            "override on/off" is the state of the space's own instance, when it has one.
            """)

    @OptionGroup var spaces: SpacesFileOptions

    @Flag(help: "Print the tree as JSON: {\"spaces\": [{name, parent, depth, services: [...]}]}.")
    var json = false

    func run() throws {
        if json {
            switch spaces.read() {
            case .success(let tree):
                print(CommandJSON.text(TreeReport(tree)))
            case .failure(let error):
                print(CommandJSON.error(spaces.describe(error)))
                throw ExitCode.failure
            }
        } else {
            print(TreeReport(try spaces.load()).text(), terminator: "")
        }
    }
}

/// What `tree` shows, one row per space and per service the space can reach.
struct TreeReport: Encodable {
    struct Service: Encodable {
        var name: String
        var state: String
        var servedBy: String?
        var upstream: String?
        var override: String?

        /// Every field, nulls included, so a reader sees the whole shape every time.
        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(state, forKey: .state)
            try container.encode(servedBy, forKey: .servedBy)
            try container.encode(upstream, forKey: .upstream)
            try container.encode(override, forKey: .override)
        }

        enum CodingKeys: String, CodingKey { case name, state, servedBy, upstream, override }
    }

    struct Space: Encodable {
        var name: String
        var parent: String?
        var depth: Int
        var services: [Service]

        func encode(to encoder: Encoder) throws {
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(name, forKey: .name)
            try container.encode(parent, forKey: .parent)
            try container.encode(depth, forKey: .depth)
            try container.encode(services, forKey: .services)
        }

        enum CodingKeys: String, CodingKey { case name, parent, depth, services }
    }

    var spaces: [Space]

    init(_ tree: SpaceTree) {
        spaces = tree.ordered.map { space in
            Space(
                name: space.name, parent: space.parent, depth: tree.depth(of: space.name),
                services: tree.serviceStates(of: space.name).map { state in
                    let kind: String
                    switch state.ownership {
                    case .owned: kind = "owned"
                    case .inherited: kind = "inherited"
                    case .missing: kind = "missing"
                    }
                    return Service(
                        name: state.service, state: kind, servedBy: state.ownership.servedBy(in: space.name),
                        upstream: state.ownership.instance?.upstream.description,
                        override: state.own.map { $0.enabled ? "on" : "off" })
                })
        }
    }

    /// The indented tree: a space's services under it, then its children.
    func text() -> String {
        guard !spaces.isEmpty else {
            return "no spaces yet: `spaceport space create NAME` adds one\n"
        }
        var rows: [[String]] = []
        for space in spaces {
            let indent = String(repeating: "  ", count: space.depth)
            rows.append([indent + space.name])
            if space.services.isEmpty { rows.append([indent + "  (no services)"]) }
            for service in space.services {
                let (marker, words): (String, String)
                switch service.state {
                case "owned": (marker, words) = ("✓", "owned")
                case "inherited": (marker, words) = ("↑", "inherited from \(service.servedBy ?? "?")")
                default: (marker, words) = ("✗", "missing")
                }
                rows.append([
                    "\(indent)  \(marker) \(service.name)", words, service.upstream ?? "",
                    service.override.map { "override \($0)" } ?? "",
                ])
            }
        }
        return TextColumns.render(rows)
    }
}
