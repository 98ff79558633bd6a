/// A canvas in memory: what tests read, and the frame the terminal diffs against the last one.
public struct GridCanvas: Canvas, Equatable, Sendable {
    public let size: Size
    public private(set) var cells: [Cell]

    public init(size: Size, fill: Cell = .blank) {
        self.size = Size(width: max(0, size.width), height: max(0, size.height))
        cells = Array(repeating: fill, count: self.size.width * self.size.height)
    }

    public init(width: Int, height: Int) {
        self.init(size: Size(width: width, height: height))
    }

    public mutating func set(_ cell: Cell, x: Int, y: Int) {
        guard x >= 0, y >= 0, x < size.width, y < size.height else { return }
        let index = y * size.width + x
        // Overwriting half of a wide character blanks its other half, as a terminal would.
        if cells[index].isContinuation, !cell.isContinuation, x > 0 {
            cells[index - 1] = Cell(" ", role: cells[index - 1].role)
        }
        if !cell.isContinuation, x + 1 < size.width, cells[index + 1].isContinuation {
            cells[index + 1] = Cell(" ", role: cells[index + 1].role)
        }
        cells[index] = cell
    }

    public func cell(x: Int, y: Int) -> Cell {
        guard x >= 0, y >= 0, x < size.width, y < size.height else { return .blank }
        return cells[y * size.width + x]
    }

    public func row(_ y: Int) -> ArraySlice<Cell> {
        guard y >= 0, y < size.height else { return [] }
        return cells[(y * size.width)..<((y + 1) * size.width)]
    }

    /// One screen line as text, trailing spaces kept.
    public func line(_ y: Int) -> String {
        var text = ""
        for cell in row(y) where !cell.isContinuation { text.append(cell.character) }
        return text
    }

    /// The screen as text, one line per row, trailing spaces trimmed: what a golden test compares.
    public var text: String {
        (0..<size.height).map { y in
            var line = self.line(y)
            while line.last == " " { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }

    /// The role drawn where `needle` first appears on screen, for tests of colouring.
    public func role(of needle: String) -> Role? {
        for y in 0..<size.height {
            let cellsInRow = Array(row(y))
            var columns: [Int] = []
            var line = ""
            for (x, cell) in cellsInRow.enumerated() where !cell.isContinuation {
                columns.append(x)
                line.append(cell.character)
            }
            if let range = line.range(of: needle) {
                let offset = line.distance(from: line.startIndex, to: range.lowerBound)
                return cellsInRow[columns[offset]].role
            }
        }
        return nil
    }
}
