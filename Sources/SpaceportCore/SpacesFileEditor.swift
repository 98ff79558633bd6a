import Yams

/// Makes a `SpaceEdit` in the spaces file's own text, where the change is, so the
/// user's comments, key order and layout survive a save. Anything it cannot place with
/// confidence throws `Unsafe`, and the writer renders the whole file instead.
struct SpacesFileEditor {
    typealias Unsafe = SpacesFileText.Unsafe
    typealias Entry = (key: Node, value: Node)

    private(set) var text: SpacesFileText

    init(_ original: String) {
        text = SpacesFileText(original)
    }

    var result: String { text.string }

    /// `tree` is the tree before the edit, which knows a deleted space's descendants.
    mutating func apply(_ edit: SpaceEdit, to tree: SpaceTree) throws(Unsafe) {
        switch edit {
        case .override(let space, let service, let enabled):
            try setEnabled(enabled, service: service, space: space)
        case .setUpstream(let space, let service, let upstream):
            try setUpstream(upstream, service: service, space: space)
        case .removeInstance(let space, let service):
            try removeInstance(service, space: space)
        case .createSpace(let name, let parent):
            try createSpace(name, parent: parent)
        case .deleteSpace(let name, let recursive):
            let doomed = (recursive ? tree.descendants(of: name).reversed() : []) + [name]
            for space in doomed { try deleteSpace(space) }
        }
    }

    // The handlers below read the document afresh, so each works on the current text.

    private mutating func setEnabled(_ enabled: Bool, service: String, space: String) throws(Unsafe) {
        let (services, instance) = try self.instance(service, in: space)
        if instance.value.scalar != nil {
            // The shorthand `service: HOST:PORT` is enabled already.
            guard !enabled else { return }
            let start = try text.offset(of: instance.value.mark)
            let end = try text.scalarEnd(instance.value, inFlow: isFlow(services))
            let upstream = text.slice(start..<end)
            apply([.init(range: start..<end, text: "{ upstream: \(upstream), enabled: false }")])
            return
        }
        guard let body = instance.value.mapping else { throw Unsafe("an instance is not a mapping") }
        if let flag = body["enabled"] {
            try replace(flag, inFlow: isFlow(body), with: enabled ? "true" : "false")
        } else if !enabled {
            try add(
                to: instance, inFlow: isFlow(services), flow: "enabled: false",
                block: { ["\($0)enabled: false"] })
        }
    }

    private mutating func setUpstream(_ upstream: Address, service: String, space: String) throws(Unsafe) {
        let entry = try self.space(space)
        if let found = try? self.instance(service, in: space) {
            let (services, instance) = found
            if instance.value.scalar != nil {
                try replace(instance.value, inFlow: isFlow(services), with: upstream.description)
                return
            }
            guard let field = instance.value.mapping?["upstream"] else {
                throw Unsafe("an instance has no upstream")
            }
            try replace(field, inFlow: isFlow(instance.value.mapping), with: upstream.description)
            return
        }
        let line = "\(service): \(SpacesFile.flow(Instance(service: service, upstream: upstream)))"
        let body = entry.value.mapping
        if let services = body?.first(where: { $0.key.string == "services" }) {
            try add(to: services, inFlow: isFlow(body), flow: line, block: { [$0 + line] })
        } else {
            let step = try indentStep()
            try add(
                to: entry, inFlow: isFlow(try spaces().value.mapping),
                flow: "services: { \(line) }",
                block: { ["\($0)services:", $0 + String(repeating: " ", count: step) + line] })
        }
    }

    private mutating func createSpace(_ name: String, parent: String?) throws(Unsafe) {
        let spaces = try self.spaces()
        let inFlow = isFlow(try document())
        let step = try indentStep()
        let parentField = parent.map { "parent: \(SpacesFile.quotedName($0))" }
        let flow =
            "\(name): { " + ([parentField, "services: {}"].compactMap { $0 }.joined(separator: ", ")) + " }"
        let separated = try spacesAreSeparated()
        try add(to: spaces, inFlow: inFlow, flow: flow) { indent in
            let inner = indent + String(repeating: " ", count: step)
            return (separated ? [""] : []) + ["\(indent)\(name):"]
                + [parentField, "services: {}"].compactMap { $0.map { inner + $0 } }
        }
    }

