/// The argv a container runs: the pod's `command`/`args` against the image's ENTRYPOINT/CMD,
/// with `$(VAR)` expanded from the container's environment.
///
/// - command set: command + args (the image's ENTRYPOINT and CMD are ignored)
/// - only args: ENTRYPOINT + args
/// - neither: ENTRYPOINT + CMD
public enum ProcessArgs {
    public static func resolve(command: [String]?, args: [String]?, entrypoint: [String], cmd: [String],
                               environment: [String: String] = [:]) -> [String] {
        let expand: ([String]) -> [String] = { list in
            list.map { EnvExpansion.expand($0) { environment[$0] } }
        }
        let command = command ?? []
        let args = args ?? []
        if !command.isEmpty { return expand(command) + expand(args) }
        if !args.isEmpty { return entrypoint + expand(args) }
        return entrypoint + cmd
    }

    /// What the kubelet sends over CRI (`ContainerConfig.command`/`args`): both expanded; the
    /// runtime merges them with the image config the same way as `resolve`.
    public static func criCommandAndArgs(_ container: Container, environment: [String: String]) -> (command: [String], args: [String]) {
        let expand: ([String]) -> [String] = { list in
            list.map { EnvExpansion.expand($0) { environment[$0] } }
        }
        return (expand(container.command ?? []), expand(container.args ?? []))
    }
}
