import Foundation

extension SpacesFile {
    /// The whole tree as fresh YAML, in the tree's order, one line per instance.
    public static func render(_ tree: SpaceTree, header: String? = nil) -> String {
        var out = header ?? ""
        let settings = tree.settings
        let defaults = Settings()
        if settings.routeHeader != defaults.routeHeader { out += "route_header: \(settings.routeHeader)\n" }
        if settings.domain != defaults.domain { out += "domain: \(settings.domain)\n" }
        if settings.defaultSpace != defaults.defaultSpace {
            out += "default_space: \(settings.defaultSpace)\n"
        }
        if let ingress = settings.ingress { out += "ingress: \(quoted(ingress.description))\n" }
        if let admin = settings.admin { out += "admin: \(quoted(admin.description))\n" }
        if !settings.trustedProxies.isEmpty {
            out +=
                "trusted_proxies: [\(settings.trustedProxies.map { scalar($0.description) }.joined(separator: ", "))]\n"
        }
        out += propagation(settings.propagation)
        if !settings.sensitiveHeaders.isEmpty {
            out +=
                "sensitive_headers: [\(settings.sensitiveHeaders.map { scalar($0) }.joined(separator: ", "))]\n"
        }
        if settings.limits != defaults.limits {
            out += "limits:\n"
            for (key, path) in limitKeys
            where settings.limits[keyPath: path] != defaults.limits[keyPath: path] {
                out += "  \(key): \(settings.limits[keyPath: path])\n"
            }
        }
        out += tree.spaces.isEmpty ? "spaces: {}\n" : "spaces:\n"
        for space in tree.spaces {
            out += "  \(space.name):\n"
            if let parent = space.parent { out += "    parent: \(quotedName(parent))\n" }
            out += space.services.isEmpty ? "    services: {}\n" : "    services:\n"
            for instance in space.services {
                out += "      \(instance.service): \(flow(instance))\n"
            }
        }
        return out
    }

    /// An instance as one flow mapping: `{ upstream: 127.0.0.1:5001, enabled: false }`.
    public static func flow(_ instance: Instance) -> String {
        var fields = ["upstream: \(quoted(instance.upstream.description))"]
        if !instance.enabled { fields.append("enabled: false") }
        if let egress = instance.egress { fields.append("egress: \(quoted(egress.description))") }
        if let listen = instance.listen { fields.append("listen: \(quoted(listen.description))") }
        if let value = instance.protocolValue { fields.append("protocol: \(value)") }
        return "{ " + fields.joined(separator: ", ") + " }"
    }

    /// The `propagation` section, its keys that differ from the defaults; nothing when none does.
    static func propagation(_ propagation: Propagation) -> String {
        let defaults = Propagation()
        guard propagation != defaults else { return "" }
        var out = "propagation:\n"
        if propagation.writeRouteHeader != defaults.writeRouteHeader {
            out += "  write_route_header: \(propagation.writeRouteHeader)\n"
        }
        for (key, carriers, defaultCarriers) in [
            ("headers", propagation.headers, defaults.headers),
            ("baggage", propagation.baggage, defaults.baggage),
        ] where carriers != defaultCarriers {
            let items = carriers.map {
                $0.write ? scalar($0.name) : "{ name: \(scalar($0.name)), write: false }"
            }
            out += "  \(key): [\(items.joined(separator: ", "))]\n"
        }
        if propagation.traceMemorySeconds != defaults.traceMemorySeconds
            || propagation.traceMemoryTraces != defaults.traceMemoryTraces
        {
            out +=
                "  trace_memory: { seconds: \(propagation.traceMemorySeconds), traces: \(propagation.traceMemoryTraces) }\n"
        }
        return out
    }

    /// A name or address as a YAML scalar: plain when it is letters, digits, '-', '_', '.' and '/'
    /// (and does not read as another type), else double-quoted. HTTP tokens and CIDR blocks hold
    /// neither '"' nor '\\', so quoting needs no escapes.
    static func scalar(_ text: String) -> String {
        let plain = text.utf8.allSatisfy { byte in
            (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
                || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
                || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || "-_./".utf8.contains(byte)
        }
        let other = ["", "null", "true", "false", "yes", "no", "on", "off", "~"].contains(text.lowercased())
        return plain && !other && Int(text) == nil && Double(text) == nil ? text : "\"\(text)\""
    }

    /// IPv6 addresses start with '[', which YAML reads as a list unless quoted.
    static func quoted(_ text: String) -> String {
        text.hasPrefix("[") ? "\"\(text)\"" : text
    }

    /// A space named `null` is a valid name that YAML would read as no value at all.
    static func quotedName(_ name: String) -> String {
        name == "null" ? "'null'" : name
    }

    /// Replaces the file at `path` with `text` under its lock (see `withLock`), atomically.
    public static func writeAtomically(_ text: String, to path: String) throws(SpacesError) {
        try withLock(path) { file throws(SpacesError) in try file.replace(with: text) }
    }
}

extension SpacesFile {
    /// The first line of a file that had to be rendered afresh, so the user knows why
    /// their comments are gone.
    public static let rewriteNotice =
        "# Rewritten whole by spaceport: this change could not be made in place, so earlier comments were lost.\n"

