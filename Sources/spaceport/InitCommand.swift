import ArgumentParser
import Foundation
import SpaceportCore

struct InitCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "init",
        abstract: "Write a commented starter spaces file.",
        discussion: """
            The starter is the Azure Dev Spaces example: a root space, default, running servicea \
            and serviceb, and a child, azureuser, that runs its own servicea and inherits serviceb. \
            Every key is explained in a comment; the limits are there, commented out.
            """)

    @OptionGroup var spaces: SpacesFileOptions

    @Flag(help: "Replace the file if it exists already.")
    var force = false

    func run() throws {
        if FileManager.default.fileExists(atPath: spaces.path), !force {
            throw CommandFailure.report(
                "\(spaces.path) exists already; pass --force to replace it with the starter")
        }
        do {
            try SpacesFile.writeAtomically(SpacesFile.starter, to: spaces.path)
        } catch {
            throw CommandFailure.report(error.description)
        }
        print("wrote \(spaces.path): default runs servicea and serviceb; azureuser runs its own servicea")
        print("next: `spaceport tree\(spaces.flag)` shows which space serves what")
    }
}
