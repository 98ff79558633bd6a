import ArgumentParser
import SpaceportCore

struct SpaceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "space",
        abstract: "Create or delete spaces.",
        subcommands: [CreateSpace.self, DeleteSpace.self])
}

struct CreateSpace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "create",
        abstract: "Create a space, derived from a parent or as a new root.",
        discussion: """
            A new space runs nothing of its own: it inherits every service from its parent \
            until it gets an instance (`spaceport service set`). Spaces go at most three \
            levels deep: root, child, grandchild.
            """)

    @OptionGroup var spaces: SpacesFileOptions

    @Argument(help: "The new space's name: a DNS label (lowercase letters, digits and '-').")
    var name: String

    @Option(
        help: ArgumentHelp(
            "The space it derives from. Without it, the new space is a root of its own.", valueName: "space"))
    var parent: String?

    func validate() throws {
        if let problem = Names.problem(with: name) {
            throw CommandFailure.usage("bad space name: \(problem)")
        }
    }

    func run() throws {
        try spaces.apply(.createSpace(name: name, parent: parent))
        let place = parent.map { "under \($0); it inherits every service from it" } ?? "as a new root"
        print("created space \(name) \(place)")
        print(
            "next: `spaceport service set\(spaces.flag) \(name) SERVICE --upstream HOST:PORT` gives it its own"
        )
    }
}

struct DeleteSpace: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "delete",
        abstract: "Delete a space and its instances from the file.")

    @OptionGroup var spaces: SpacesFileOptions

    @Argument(help: "The space to delete.")
    var name: String

    @Flag(help: "Delete its children and grandchildren too; without it a space with children stays.")
    var recursive = false

    func run() throws {
        let below = (try? spaces.load())?.descendants(of: name) ?? []
        try spaces.apply(.deleteSpace(name: name, recursive: recursive))
        let also = below.isEmpty ? "" : " and \(below.joined(separator: ", "))"
        print("deleted space \(name)\(also)")
    }
}
