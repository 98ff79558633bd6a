import ArgumentParser
import Foundation
import SpaceportCore

@main
struct Spaceport: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "spaceport",
        abstract: "Route requests through a tree of dev spaces, and watch them live.",
        discussion: """
            With no command, runs the dashboard on ./spaces.yaml. New here? `spaceport demo` \
            shows the whole thing on a built-in tree; `spaceport init` writes a starter spaces.yaml.
            """,
        version: SpaceportVersion.current,
        subcommands: [
            DemoCommand.self, DashCommand.self, ProxyCommand.self, TailCommand.self, InitCommand.self,
            TreeCommand.self, RouteCommand.self, SpaceCommand.self, OverrideCommand.self, ServiceCommand.self,
            KubeCommand.self,
        ]
    )

    /// argument-parser's own `main`, except that every error ends as one line (`CommandFailure`).
    static func main() async {
        do {
            var command = try parseAsRoot()
            if var command = command as? AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            CommandFailure.exit(with: error, arguments: Array(CommandLine.arguments.dropFirst()), root: self)
        }
    }

    func run() async throws {
        guard FileManager.default.fileExists(atPath: SpacesFileOptions.defaultPath) else {
            throw CommandFailure.report(
                "there is no \(SpacesFileOptions.defaultPath) here: run `spaceport demo` to see Spaceport on a built-in tree, or `spaceport init` to write a starter spaces.yaml"
            )
        }
        let dash = try DashCommand.parse([])
        try await dash.run()
    }
}
