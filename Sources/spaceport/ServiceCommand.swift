import ArgumentParser
import SpaceportCore

struct ServiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Add, change or remove a space's own instances of services.",
        subcommands: [SetUpstream.self, RemoveInstance.self])
}

struct SetUpstream: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Point a space's instance of a service at an upstream, adding the instance if it has none.",
        discussion: """
            A new instance is on, so the space serves the service itself from then on. \
            An instance that is off stays off: `spaceport override` turns it on.
            """)

    @OptionGroup var spaces: SpacesFileOptions

    @Argument(help: "The space.")
    var space: String

    @Argument(help: "The service: a DNS label; capitals are kept but do not matter for matching.")
    var service: String

    @Option(
        help: ArgumentHelp(
            "Where this instance listens: HOST:PORT, with an IPv6 host in brackets ([::1]:5001).",
            valueName: "host:port"))
    var upstream: String

    func validate() throws {
        if let problem = Names.serviceProblem(with: service) {
            throw CommandFailure.usage("bad service name: \(problem)")
        }
        do {
            _ = try Address(parsing: upstream)
        } catch {
            throw CommandFailure.usage("--upstream \(error.description)")
        }
    }

    func run() throws {
        let address = try Address(parsing: upstream)
        let tree = try spaces.apply(.setUpstream(space: space, service: service, upstream: address))
        let instance = tree.space(space)?.instance(service)
        let name = instance?.service ?? service
        if instance?.enabled == false {
            print(
                "\(name) in \(space) now points at \(address), but is off: `spaceport override\(spaces.flag) \(space) \(name) on` turns it on"
            )
        } else {
            print("\(name) in \(space) now points at \(address): \(space) serves it itself")
        }
    }
}

struct RemoveInstance: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "remove",
        abstract: "Remove a space's own instance of a service from the file, so the space inherits it.",
        discussion: """
            The instance's lines go, with the comment lines directly above them; the rest of \
            the file keeps its comments and layout. To stop using it for a while but keep \
            its address, turn it off instead: `spaceport override SPACE SERVICE off`.
            """)

    @OptionGroup var spaces: SpacesFileOptions

    @Argument(help: "The space.")
    var space: String

    @Argument(help: "The service whose instance in the space to remove.")
    var service: String

    func run() throws {
        let name = (try? spaces.load())?.space(space)?.instance(service)?.service ?? service
        let tree = try spaces.apply(.removeInstance(space: space, service: service))
        switch tree.ownership(of: service, in: space) {
        case .inherited(let from, let instance):
            print("removed \(name) from \(space): \(space) inherits it from \(from), at \(instance.upstream)")
        default:
            print("removed \(name) from \(space): no space on its chain runs it now, so its requests get 404")
        }
    }
}