    /// The file's new text after `edit`: the original text changed only where the edit
    /// lands, so comments, order and layout stay. The result is parsed and must equal
    /// `new`; when it does not, or the layout is one the editor does not change in place,
    /// the whole tree is rendered under `rewriteNotice`.
    public static func updatedText(
        _ original: String?, from old: SpaceTree, to new: SpaceTree, by edit: SpaceEdit, file: String
    ) -> String {
        guard let original else { return render(new) }
        if let edited = editedText(original, from: old, by: edit),
            (try? parse(text: edited, file: file)) == new
        {
            return edited
        }
        return render(new, header: rewriteNotice)
    }

    /// The original text with `edit` made in place, or nil when that is not safe.
    static func editedText(_ original: String, from old: SpaceTree, by edit: SpaceEdit) -> String? {
        var editor = SpacesFileEditor(original)
        do {
            try editor.apply(edit, to: old)
        } catch {
            return nil
        }
        return editor.result
    }
}

extension LockedSpacesFile {
    /// Writes `text` so that the file always holds either the old text or the new one: a
    /// temporary file in the same folder with the old file's mode, owner and group, fsync,
    /// rename over, fsync the folder. A read-only file is refused, as is a link that moved.
    func replace(with text: String) throws(SpacesError) {
        if text.utf8.count > SpacesFile.maxBytes { throw .tooLarge(file: path, bytes: text.utf8.count) }
        let url = URL(fileURLWithPath: target)
        let folder = url.deletingLastPathComponent().path
        let temporary =
            "\(folder)/.\(url.lastPathComponent).\(getpid()).\(UInt32.random(in: 0...UInt32.max)).tmp"
        var existing = stat()
        let replacing = stat(target, &existing) == 0
        let mode = replacing ? existing.st_mode & 0o7777 : 0o644
        if replacing, existing.st_mode & 0o222 == 0 || faccessat(AT_FDCWD, target, W_OK, AT_EACCESS) != 0 {
            throw .io(
                "\(path): is read-only (mode \(String(mode, radix: 8))); make it writable (chmod u+w) to edit it; the file is unchanged"
            )
        }
        let fd = Foundation.open(temporary, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else { throw SpacesFile.cannotWriteBeside(path, in: folder, errno) }
        var refusal: SpacesError? = nil
        var failure: String? = nil
        if replacing {
            // The umask narrowed the mode open() gave; the new file keeps the old one's, and its owner.
            fchmod(fd, mode)
            if fchown(fd, existing.st_uid, existing.st_gid) != 0 {
                refusal = .io(
                    "\(path): belongs to user \(existing.st_uid) and group \(existing.st_gid), and a saved copy cannot be given to them (\(String(cString: strerror(errno)))); edit it as its owner; the file is unchanged"
                )
            }
        }
        let bytes = Array(text.utf8)
        var written = 0
        while refusal == nil, failure == nil, written < bytes.count {
            let result = bytes.withUnsafeBytes { buffer in
                write(fd, buffer.baseAddress! + written, bytes.count - written)
            }
            if result < 0 {
                if errno == EINTR { continue }
                failure = String(cString: strerror(errno))
                break
            }
            written += result
        }
        if refusal == nil, failure == nil, fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
        if close(fd) != 0, failure == nil { failure = String(cString: strerror(errno)) }
        if refusal == nil, failure == nil {
            do throws(SpacesError) {
                try checkTarget()
            } catch {
                refusal = error
            }
        }
        if refusal == nil, failure == nil, rename(temporary, target) != 0 {
            failure = String(cString: strerror(errno))
        }
        if let failure { refusal = .io("\(path): could not be saved (\(failure)); the file is unchanged") }
        if let refusal {
            unlink(temporary)
            throw refusal
        }
        let folderFd = Foundation.open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        if folderFd >= 0 {
            fsync(folderFd)
            close(folderFd)
        }
    }
}
