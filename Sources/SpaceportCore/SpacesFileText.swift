import Yams

/// The spaces file's text as Unicode scalars, because Yams marks count columns in
/// scalars: a mark becomes an offset, and an edit becomes a splice of the original.
struct SpacesFileText {
    /// Why an edit in place was not safe; the writer then renders the whole file.
    struct Unsafe: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    struct Splice {
        var range: Range<Int>
        var text: String
    }

    private(set) var scalars: [Unicode.Scalar]
    /// The offset each line starts at; the last entry may be the empty line after a final newline.
    private(set) var lineStarts: [Int] = []
    /// What the file ends its lines with, so inserted lines match.
    let newline: String

    init(_ string: String) {
        scalars = Array(string.unicodeScalars)
        newline = string.unicodeScalars.contains("\r") ? "\r\n" : "\n"
        findLines()
    }

    var string: String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars)
        return String(view)
    }

    var lineCount: Int { lineStarts.count }

    /// The lines the file has, not counting the empty one after a final newline.
    var writtenLineCount: Int { scalars.last == "\n" ? lineCount - 1 : lineCount }

    private mutating func findLines() {
        lineStarts = [0]
        for (offset, scalar) in scalars.enumerated() where scalar == "\n" {
            lineStarts.append(offset + 1)
        }
    }

    /// The offset of the line's terminator, or the end of the text.
    func lineEnd(_ line: Int) -> Int {
        guard line + 1 < lineStarts.count else { return scalars.count }
        let newline = lineStarts[line + 1] - 1
        return newline > lineStarts[line] && scalars[newline - 1] == "\r" ? newline - 1 : newline
    }

    func line(of offset: Int) -> Int {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        return low
    }

    func offset(of mark: Mark?) throws(Unsafe) -> Int {
        guard let mark, mark.line >= 1, mark.line <= lineStarts.count, mark.column >= 1 else {
            throw Unsafe("a node has no position")
        }
        let offset = lineStarts[mark.line - 1] + mark.column - 1
        guard offset <= lineEnd(mark.line - 1) else { throw Unsafe("a position is past its line") }
        return offset
    }

    func slice(_ range: Range<Int>) -> String {
        var view = String.UnicodeScalarView()
        view.append(contentsOf: scalars[range])
        return String(view)
    }

    func indent(_ line: Int) -> Int {
        var offset = lineStarts[line]
        let end = lineEnd(line)
        while offset < end, scalars[offset] == " " { offset += 1 }
        return offset - lineStarts[line]
    }

    /// The first scalar that is not a space or tab, if the line has one.
    private func firstMark(_ line: Int) -> Unicode.Scalar? {
        let end = lineEnd(line)
        var offset = lineStarts[line]
        while offset < end, scalars[offset] == " " || scalars[offset] == "\t" { offset += 1 }
        return offset < end ? scalars[offset] : nil
    }

    func isBlank(_ line: Int) -> Bool { firstMark(line) == nil }
    func isComment(_ line: Int) -> Bool { firstMark(line) == "#" }
    func isContent(_ line: Int) -> Bool { !isBlank(line) && !isComment(line) }

    /// The last line of the block a key at `line` opens: the lines indented deeper than
    /// `indent` before the next entry as shallow as the key, comments among them included;
    /// comments and blank lines that lead into the next entry are left to it.
    func blockEnd(of line: Int, indent: Int) -> Int {
        var stop = line + 1
        while stop < lineCount, !(isContent(stop) && self.indent(stop) <= indent) { stop += 1 }
        var end = line
        for candidate in (line + 1)..<stop
        where isContent(candidate) || (isComment(candidate) && self.indent(candidate) > indent) {
            end = candidate
        }
        return end
    }

    /// The line and indentation of a key in a block mapping, which must start its line.
    func blockKey(_ key: Node) throws(Unsafe) -> (line: Int, indent: Int) {
        let offset = try offset(of: key.mark)
        let line = line(of: offset)
        guard offset - lineStarts[line] == indent(line) else {
            throw Unsafe("a key does not start its line")
        }
        return (line, indent(line))
    }

    static func isSpace(_ scalar: Unicode.Scalar) -> Bool {
        scalar == " " || scalar == "\t" || scalar == "\n" || scalar == "\r"
    }

    /// One past the end of a scalar written on one line, checked against the value Yams read.
    func scalarEnd(_ node: Node, inFlow: Bool) throws(Unsafe) -> Int {
        guard let scalar = node.scalar else { throw Unsafe("expected a single value") }
        let start = try offset(of: scalar.mark)
        let end = lineEnd(line(of: start))
        switch scalar.style {
        case .plain, .any:
            var stop = start
            while stop < end {
                let next = scalars[stop]
                if next == "#", stop > start, Self.isSpace(scalars[stop - 1]) { break }
                if inFlow, next == "," || next == "}" || next == "]" { break }
                if next == ":",
                    stop + 1 == end || Self.isSpace(scalars[stop + 1])
                        || (inFlow && ",}]".unicodeScalars.contains(scalars[stop + 1]))
                {
                    break
                }
                stop += 1
            }
            while stop > start, Self.isSpace(scalars[stop - 1]) { stop -= 1 }
            guard slice(start..<stop) == scalar.string, stop > start else {
                throw Unsafe("a value spans lines")
            }
            return stop
        case .singleQuoted, .doubleQuoted:
            return try quoteEnd(from: start, within: end) + 1
        default:
            throw Unsafe("a value is a block scalar")
        }
    }

    /// The offset of the quote closing the quoted scalar that opens at `start`.
    private func quoteEnd(from start: Int, within end: Int) throws(Unsafe) -> Int {
        let quote = scalars[start]
        var offset = start + 1
        while offset < end {
            let next = scalars[offset]
            if quote == "\"", next == "\\" {
                offset += 2
                continue
            }
            if next == quote {
                if quote == "'", offset + 1 < end, scalars[offset + 1] == "'" {
                    offset += 2
                    continue
                }
                return offset
            }
            offset += 1
        }
        throw Unsafe("a quoted value spans lines")
    }

    /// The offset of the bracket that closes the flow collection opening at `open`.
    func closingBracket(from open: Int) throws(Unsafe) -> Int {
        var depth = 0
        var offset = open
        while offset < scalars.count {
            let next = scalars[offset]
            let previous: Unicode.Scalar = offset > 0 ? scalars[offset - 1] : " "
            let opensToken = Self.isSpace(previous) || "{[,:".unicodeScalars.contains(previous)
            switch next {
            case "{", "[":
                depth += 1
            case "}", "]":
                depth -= 1
                if depth == 0 { return offset }
            case "'" where opensToken, "\"" where opensToken:
                offset = try quoteEnd(from: offset, within: lineEnd(line(of: offset)))
            case "#" where Self.isSpace(previous):
                offset = lineEnd(line(of: offset))
            default:
                break
            }
            offset += 1
        }
        throw Unsafe("a flow mapping is not closed")
    }

    /// A splice that adds `entry` as the last entry of the flow mapping opening at `open`.
    func flowAppend(_ entry: String, open: Int) throws(Unsafe) -> Splice {
        let close = try closingBracket(from: open)
        var last = close - 1
        while last > open, Self.isSpace(scalars[last]) { last -= 1 }
        if last == open { return Splice(range: (open + 1)..<close, text: " \(entry) ") }
        if scalars[last] == "," { return Splice(range: (last + 1)..<(last + 1), text: " \(entry)") }
        return Splice(range: (last + 1)..<(last + 1), text: ", \(entry)")
    }

    /// A splice that adds whole lines after `line`.
    func insert(_ lines: [String], after line: Int) -> Splice {
        let at = lineEnd(line)
        return Splice(range: at..<at, text: lines.map { newline + $0 }.joined())
    }

    /// A splice that removes lines `first...last`, terminators included.
    func remove(lines first: Int, through last: Int) -> Splice {
        if last + 1 < lineCount { return Splice(range: lineStarts[first]..<lineStarts[last + 1], text: "") }
        let start = first > 0 ? lineEnd(first - 1) : 0
        return Splice(range: start..<scalars.count, text: "")
    }

    mutating func apply(_ splices: [Splice]) {
        for splice in splices.sorted(by: { $0.range.lowerBound > $1.range.lowerBound }) {
            scalars.replaceSubrange(splice.range, with: Array(splice.text.unicodeScalars))
        }
        findLines()
    }
}
