import SystemCore

/// A container's cgroup in the v2 hierarchy (the cgroupfs driver: we make the directories).
///
/// Owner: the runtime's create/delete/update commands. The directory is the state; this value
/// only names it, so any command can rebuild it from the container's config.
///
/// `linux.cgroupsPath` resolution:
/// - absolute ("/kubepods/pod1/ctr") → below the hierarchy root;
/// - relative ("swiftlet/ctr") → also below the hierarchy root (runc would put it below its own
///   cgroup; a daemon-run runtime lives in a service cgroup, so the root is the useful anchor);
/// - nil or empty → `defaultPath`, which the caller picks (e.g. "/swiftlet/<id>");
/// - systemd's "slice:prefix:name" form is refused (we are not the systemd driver), and so are
///   ".." components and the root itself.
public struct ContainerCgroup: Sendable {
    public let hierarchy: CgroupHierarchy
    /// The cgroup's path relative to the hierarchy root, normalized, starting with "/".
    public let path: String

    /// Controllers enabled on the way down besides the ones the limits need, where available,
    /// so that usage (memory.current, io.stat, pids.current) can be read for every container.
    public static let accountingControllers: Set<String> = ["cpu", "io", "memory", "pids"]

    public init(hierarchy: CgroupHierarchy, cgroupsPath: String?, defaultPath: String) throws(RuntimeError) {
        self.hierarchy = hierarchy
        self.path = try Self.resolve(cgroupsPath: cgroupsPath, defaultPath: defaultPath)
    }

    /// The absolute directory of this cgroup.
    public var directory: String { hierarchy.directory(path) }

    var fileSystem: any CgroupFileSystem { hierarchy.fileSystem }

    /// Normalizes `linux.cgroupsPath` (see the type's documentation).
    public static func resolve(cgroupsPath: String?, defaultPath: String) throws(RuntimeError) -> String {
        let field = "linux.cgroupsPath"
        let raw = (cgroupsPath?.isEmpty ?? true) ? defaultPath : cgroupsPath ?? defaultPath
        if !raw.hasPrefix("/") {
            let parts = raw.split(separator: ":", omittingEmptySubsequences: false)
            if parts.count == 3 && !raw.contains("/") {
                throw .invalidConfig(
                    field: field,
                    reason: "\"\(raw)\" is the systemd driver's slice:prefix:name form; this runtime manages cgroupfs paths such as \"/swiftlet/\(parts[2])\"")
            }
        }
        // Built by appending: joined(separator:) costs a runtime conformance lookup (~200K instructions).
        var resolved = ""
        for component in raw.split(separator: "/", omittingEmptySubsequences: true) {
            if component == "." { continue }
            if component == ".." {
                throw .invalidConfig(field: field, reason: "must not contain \"..\": \"\(raw)\"")
            }
            if component.contains("\0") || component.contains("\n") {
                throw .invalidConfig(field: field, reason: "contains a control character: \"\(raw)\"")
            }
            resolved.append("/")
            resolved.append(contentsOf: component)
        }
        guard !resolved.isEmpty else {
            throw .invalidConfig(field: field, reason: "must name a cgroup below the hierarchy root, got \"\(raw)\"")
        }
        return resolved
    }

    /// The paths (relative to the root) of every ancestor, from the root ("/") to the parent.
    var ancestors: [String] {
        var result = ["/"]
        var prefix = ""
        for component in path.split(separator: "/").dropLast() {
            prefix.append("/")
            prefix.append(contentsOf: component)
            result.append(prefix)
        }
        return result
    }

    // MARK: create

    /// What `create` or `update` applied.
    public struct Applied: Sendable, Equatable {
        /// The settings written (minus those of skipped controllers).
        public var settings: CgroupSettings
        /// Controllers the config needed but the host lacks (only with `enforce: false`).
        public var skippedControllers: [String]
    }

    /// Creates the cgroup (mkdir -p), enables the controllers the limits need in every ancestor's
    /// `cgroup.subtree_control` from the root down, and writes the limits.
    ///
    /// A needed controller the hierarchy does not offer is an `.unsupported` error, unless
    /// `enforce` is false: then its settings are skipped and `warn` is called once per controller.
    /// Fields cgroup v2 cannot apply (memory.swappiness, ...) are also passed to `warn`.
    /// On failure every directory this call made is removed again; an existing cgroup is reused.
    @discardableResult
    public func create(
        resources: Spec.Resources?, enforce: Bool = true, alsoEnable: Set<String> = accountingControllers,
        warn: (String) -> Void = { _ in }
    ) throws(RuntimeError) -> Applied {
        let requested = try CgroupSettings(resources)
        let missing = try missingControllers(requested)
        try checkMissing(missing, settings: requested, enforce: enforce, warn: warn)
        let needed = requested.controllers.subtracting(missing.keys)
        var created: [String] = []
        do {
            for ancestor in ancestors {
                let dir = hierarchy.directory(ancestor)
                if !fileSystem.exists(dir) {
                    try makeDirectory(dir)
                    created.append(dir)
                }
                let extras = try optionalControllers(alsoEnable.subtracting(needed), at: ancestor)
                try enableControllers(needed, extras: extras, at: ancestor)
            }
            if !fileSystem.exists(directory) {
                try makeDirectory(directory)
                created.append(directory)
            }
            let applied = try apply(resources, requested, skipping: Set(missing.keys))
            requested.ignored.forEach(warn)
            return applied
        } catch {
            for dir in created.reversed() { try? fileSystem.removeDirectory(dir) }
            throw error
        }
    }