    private mutating func deleteSpace(_ name: String) throws(Unsafe) {
        let spaces = try self.spaces()
        let entry = try space(name)
        guard let mapping = spaces.value.mapping else { throw Unsafe("spaces is not a mapping") }
        if isFlow(mapping) {
            apply([try flowRemoval(of: entry)])
            return
        }
        let (top, last) = try blockLines(of: entry.key)
        var first = top
        let lineAfter = last + 1 < text.writtenLineCount ? last + 1 : nil
        let spacesLine = try text.blockKey(spaces.key).line
        // Keep one blank line between what was before the space and what follows it.
        if first > 0, text.isBlank(first - 1), lineAfter.map(text.isBlank) ?? true {
            first -= 1
        } else if first - 1 == spacesLine, let lineAfter, text.isBlank(lineAfter) {
            apply([text.remove(lines: first, through: lineAfter)])
            return
        }
        apply([text.remove(lines: first, through: last)])
    }

    /// Takes the instance's entry out of its space's services: its lines and the comment lines
    /// directly above it, or the entry and a comma inside `{ }`. An emptied block of services
    /// stays `services:`, which reads as none.
    private mutating func removeInstance(_ service: String, space: String) throws(Unsafe) {
        let (services, instance) = try self.instance(service, in: space)
        if isFlow(services) {
            apply([try flowRemoval(of: instance)])
            return
        }
        let (first, last) = try blockLines(of: instance.key)
        apply([text.remove(lines: first, through: last)])
    }

    // Finding things.

    /// The lines of a block entry: its key's line through the end of its value, and first the
    /// comment lines directly above it at its indentation, which describe it.
    private func blockLines(of key: Node) throws(Unsafe) -> (first: Int, last: Int) {
        let (line, indent) = try text.blockKey(key)
        var first = line
        while first > 0, text.isComment(first - 1), text.indent(first - 1) == indent { first -= 1 }
        return (first, text.blockEnd(of: line, indent: indent))
    }

    private func document() throws(Unsafe) -> Node.Mapping {
        let node: Node?
        do {
            node = try Yams.compose(yaml: text.string)
        } catch {
            throw Unsafe("the file does not read as YAML")
        }
        guard let mapping = node?.mapping else { throw Unsafe("the file is not a mapping") }
        return mapping
    }

    private func spaces() throws(Unsafe) -> Entry {
        guard let entry = try document().first(where: { $0.key.string == "spaces" }) else {
            throw Unsafe("the file has no spaces")
        }
        return entry
    }

    private func space(_ name: String) throws(Unsafe) -> Entry {
        guard let entry = try spaces().value.mapping?.first(where: { $0.key.string == name }) else {
            throw Unsafe("no space '\(name)'")
        }
        return entry
    }

    /// The space's services mapping and the instance's entry in it.
    private func instance(_ service: String, in space: String) throws(Unsafe) -> (Node.Mapping, Entry) {
        let key = Names.serviceKey(service)
        guard let services = try self.space(space).value.mapping?["services"]?.mapping,
            let entry = services.first(where: { $0.key.string.map(Names.serviceKey) == key })
        else { throw Unsafe("no instance of '\(service)' in '\(space)'") }
        return (services, entry)
    }

    /// How far the file indents a space under `spaces:`; two when there is nothing to copy.
    private func indentStep() throws(Unsafe) -> Int {
        let spaces = try self.spaces()
        guard let mapping = spaces.value.mapping, !isFlow(mapping), let first = mapping.first,
            let outer = spaces.key.mark, let inner = first.key.mark, inner.column > outer.column
        else { return 2 }
        return inner.column - outer.column
    }

    /// True when the file leaves a blank line before its last space, so a new one gets one too.
    private func spacesAreSeparated() throws(Unsafe) -> Bool {
        guard let mapping = try spaces().value.mapping, !isFlow(mapping), mapping.count > 1,
            let last = Array(mapping).last
        else { return false }
        var (line, indent) = try text.blockKey(last.key)
        while line > 0, text.isComment(line - 1), text.indent(line - 1) == indent { line -= 1 }
        return line > 0 && text.isBlank(line - 1)
    }

    /// Whether a mapping is written `{ ... }`. Read from the text, because Yams 6.2 takes
    /// a mapping's style from its end event, which carries none.
    private func isFlow(_ mapping: Node.Mapping?) -> Bool {
        guard let mapping, let offset = try? text.offset(of: mapping.mark), offset < text.scalars.count else {
            return false
        }
        return text.scalars[offset] == "{"
    }

    // Changing things.

    private mutating func apply(_ splices: [SpacesFileText.Splice]) {
        text.apply(splices)
    }

    /// Replaces a one-line scalar, keeping its quotes when it had them.
    private mutating func replace(_ node: Node, inFlow: Bool, with value: String) throws(Unsafe) {
        let start = try text.offset(of: node.mark)
        let end = try text.scalarEnd(node, inFlow: inFlow)
        let written: String
        switch node.scalar?.style {
        case .singleQuoted: written = "'\(value)'"
        case .doubleQuoted: written = "\"\(value)\""
        default: written = SpacesFile.quoted(value)
        }
        apply([.init(range: start..<end, text: written)])
    }

