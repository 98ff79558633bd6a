import SpaceportCore

/// Input: the text of a spaces file. It is refused at a line of its own, or it loads and
/// survives being written out and read back unchanged.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSpacesFile(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    guard let text = String(validating: bytes, as: UTF8.self) else { return 0 }
    // YAML counts a lone CR as a line break too, so a bound on lines counts both.
    let lines = text.unicodeScalars.count { $0 == "\n" || $0 == "\r" } + 1
    do {
        let tree = try SpacesFile.parse(text: text, file: "fuzz.yaml")
        let rendered = SpacesFile.render(tree)
        let again: SpaceTree
        do {
            again = try SpacesFile.parse(text: rendered, file: "rendered.yaml")
        } catch {
            preconditionFailure("a loaded tree rendered to a file that does not load: \(error)\n\(rendered)")
        }
        precondition(again == tree, "render then parse changed the tree:\n\(rendered)")
        // Every save goes through the in-place editor: its text must load as the tree the edit made.
        for edit in edits(of: tree, seed: size) {
            guard let next = try? tree.applying(edit) else { continue }
            let saved = SpacesFile.updatedText(text, from: tree, to: next, by: edit, file: "fuzz.yaml")
            let reloaded = try? SpacesFile.parse(text: saved, file: "fuzz.yaml")
            precondition(reloaded == next, "\(edit) saved a file that loads differently:\n\(saved)")
        }
    } catch {
        precondition(!error.message.isEmpty)
        if let location = error.location {
            precondition(location.file == "fuzz.yaml")
            precondition(
                location.line >= 1 && location.line <= lines + 1, "line \(location.line) of \(lines)")
        }
    }
    return 0
}

/// A few edits a user could make to `tree`, chosen by `seed`, the way the CLI, feed and dashboard make them.
private func edits(of tree: SpaceTree, seed: Int) -> [SpaceEdit] {
    guard !tree.spaces.isEmpty else { return [.createSpace(name: "fresh", parent: nil)] }
    let space = tree.spaces[seed % tree.spaces.count]
    var edits: [SpaceEdit] = [
        .createSpace(name: "fresh", parent: space.name),
        .createSpace(name: "fresh", parent: nil),
        .deleteSpace(name: space.name, recursive: seed % 2 == 0),
        .setUpstream(space: space.name, service: "newservice", upstream: Address(host: "127.0.0.1", port: 9)),
    ]
    if let instance = space.services.first {
        edits.append(.override(space: space.name, service: instance.service, enabled: !instance.enabled))
        edits.append(
            .setUpstream(
                space: space.name, service: instance.service, upstream: Address(host: "::1", port: 7)))
    }
    return edits
}
