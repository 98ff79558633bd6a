import ArgumentParser
import SpaceportCore

struct ServiceCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "service",
        abstract: "Change a space's own instances of services.",
        subcommands: [SetUpstream.self])
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
