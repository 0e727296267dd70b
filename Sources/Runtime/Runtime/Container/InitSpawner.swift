#if canImport(Glibc)
import Glibc
#endif
import CRuntimeShim
import SystemCore
import CSystemShim

/// Drives the parent side of the sync protocol with the C stage (see sl_runtime.h):
/// forks stage 1, places it in the cgroup, writes user namespace maps, answers the hooks
/// request, and waits for READY (create) or the close-on-exec EOF (exec).
struct InitSpawner {
    /// The cgroup directory the container's processes belong in.
    var cgroupDirectory: String?
    var uidMap: String?
    var gidMap: String?
    var isExec: Bool
    /// Called with the container process's pid when it asks for the runtime-side hooks; returns
    /// the HOOKS_DONE payload (state JSON for createContainer, NUL, state JSON for startContainer).
    var onHooks: ((Int32) throws(RuntimeError) -> [UInt8])?

    /// Runs the protocol; returns the pid of the container process (our child). On failure
    /// every process it started is killed and reaped.
    func spawn(_ config: CConfig) throws(RuntimeError) -> Int32 {
        var fds: [Int32] = [-1, -1]
        _ = try RuntimeError.wrap("creating the sync socket") { () throws(SystemCallError) in
            try sys("socketpair") { socketpair(AF_UNIX, Int32(SOCK_SEQPACKET.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0, &fds) }
        }
        let parentFD = fds[0]
        defer { close(parentFD) }
        config.config.sync_fd = fds[1]
        let cgroupFD = cgroupDirectory.map { open($0, SL_O_PATH | O_DIRECTORY | O_CLOEXEC) } ?? -1
        var placed: Int32 = 0
        let stage1 = withUnsafePointer(to: &config.config) { sl_spawn($0, cgroupFD, &placed) }
        let spawnErrno = currentErrno()
        if cgroupFD >= 0 { close(cgroupFD) }
        close(fds[1])
        guard stage1 > 0 else {
            throw .system(context: "starting the container", SystemCallError("fork", errno: .init(rawValue: spawnErrno)))
        }
        var child: Int32 = 0
        do {
            try converse(parentFD, stage1: stage1, placed: placed != 0, child: &child)
            reap(stage1)
            return child
        } catch {
            if child > 0 { kill(child, SIGKILL) }
            kill(stage1, SIGKILL)
            reap(stage1)
            if child > 0 { reap(child) }
            throw error
        }
    }

    /// Sets `child` as soon as stage 1 reports it, so a later failure can kill it.
    private func converse(_ fd: Int32, stage1: Int32, placed: Bool, child: inout Int32) throws(RuntimeError) {
        if !placed, let cgroupDirectory {
            let cgroupProcs = cgroupDirectory + "/cgroup.procs"
            try RuntimeError.wrap("placing the container in its cgroup") { () throws(SystemCallError) in
                try FileSystem.writeExisting(cgroupProcs, String(stage1))
            }
        }
        try send(fd, SL_MSG_CONTINUE)
        let payload = UnsafeMutableRawPointer.allocate(byteCount: Int(SL_MSG_MAX), alignment: 8)
        defer { payload.deallocate() }
        while true {
            var header = sl_msg_header()
            let received = sl_msg_recv(fd, &header, payload, UInt32(SL_MSG_MAX))
            if received < 0 {
                throw .system(context: "talking to the container process", SystemCallError("recvmsg", errno: .init(rawValue: currentErrno())))
            }
            if received == 0 {
                if isExec && child > 0 { return }
                throw .containerSetup(stage: "init", message: "the container process exited during set-up")
            }
            switch UInt32(header.type) {
            case SL_MSG_USERNS_READY.rawValue:
                try writeMaps(stage1)
                try send(fd, SL_MSG_USERNS_MAPPED)
            case SL_MSG_CHILD_PID.rawValue:
                child = header.value
            case SL_MSG_HOOKS.rawValue:
                let reply = try onHooks?(child) ?? []
                if sl_msg_send(fd, Int32(SL_MSG_HOOKS_DONE.rawValue), 0, 0, reply, UInt32(reply.count)) != 0 {
                    throw .system(context: "talking to the container process", SystemCallError("sendmsg", errno: .init(rawValue: currentErrno())))
                }
            case SL_MSG_READY.rawValue:
                return
            case SL_MSG_ERROR.rawValue:
                throw Self.error(header: header, payload: UnsafeRawBufferPointer(start: payload, count: Int(header.length)))
            default:
                throw .containerSetup(stage: "sync", message: "unexpected message \(header.type)")
            }
        }
    }

    private func send(_ fd: Int32, _ type: sl_msg_type) throws(RuntimeError) {
        if sl_msg_send(fd, Int32(type.rawValue), 0, 0, nil, 0) != 0 {
            let code = currentErrno()
            // The child died before reading: its ERROR (if any) is still in the socket.
            var header = sl_msg_header()
            let payload = UnsafeMutableRawPointer.allocate(byteCount: Int(SL_MSG_MAX), alignment: 8)
            defer { payload.deallocate() }
            if sl_msg_recv(fd, &header, payload, UInt32(SL_MSG_MAX)) > 0 && UInt32(header.type) == SL_MSG_ERROR.rawValue {
                throw Self.error(header: header, payload: UnsafeRawBufferPointer(start: payload, count: Int(header.length)))
            }
            throw .system(context: "talking to the container process", SystemCallError("sendmsg", errno: .init(rawValue: code)))
        }
    }

    private func writeMaps(_ pid: Int32) throws(RuntimeError) {
        if let uidMap {
            try RuntimeError.wrap("writing linux.uidMappings") { () throws(SystemCallError) in
                try FileSystem.writeExisting("/proc/\(pid)/uid_map", uidMap)
            }
        }
        if let gidMap {
            try RuntimeError.wrap("writing linux.gidMappings") { () throws(SystemCallError) in
                try FileSystem.writeExisting("/proc/\(pid)/gid_map", gidMap)
            }
        }
    }

    static func error(header: sl_msg_header, payload: UnsafeRawBufferPointer) -> RuntimeError {
        let bytes = Array(payload)
        let split = bytes.firstIndex(of: 0) ?? bytes.count
        let stage = String(decoding: bytes[..<split], as: UTF8.self)
        var message = split < bytes.count ? String(decoding: bytes[(split + 1)...], as: UTF8.self) : ""
        if header.err != 0 { message += ": " + String(cString: strerror(header.err)) }
        if stage == "oomScoreAdj" && (header.err == EACCES || header.err == EPERM) {
            message += " (lowering oom_score_adj needs CAP_SYS_RESOURCE, which this host denies; "
                + "pass --clamp-oom-score-adj to clamp to the runtime's own value instead)"
        } else if stage == "rlimits" && header.err == EPERM {
            message += " (raising a hard limit needs CAP_SYS_RESOURCE, which this host denies)"
        }
        return .containerSetup(stage: stage, message: message)
    }

    private func reap(_ pid: Int32) {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 && currentErrno() == EINTR {}
    }
}
