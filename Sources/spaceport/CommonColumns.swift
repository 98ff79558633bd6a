/// Rows of cells as aligned columns; a row with one cell is a heading and sets no width.
enum TextColumns {
    static func render(_ rows: [[String]]) -> String {
        var widths: [Int] = []
        for row in rows where row.count > 1 {
            for (index, cell) in row.enumerated() {
                if index == widths.count { widths.append(0) }
                widths[index] = max(widths[index], cell.count)
            }
        }
        var out = ""
        for row in rows {
            var line = ""
            for (index, cell) in row.enumerated() {
                line += cell
                if index + 1 < row.count {
                    line += String(repeating: " ", count: widths[index] - cell.count + 2)
                }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            out += line + "\n"
        }
        return out
    }
}
