import SystemCore

/// A recorded container's cgroup, by its absolute directory (as kept in state.json).
struct ContainerCgroupHandle {
    let path: String

    private var cgroup: ContainerCgroup? {
        guard let hierarchy = try? CgroupHierarchy.discover(), path.hasPrefix(hierarchy.mountPoint) else { return nil }
        let relative = String(path.dropFirst(hierarchy.mountPoint.count))
        return try? ContainerCgroup(hierarchy: hierarchy, cgroupsPath: relative, defaultPath: relative)
    }

    func killAll() { try? cgroup?.killAll() }

    func remove() { try? cgroup?.remove() }
}

extension ContainerRuntime {
    /// Creates the container's cgroup v2 directory with its limits (see `ContainerCgroup.create`).
    func createCgroup(id: String, plan: ContainerPlan) throws(RuntimeError) -> ContainerCgroupHandle {
        let hierarchy = try CgroupHierarchy.discover()
        let cgroup = try ContainerCgroup(hierarchy: hierarchy, cgroupsPath: plan.cgroupsPath, defaultPath: "/swiftlet/\(id)")
        let log = options.log
        try cgroup.create(resources: plan.spec.linux?.resources, enforce: options.enforceResources) { message in
            log.warning("container \(id): \(message)")
        }
        return ContainerCgroupHandle(path: cgroup.directory)
    }
}
