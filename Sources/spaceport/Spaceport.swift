import ArgumentParser
import SpaceportCore

@main
struct Spaceport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spaceport",
        abstract: "Route requests through a tree of dev spaces, and watch them live.",
        version: SpaceportVersion.current,
        subcommands: []
    )
}
