import SpaceportCore

public struct Size: Equatable, Sendable, CustomStringConvertible {
    public var width: Int
    public var height: Int

    public init(width: Int, height: Int) {
        self.width = width
        self.height = height
    }

    public var description: String { "\(width)×\(height)" }
}

public struct Rect: Equatable, Sendable {
    public var x: Int
    public var y: Int
    public var width: Int
    public var height: Int

    public init(x: Int, y: Int, width: Int, height: Int) {
        self.x = x
        self.y = y
        self.width = max(0, width)
        self.height = max(0, height)
    }

    public var maxX: Int { x + width }
    public var maxY: Int { y + height }
    public var isEmpty: Bool { width == 0 || height == 0 }

    public func contains(x px: Int, y py: Int) -> Bool {
        px >= x && px < maxX && py >= y && py < maxY
    }

    /// The rect shrunk by `by` on every side.
    public func inset(_ by: Int) -> Rect {
        Rect(x: x + by, y: y + by, width: width - 2 * by, height: height - 2 * by)
    }
}

/// One terminal cell: a grapheme and what it means.
public struct Cell: Equatable, Sendable {
    public var character: Character
    public var role: Role
    /// The right half of a wide character that starts in the cell to the left.
    public var isContinuation: Bool

    public init(_ character: Character, role: Role, isContinuation: Bool = false) {
        self.character = character
        self.role = role
        self.isContinuation = isContinuation
    }

    public static let blank = Cell(" ", role: .normal)
}

/// A grid of cells the renderers draw on: the terminal in the app, memory in tests.
public protocol Canvas {
    var size: Size { get }
    mutating func set(_ cell: Cell, x: Int, y: Int)
}

extension Canvas {
    public var bounds: Rect { Rect(x: 0, y: 0, width: size.width, height: size.height) }

    /// Writes `text` from (x, y), clipped with `…` to `width` columns (default: to the
    /// right edge). Returns the columns used. Control characters never reach a cell.
    @discardableResult
    public mutating func write(_ text: String, x: Int, y: Int, width: Int? = nil, role: Role) -> Int {
        guard y >= 0, y < size.height, x < size.width else { return 0 }
        let room = min(width ?? (size.width - x), size.width - x)
        guard room > 0 else { return 0 }
        var column = x
        let clipped = Columns.clip(text, to: room)
        if Printable.isPrintableASCII(clipped) {
            // A byte a cell, each safe and one column wide.
            for byte in clipped.utf8 {
                if column >= 0 { set(Cell(Character(Unicode.Scalar(byte)), role: role), x: column, y: y) }
                column += 1
            }
            return column - x
        }
        for character in clipped {
            let safe = character.unicodeScalars.contains(where: Sanitized.isUnsafe) ? "?" : character
            let columns = Columns.width(of: safe)
            if columns == 0 { continue }
            if column + columns > x + room { break }
            if column >= 0 {
                set(Cell(safe, role: role), x: column, y: y)
                if columns == 2 { set(Cell(" ", role: role, isContinuation: true), x: column + 1, y: y) }
            }
            column += columns
        }
        return column - x
    }

    /// Writes `text` padded or clipped to exactly `width` columns.
    public mutating func write(
        _ text: String, x: Int, y: Int, exactly width: Int, role: Role, alignRight: Bool = false
    ) {
        write(Columns.fit(text, to: width, alignRight: alignRight), x: x, y: y, width: width, role: role)
    }

    public mutating func fill(_ rect: Rect, role: Role, with character: Character = " ") {
        for row in rect.y..<rect.maxY where row >= 0 && row < size.height {
            for column in rect.x..<rect.maxX where column >= 0 && column < size.width {
                set(Cell(character, role: role), x: column, y: row)
            }
        }
    }

    /// Draws a box around `rect` with `title` set into the top edge.
    public mutating func box(_ rect: Rect, title: String, glyphs: Glyphs, role: Role, titleRole: Role) {
        guard rect.width >= 2, rect.height >= 2 else { return }
        let horizontal = String(repeating: glyphs.horizontal, count: rect.width - 2)
        write(glyphs.topLeft + horizontal + glyphs.topRight, x: rect.x, y: rect.y, role: role)
        write(glyphs.bottomLeft + horizontal + glyphs.bottomRight, x: rect.x, y: rect.maxY - 1, role: role)
        for row in (rect.y + 1)..<(rect.maxY - 1) {
            write(glyphs.vertical, x: rect.x, y: row, role: role)
            write(glyphs.vertical, x: rect.maxX - 1, y: row, role: role)
        }
        if rect.width > 4 && !title.isEmpty {
            write(" \(title) ", x: rect.x + 1, y: rect.y, width: rect.width - 2, role: titleRole)
        }
    }
}
