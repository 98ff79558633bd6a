import ArgumentParser
import SpaceportCore
import SpaceportKube

struct OverrideCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "override",
        abstract: "Turn a space's own instance of a service on or off.",
        discussion: """
            Off keeps the instance in the file but routes the space's requests for the \
            service to the nearest ancestor that runs it; on sends them to the space's own \
            instance again. The file keeps its comments and layout. With --kube it annotates \
            the instance's Service (spaceport.dev/enabled: "false" for off) and every proxy \
            watching the cluster follows.
            """)

    @OptionGroup var spaces: SpacesFileOptions

    @OptionGroup var cluster: KubeOptions

    @Argument(help: "The space whose own instance to switch.")
    var space: String

    @Argument(help: "The service.")
    var service: String

    @Argument(help: ArgumentHelp("on or off.", valueName: "on|off"))
    var state: String

    func validate() throws {
        guard ["on", "off"].contains(state.lowercased()) else {
            throw CommandFailure.usage(
                "'\(state)' is not on or off; write `spaceport override \(space) \(service) off`")
        }
    }

    func run() async throws {
        let edit = SpaceEdit.override(space: space, service: service, enabled: state.lowercased() == "on")
        if cluster.kube {
            try await cluster.apply(edit)
            print(
                "\(service) in \(space): Service \(space)/\(service) annotated; proxies watching the cluster turn it \(state.lowercased())"
            )
            return
        }
        let tree = try spaces.apply(edit)
        let name = tree.space(space)?.instance(service)?.service ?? service
        switch tree.ownership(of: service, in: space) {
        case .owned(let instance):
            print("\(name) in \(space) is on: \(space) serves it itself, at \(instance.upstream)")
        case .inherited(let from, let instance):
            print("\(name) in \(space) is off: \(space) inherits it from \(from), at \(instance.upstream)")
        case .missing:
            print("\(name) in \(space) is off: no space above \(space) runs it, so its requests get 404")
        }
    }
}
