/// Opens a store from a URL:
/// - `sqlite:///var/lib/swiftlet/apiserver/state.db` (absolute path; the default store)
/// - `etcd://127.0.0.1:2379[,127.0.0.2:2379…]` (etcd v3 endpoints, tried in order)
public enum StoreFactory {
    public static func open(url: String) async throws -> any Store {
        if url.hasPrefix("sqlite://") || url.hasPrefix("etcd://") {
            throw StorageError.unavailable("store \(url): implementation lands in the next commits")
        }
        throw StorageError.invalidArgument("store URL \(url): scheme must be sqlite:// or etcd://")
    }
}