    /// Writes new limits to an existing cgroup (`runc update`), enabling newly needed controllers.
    @discardableResult
    public func update(resources: Spec.Resources, enforce: Bool = true, warn: (String) -> Void = { _ in }) throws(RuntimeError) -> Applied {
        let requested = try CgroupSettings(resources)
        let missing = try missingControllers(requested)
        try checkMissing(missing, settings: requested, enforce: enforce, warn: warn)
        let needed = requested.controllers.subtracting(missing.keys)
        for ancestor in ancestors {
            try enableControllers(needed, extras: [], at: ancestor)
        }
        let applied = try apply(resources, requested, skipping: Set(missing.keys))
        requested.ignored.forEach(warn)
        return applied
    }

    /// For each needed controller that some existing ancestor does not offer, that ancestor's directory.
    ///
    /// Only the hierarchy root decides: `create` enables controllers top-down, so one an existing
    /// intermediate cgroup does not offer yet (its parent has not enabled it) becomes available
    /// on the way down. Enabling can still fail later (a cgroup with processes, threaded mode);
    /// that is reported with the file and errno.
    func missingControllers(_ settings: CgroupSettings) throws(RuntimeError) -> [String: String] {
        let needed = settings.controllers
        guard !needed.isEmpty else { return [:] }
        let available = try hierarchy.availableControllers(at: "/")
        var missing: [String: String] = [:]
        for controller in needed.subtracting(available) { missing[controller] = hierarchy.directory("/") }
        return missing
    }

    func checkMissing(
        _ missing: [String: String], settings: CgroupSettings, enforce: Bool, warn: (String) -> Void
    ) throws(RuntimeError) {
        for controller in missing.keys.sorted() {
            let dir = missing[controller] ?? hierarchy.mountPoint
            let fields = settings.fields(needing: controller).joined(separator: ", ")
            if enforce {
                throw .unsupported(
                    "cgroup v2 controller \"\(controller)\" is not available at \(dir) (needed by \(fields)); pass --no-cgroup-enforcement to run without resource limits")
            }
            warn("cgroup v2 controller \"\(controller)\" is not available at \(dir): \(fields) not enforced")
        }
    }

    /// The subset of `controllers` that `ancestor` offers (for best-effort enabling).
    func optionalControllers(_ controllers: Set<String>, at ancestor: String) throws(RuntimeError) -> Set<String> {
        guard !controllers.isEmpty else { return [] }
        return controllers.intersection(try hierarchy.availableControllers(at: ancestor))
    }

    /// Enables `needed` (failure is an error) and `extras` (best effort) for the children of `ancestor`.
    func enableControllers(_ needed: Set<String>, extras: Set<String>, at ancestor: String) throws(RuntimeError) {
        let file = hierarchy.directory(ancestor) + "/cgroup.subtree_control"
        let enabled = try hierarchy.enabledControllers(at: ancestor)
        let required = needed.subtracting(enabled).sorted()
        let optional = extras.subtracting(enabled).subtracting(needed).sorted()
        let all = required + optional
        guard !all.isEmpty else { return }
        do {
            try fileSystem.write(file, all.map { "+" + $0 }.joined(separator: " "))
            return
        } catch {
            if optional.isEmpty {
                throw .system(context: "enabling cgroup controllers \(required.joined(separator: ", "))", error)
            }
        }
        // One write failed as a whole: enable one at a time so that extras cannot block limits.
        for controller in all {
            do {
                try fileSystem.write(file, "+" + controller)
            } catch {
                if required.contains(controller) {
                    throw .system(context: "enabling the cgroup controller \(controller)", error)
                }
            }
        }
    }

    func makeDirectory(_ dir: String) throws(RuntimeError) {
        do {
            try fileSystem.makeDirectory(dir)
        } catch {
            if error.errno == .fileExists { return }
            throw .system(context: "creating the cgroup", error)
        }
    }

    /// Writes the settings, leaving out the controllers in `skipping`.
    func apply(
        _ resources: Spec.Resources?, _ requested: CgroupSettings, skipping: Set<String>
    ) throws(RuntimeError) -> Applied {
        var settings = requested.removing(controllers: skipping)
        if settings.controllers.contains("io") && fileSystem.exists(directory + "/io.bfq.weight") {
            settings = try CgroupSettings(resources, ioBFQ: true).removing(controllers: skipping)
        }
        let writes = settings.writes
        var index = 0
        while index < writes.count {
            let write = writes[index]
            do {
                try fileSystem.write(directory + "/" + write.file, write.value)
            } catch {
                if write.optional && error.errno == .noSuchFileOrDirectory {
                    index += 1
                    continue
                }
                // Lowering cpu.max below the current cpu.max.burst fails; the burst must go first.
                if write.file == "cpu.max", error.errno == .invalidArgument,
                    let burst = writes[(index + 1)...].first(where: { $0.file == "cpu.max.burst" })
                {
                    do {
                        try fileSystem.write(directory + "/cpu.max.burst", burst.value)
                        try fileSystem.write(directory + "/cpu.max", write.value)
                        index += 1
                        continue
                    } catch {
                        throw .system(context: "setting \(write.field) (\(write.description))", error)
                    }
                }
                throw .system(context: "setting \(write.field) (\(write.description))", error)
            }
            index += 1
        }
        return Applied(settings: settings, skippedControllers: skipping.sorted())
    }
}
