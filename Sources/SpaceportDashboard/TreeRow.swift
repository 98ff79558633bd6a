import SpaceportCore

/// One line of the space tree pane: a feed's heading (when several are attached) or a space.
public struct TreeRow: Equatable, Sendable {
    public enum Kind: Equatable, Sendable {
        case source(String, connected: Bool)
        case space(SpaceRef)
        /// A feed with no usable tree yet, and why.
        case waiting(String, reason: String)
    }

    public var kind: Kind
    /// Tree guides drawn before the name.
    public var guides: String
    public var label: String

    public var space: SpaceRef? {
        if case .space(let ref) = kind { return ref }
        return nil
    }

    /// The rows for every feed's tree, in tree order.
    public static func rows(for model: DashboardModel, glyphs: Glyphs) -> [TreeRow] {
        var rows: [TreeRow] = []
        let headed = model.sources.count > 1
        for source in model.sources {
            if headed {
                let name = Sanitized.line(source.hello?.proxy ?? source.name)
                rows.append(
                    TreeRow(kind: .source(source.name, connected: source.connected), guides: "", label: name))
            }
            guard let tree = source.tree else {
                let reason = source.treeProblem ?? source.disconnectReason ?? "waiting for the proxy's tree"
                rows.append(TreeRow(kind: .waiting(source.name, reason: reason), guides: "", label: reason))
                continue
            }
            rows += self.rows(of: tree, source: source.name, glyphs: glyphs)
        }
        return rows
    }

    /// One tree's spaces, from `roots` (default: all of them) down.
    public static func rows(of tree: SpaceTree, source: String, roots: [String]? = nil, glyphs: Glyphs)
        -> [TreeRow]
    {
        var rows: [TreeRow] = []
        for root in roots ?? tree.roots.map(\.name) {
            append(root, in: tree, source: source, lastFlags: [], glyphs: glyphs, to: &rows)
        }
        return rows
    }

    private static func append(
        _ name: String, in tree: SpaceTree, source: String, lastFlags: [Bool], glyphs: Glyphs,
        to rows: inout [TreeRow]
    ) {
        var guides = ""
        for (level, isLast) in lastFlags.enumerated() {
            if level == lastFlags.count - 1 {
                guides += isLast ? glyphs.lastBranch : glyphs.branch
            } else {
                guides += isLast ? "  " : glyphs.pipe
            }
        }
        rows.append(
            TreeRow(
                kind: .space(SpaceRef(source: source, space: name)), guides: guides,
                label: Sanitized.line(name)))
        let children = tree.children(of: name)
        for (position, child) in children.enumerated() {
            append(
                child.name, in: tree, source: source, lastFlags: lastFlags + [position == children.count - 1],
                glyphs: glyphs, to: &rows)
        }
    }
}