    /// Adds an entry to the mapping that is `entry`'s value: inside `{ }` for a flow
    /// mapping, else as lines after its block, indented as its entries are (`block` gets
    /// that indentation). An empty value (`key:` or `key: {}`) becomes a block.
    private mutating func add(
        to entry: Entry, inFlow: Bool, flow: String, block: (String) -> [String]
    ) throws(Unsafe) {
        if let mapping = entry.value.mapping, isFlow(mapping), inFlow || !mapping.isEmpty {
            apply([try text.flowAppend(flow, open: try text.offset(of: mapping.mark))])
            return
        }
        guard !inFlow else { throw Unsafe("an empty value inside a flow mapping") }
        let (line, indent) = try text.blockKey(entry.key)
        var splices: [SpacesFileText.Splice] = []
        var childIndent = indent + (try indentStep())
        if let mapping = entry.value.mapping, let first = mapping.first {
            let (firstLine, firstIndent) = try text.blockKey(first.key)
            guard firstLine > line, firstIndent > indent else { throw Unsafe("entries share the key's line") }
            childIndent = firstIndent
        } else {
            splices += try emptyValueRemoval(after: entry.key, value: entry.value)
        }
        let last = text.blockEnd(of: line, indent: indent)
        splices.append(text.insert(block(String(repeating: " ", count: childIndent)), after: last))
        apply(splices)
    }

    /// For `key: {}` the splice that drops ` {}`; nothing for `key:`. Anything else after
    /// the colon but a comment is not a layout this editor changes.
    private func emptyValueRemoval(after key: Node, value: Node) throws(Unsafe) -> [SpacesFileText.Splice] {
        let keyEnd = try text.scalarEnd(key, inFlow: false)
        let lineEnd = text.lineEnd(text.line(of: keyEnd))
        var offset = keyEnd
        while offset < lineEnd, text.scalars[offset] == " " { offset += 1 }
        guard offset < lineEnd, text.scalars[offset] == ":" else { throw Unsafe("a key without a colon") }
        let colon = offset
        offset += 1
        while offset < lineEnd, SpacesFileText.isSpace(text.scalars[offset]) { offset += 1 }
        var splices: [SpacesFileText.Splice] = []
        if let mapping = value.mapping, isFlow(mapping), mapping.isEmpty {
            guard try text.offset(of: mapping.mark) == offset else {
                throw Unsafe("'{}' is not on the key's line")
            }
            let close = try text.closingBracket(from: offset)
            guard close < lineEnd else { throw Unsafe("'{}' spans lines") }
            splices.append(.init(range: (colon + 1)..<(close + 1), text: ""))
            offset = close + 1
            while offset < lineEnd, SpacesFileText.isSpace(text.scalars[offset]) { offset += 1 }
        } else if value.null == nil || !(value.scalar?.string.isEmpty ?? false) {
            throw Unsafe("a value this editor does not extend")
        }
        guard offset == lineEnd || text.scalars[offset] == "#" else {
            throw Unsafe("something follows the key")
        }
        return splices
    }

    /// The splice that takes `entry` and one comma out of a flow mapping.
    private func flowRemoval(of entry: Entry) throws(Unsafe)
        -> SpacesFileText.Splice
    {
        let start = try text.offset(of: entry.key.mark)
        let end: Int
        if let inner = entry.value.mapping, isFlow(inner) {
            end = try text.closingBracket(from: try text.offset(of: inner.mark)) + 1
        } else if entry.value.scalar != nil, entry.value.null == nil {
            end = try text.scalarEnd(entry.value, inFlow: true)
        } else {
            throw Unsafe("a flow entry this editor does not remove")
        }
        let scalars = text.scalars
        var after = end
        while after < scalars.count, SpacesFileText.isSpace(scalars[after]) { after += 1 }
        if after < scalars.count, scalars[after] == "," {
            after += 1
            while after < scalars.count, scalars[after] == " " { after += 1 }
            return .init(range: start..<after, text: "")
        }
        var before = start - 1
        while before >= 0, SpacesFileText.isSpace(scalars[before]) { before -= 1 }
        guard before >= 0 else { throw Unsafe("a flow entry outside its mapping") }
        if scalars[before] == "," { return .init(range: before..<end, text: "") }
        guard scalars[before] == "{", after < scalars.count, scalars[after] == "}" else {
            throw Unsafe("a flow entry this editor does not remove")
        }
        return .init(range: (before + 1)..<after, text: "")
    }
}
