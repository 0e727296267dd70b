import SystemCore

/// state.json without JSONEncoder/JSONDecoder: create writes it and start, kill, delete and
/// state read it, each a process of its own, where the Codable path cost ~0.75M instructions
/// per read (runtime conformance scans, see `JSONReader`). The format is what JSONEncoder wrote
/// (sorted keys, nulls left out), and a file the reader does not take (an older layout, a
/// hand edit) still goes through JSONDecoder.
extension ContainerRecord {
    /// The record as JSON text with sorted keys, as JSONEncoder's `.sortedKeys` writes it.
    func jsonBytes() -> [UInt8] {
        var out = "{"
        var first = true
        func key(_ name: String) {
            if !first { out += "," }
            first = false
            JSONString.append(name, to: &out)
            out += ":"
        }
        if let annotations {
            key("annotations")
            Self.append(annotations, to: &out)
        }
        key("bundle"); JSONString.append(bundle, to: &out)
        if let cgroupPath { key("cgroupPath"); JSONString.append(cgroupPath, to: &out) }
        key("created"); JSONString.append(created, to: &out)
        if let hooks {
            key("hooks")
            Self.append(hooks, to: &out)
        }
        key("id"); JSONString.append(id, to: &out)
        key("initStartTime"); out += String(initStartTime)
        key("owner"); JSONString.append(owner, to: &out)
        key("pid"); out += String(pid)
        key("rootfs"); JSONString.append(rootfs, to: &out)
        out += "}"
        return Array(out.utf8)
    }

    /// Reads state.json bytes; nil when they need JSONDecoder.
    static func fastDecode(_ bytes: [UInt8]) -> ContainerRecord? {
        var reader = JSONReader(bytes)
        var id: String?, pid: Int32?, start: UInt64?, bundle: String?, rootfs: String?, created: String?, owner: String?
        var cgroupPath: String?, annotations: [String: String]?, hooks: Spec.Hooks?
        do {
            try reader.object { r, key in
                switch key {
                case "id": id = try r.string()
                case "pid": pid = try r.integer()
                case "initStartTime": start = try r.integer()
                case "bundle": bundle = try r.string()
                case "rootfs": rootfs = try r.string()
                case "created": created = try r.string()
                case "owner": owner = try r.string()
                case "cgroupPath": cgroupPath = try r.optionalString()
                case "annotations": annotations = try r.optional { try $0.stringMap() }
                case "hooks": hooks = try r.optional(Spec.Hooks.read)
                default: try r.skipValue()
                }
            }
            try reader.end()
        } catch {
            return nil
        }
        guard let id, let pid, let start, let bundle, let rootfs, let created, let owner else { return nil }
        return ContainerRecord(
            id: id, pid: pid, initStartTime: start, bundle: bundle, rootfs: rootfs, created: created, owner: owner,
            cgroupPath: cgroupPath, annotations: annotations, hooks: hooks)
    }

    private static func append(_ map: [String: String], to out: inout String) {
        out += "{"
        for (index, name) in map.keys.sorted().enumerated() {
            if index > 0 { out += "," }
            JSONString.append(name, to: &out)
            out += ":"
            JSONString.append(map[name] ?? "", to: &out)
        }
        out += "}"
    }

    private static func append(_ strings: [String], to out: inout String) {
        out += "["
        for (index, string) in strings.enumerated() {
            if index > 0 { out += "," }
            JSONString.append(string, to: &out)
        }
        out += "]"
    }

    private static func append(_ hooks: Spec.Hooks, to out: inout String) {
        out += "{"
        var first = true
        let lists: [(String, [Spec.Hook]?)] = [
            ("createContainer", hooks.createContainer), ("createRuntime", hooks.createRuntime),
            ("poststart", hooks.poststart), ("poststop", hooks.poststop), ("prestart", hooks.prestart),
            ("startContainer", hooks.startContainer),
        ]
        for (name, list) in lists {
            guard let list else { continue }
            if !first { out += "," }
            first = false
            JSONString.append(name, to: &out)
            out += ":["
            for (index, hook) in list.enumerated() {
                if index > 0 { out += "," }
                out += "{"
                if let args = hook.args { out += "\"args\":"; append(args, to: &out); out += "," }
                if let env = hook.env { out += "\"env\":"; append(env, to: &out); out += "," }
                out += "\"path\":"
                JSONString.append(hook.path, to: &out)
                if let timeout = hook.timeout { out += ",\"timeout\":" + String(timeout) }
                out += "}"
            }
            out += "]"
        }
        out += "}"
    }
}

extension ContainerStateDocument {
    /// The document as `runc state` prints it: indented by two spaces, keys in runc's order,
    /// `annotations` only when there are some. Written by hand for the same reason as
    /// state.json (JSONEncoder cost ~0.7M instructions per `state`, which engines call often).
    public func jsonText() -> String {
        var out = "{\n"
        func field(_ name: String, _ value: String, last: Bool = false) {
            out += "  \"" + name + "\": " + value + (last ? "\n" : ",\n")
        }
        field("ociVersion", JSONString.quoted(ociVersion))
        field("id", JSONString.quoted(id))
        field("pid", String(pid))
        field("status", JSONString.quoted(status.rawValue))
        field("bundle", JSONString.quoted(bundle))
        field("rootfs", JSONString.quoted(rootfs))
        field("created", JSONString.quoted(created))
        if let annotations, !annotations.isEmpty {
            field("owner", JSONString.quoted(owner))
            var map = "{\n"
            for (index, name) in annotations.keys.sorted().enumerated() {
                map += "    " + JSONString.quoted(name) + ": " + JSONString.quoted(annotations[name] ?? "")
                map += index == annotations.count - 1 ? "\n" : ",\n"
            }
            field("annotations", map + "  }", last: true)
        } else {
            field("owner", JSONString.quoted(owner), last: true)
        }
        return out + "}"
    }
}
