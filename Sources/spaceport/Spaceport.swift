import ArgumentParser
import SpaceportCore

@main
struct Spaceport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spaceport",
        abstract: "Route requests through a tree of dev spaces, and watch them live.",
        version: SpaceportVersion.current,
        subcommands: [
            InitCommand.self, TreeCommand.self, RouteCommand.self, SpaceCommand.self, OverrideCommand.self,
            ServiceCommand.self, TailCommand.self, DashCommand.self, ProxyCommand.self,
        ]
    )
}
