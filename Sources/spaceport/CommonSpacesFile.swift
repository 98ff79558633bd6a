import ArgumentParser
import Foundation
import SpaceportCore

/// The `--spaces FILE` option every command takes, and the ways a command uses the file.
struct SpacesFileOptions: ParsableArguments {
    static let defaultPath = "spaces.yaml"

    @Option(
        name: .customLong("spaces"),
        help: ArgumentHelp("The spaces file to read and change.", valueName: "file"))
    var path = SpacesFileOptions.defaultPath

    /// ` --spaces FILE` when the file is not the default, for the commands a message suggests.
    var flag: String { path == Self.defaultPath ? "" : " --spaces \(path)" }

    /// The tree in the file, or what is wrong with the file in a sentence.
    func read() -> Result<SpaceTree, SpacesError> {
        Result { () throws(SpacesError) in try SpacesFile.load(path: path) }
    }

    /// The tree in the file; an unreadable or invalid file ends the command with its error.
    func load() throws -> SpaceTree {
        switch read() {
        case .success(let tree): return tree
        case .failure(let error): throw CommandFailure.report(describe(error))
        }
    }

    /// Applies `edit` through the live store: validated, saved where the change is, atomically.
    /// Returns the tree after the edit.
    @discardableResult
    func apply(_ edit: SpaceEdit) throws -> SpaceTree {
        let saved: SpacesStore.Saved
        do {
            saved = try SpacesStore(path: path).apply(edit)
        } catch {
            throw CommandFailure.report(describe(error))
        }
        if saved.rewroteWhole {
            CommandFailure.note(
                "\(path) was rewritten whole: its layout could not be changed in place, so its comments were lost (see README, \"What a save keeps\")"
            )
        }
        return saved.tree
    }

    /// The error as the user reads it, naming the file once.
    func describe(_ error: SpacesError) -> String { error.described(in: path) }
}
