import SystemCore

/// A recorded container's cgroup, by its absolute directory (as kept in state.json).
struct ContainerCgroupHandle {
    let path: String
    private let cgroup: ContainerCgroup?

    init(path: String) {
        self.path = path
        if let hierarchy = try? CgroupHierarchy.discover(), path.hasPrefix(hierarchy.mountPoint) {
            let relative = String(path.dropFirst(hierarchy.mountPoint.count))
            cgroup = try? ContainerCgroup(hierarchy: hierarchy, cgroupsPath: relative, defaultPath: relative)
        } else {
            cgroup = nil
        }
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
