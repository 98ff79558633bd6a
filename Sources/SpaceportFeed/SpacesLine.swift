import SpaceportCore

/// How `spaceport tail` tells a change of spaces: the whole tree once, then what changed.
public enum SpacesLine {
    /// `default, azureuser ← default, …`: the tree in a line, each space after its parent.
    public static func summary(_ snapshot: SpacesSnapshot) -> String {
        let spaces = snapshot.spaces.map { space in
            let name = Printable.clip(space.name, max: 63)
            return space.parent.map { "\(name) ← \(Printable.clip($0, max: 63))" } ?? name
        }
        return spaces.isEmpty ? "no spaces" : spaces.joined(separator: ", ")
    }

    /// One phrase per difference between two snapshots; empty when they are the same tree.
    public static func changes(from old: SpacesSnapshot, to new: SpacesSnapshot) -> [String] {
        var lines: [String] = []
        let before = Dictionary(old.spaces.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let after = Dictionary(new.spaces.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for space in new.spaces where before[space.name] == nil {
            let name = Printable.clip(space.name, max: 63)
            lines.append(
                space.parent.map { "space \(name) created under \(Printable.clip($0, max: 63))" }
                    ?? "root space \(name) created")
        }
        for space in old.spaces where after[space.name] == nil {
            lines.append("space \(Printable.clip(space.name, max: 63)) deleted")
        }
        for space in new.spaces {
            guard let previous = before[space.name] else { continue }
            lines += serviceChanges(
                in: Printable.clip(space.name, max: 63), from: previous.services, to: space.services)
        }
        if old.defaultSpace != new.defaultSpace {
            lines.append("default space is now \(Printable.clip(new.defaultSpace, max: 63))")
        }
        if old.routeHeader != new.routeHeader {
            lines.append("route header is now \(Printable.clip(new.routeHeader, max: 63))")
        }
        if old.domain != new.domain { lines.append("domain is now \(Printable.clip(new.domain, max: 63))") }
        return lines
    }

    private static func serviceChanges(
        in space: String, from old: [SpaceSnapshot.Service], to new: [SpaceSnapshot.Service]
    ) -> [String] {
        var lines: [String] = []
        let before = Dictionary(
            old.map { (Names.serviceKey($0.name), $0) }, uniquingKeysWith: { first, _ in first })
        let keys = Set(new.map { Names.serviceKey($0.name) })
        for service in new {
            let name = Printable.clip(service.name, max: 63)
            guard let previous = before[Names.serviceKey(service.name)] else {
                lines.append("\(name) added to \(space) at \(Printable.clip(service.upstream))")
                continue
            }
            if previous.enabled != service.enabled {
                lines.append("override \(name) in \(space): \(service.enabled ? "on" : "off")")
            }
            if previous.upstream != service.upstream {
                lines.append(
                    "\(name) in \(space) now at \(Printable.clip(service.upstream)) (was \(Printable.clip(previous.upstream)))"
                )
            }
        }
        for service in old where !keys.contains(Names.serviceKey(service.name)) {
            lines.append("\(Printable.clip(service.name, max: 63)) removed from \(space)")
        }
        return lines
    }
}
