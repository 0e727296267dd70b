import SystemCore

/// A recorded container's cgroup, by its absolute directory (as kept in state.json).
struct ContainerCgroupHandle {
    let path: String
    private let cgroup: ContainerCgroup?

    init(path: String) {
        self.path = path
        // Killing and removing touch only this directory: anchor it at its parent rather than
        // parse the mount table again.
        let slash = path.lastIndex(of: "/") ?? path.startIndex
        let parent = String(path[..<slash])
        let name = String(path[path.index(after: slash)...])
        cgroup = parent.isEmpty || name.isEmpty
            ? nil : try? ContainerCgroup(hierarchy: CgroupHierarchy(mountPoint: parent), cgroupsPath: name, defaultPath: name)
    }

    /// Pids in the cgroup and its descendants (empty when it is gone).
    func processes() -> [Int32] { (try? cgroup?.processes()) ?? [] }

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
        // Device access (an eBPF program on v2): the config's rules, then what every container
        // needs and the devices it lists, which rules cannot take away (as runc does).
        let listed = plan.devices.map { device in
            Spec.DeviceRule(allow: true, type: device.type, major: device.major, minor: device.minor, access: "rwm")
        }
        do throws(RuntimeError) {
            try cgroup.applyDeviceRules((plan.spec.linux?.resources?.devices ?? []) + CgroupDeviceFilter.defaultRules + listed)
        } catch {
            try? cgroup.remove()
            throw error
        }
        return ContainerCgroupHandle(path: cgroup.directory)
    }
}
