import ArgumentParser
import SpaceportCore

struct TreeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "tree",
        abstract: "Show the spaces and, under each, who serves every service it can reach.",
        discussion: """
            Each service is owned (✓, the space runs it), inherited (↑, from the nearest \
            ancestor that runs it) or missing (✗, no space on the way to the root runs it). \
            "override on/off" is the state of the space's own instance, when it has one.
            """)

    @OptionGroup var spaces: SpacesFileOptions

    @OptionGroup var cluster: KubeOptions

    @Flag(help: "Print the tree as JSON: {\"spaces\": [{name, parent, depth, services: [...]}]}.")
    var json = false

    func run() async throws {
        if cluster.kube {
            let tree = try await cluster.tree()
            print(
                json ? CommandJSON.text(TreeReport(tree)) : TreeReport(tree).text(),
                terminator: json ? "\n" : "")
            return
        }
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

extension TreeReport {
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
                    "\(indent)  \(marker) \(service.name)", words,
                    (service.upstream ?? "") + (service.upstreamProtocol.map { " (\($0))" } ?? ""),
                    service.override.map { "override \($0)" } ?? "",
                ])
            }
        }
        return TextColumns.render(rows)
    }
}
