import APIStorage
import Foundation

/// The generic REST verbs over the store: get, list, create, update, patch, delete,
/// deletecollection, and the status/scale/binding/eviction/token subresources.
extension APIServer {
    func handleResource(_ request: APIRequest, _ target: Target, verb: String) async throws -> APIResponse {
        let table = wantsTable(request)
        if target.resource.isReview {
            guard verb == "create" else { throw APIError.methodNotAllowed("\(target.resource.plural) only supports create") }
            return try await review(request, target)
        }
        switch (target.subresource, verb) {
        case (_, "watch"):
            return try await watch(request, target)
        case (nil, "get"):
            let object = try await get(target)
            return .json(table ? Tables.table(for: target.resource, objects: [object], listMeta: [:]) : object)
        case (nil, "list"):
            return try await list(request, target, table: table)
        case (nil, "create"):
            guard target.name == nil else { throw APIError.methodNotAllowed("POST is not allowed on a named \(target.resource.kind)") }
            var object = try parseBody(request, target)
            let created = try await create(target, &object, dryRun: isDryRun(request), request: request)
            return .json(created, status: 201)
        case (nil, "update"), ("status", "update"):
            let body = try parseBody(request, target)
            let (object, created) = try await update(target, request: request) { _ in body }
            return .json(object, status: created ? 201 : 200)
        case (nil, "patch"), ("status", "patch"):
            return try await patch(request, target)
        case (nil, "delete"):
            return try await delete(request, target)
        case (nil, "deletecollection"):
            return try await deleteCollection(request, target)
        case ("status", "get"):
            return .json(try await get(target))
        case ("scale", _):
            return try await scale(request, target, verb: verb)
        case ("binding", "create"):
            return try await bind(request, target)
        case ("eviction", "create"):
            return try await evict(request, target)
        case ("finalize", "update"):
            return try await namespaceFinalize(request, target)
        case ("token", "create"):
            return try await tokenRequest(request, target)
        case ("log", "get"):
            return try await podLog(request, target)
        case ("exec", "get"), ("exec", "create"), ("attach", "get"), ("attach", "create"), ("portforward", "get"), ("portforward", "create"):
            return try await podStream(request, target)
        case ("log", _), ("exec", _), ("attach", _), ("portforward", _):
            throw APIError.methodNotAllowed("\(verb) is not supported on pods/\(target.subresource ?? "")")
        default:
            throw APIError.methodNotAllowed("\(verb) is not supported on \(target.resource.plural)/\(target.subresource ?? "")")
        }
    }

    func wantsTable(_ request: APIRequest) -> Bool {
        (request.header("Accept") ?? "").contains("as=Table")
    }

    func isDryRun(_ request: APIRequest) -> Bool { request.query["dryRun"] == "All" }

    // MARK: decoding and encoding

    /// The stored bytes with `metadata.resourceVersion` spliced in, without parsing the object.
    /// Objects written by this server start with kind, apiVersion, then metadata; anything else
    /// returns nil and callers parse.
    static func withResourceVersion(_ bytes: [UInt8], _ revision: Int64) -> [UInt8]? {
        let marker: [UInt8] = Array(#""metadata":{"#.utf8)
        let window = min(bytes.count, 512)
        guard window > marker.count, bytes.first == UInt8(ascii: "{") else { return nil }
        var i = 1
        while i + marker.count <= window {
            if bytes[i] == marker[0], Array(bytes[i..<(i + marker.count)]) == marker {
                // Only top-level string fields (kind, apiVersion) may come before metadata.
                let before = bytes[1..<i]
                guard !before.contains(UInt8(ascii: "{")), !before.contains(UInt8(ascii: "[")) else { return nil }
                let at = i + marker.count
                var out: [UInt8] = []
                out.reserveCapacity(bytes.count + 32)
                out.append(contentsOf: bytes[..<at])
                out.append(contentsOf: Array("\"resourceVersion\":\"\(revision)\"".utf8))
                if at < bytes.count, bytes[at] != UInt8(ascii: "}") { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: bytes[at...])
                return out
            }
            i += 1
        }
        return nil
    }

    /// The wire bytes of a stored object.
    func wireBytes(_ stored: StoredObject, revision: Int64? = nil) throws -> [UInt8] {
        let rv = revision ?? stored.modRevision
        if let fast = Self.withResourceVersion(stored.value, rv) { return fast }
        var object = try JSONValue.parse(stored.value)
        object.set(["metadata", "resourceVersion"], .string(String(rv)))
        return object.serialized()
    }

    func decode(_ stored: StoredObject) throws -> JSONValue {
        var object = try JSONValue.parse(stored.value)
        object.set(["metadata", "resourceVersion"], .string(String(stored.modRevision)))
        return object
    }

    func encode(_ object: JSONValue) -> [UInt8] {
        var o = object
        o.set(["metadata", "resourceVersion"], nil)
        return o.serialized()
    }

    func parseBody(_ request: APIRequest, _ target: Target) throws -> JSONValue {
        let object: JSONValue
        let type = request.header("Content-Type") ?? "application/json"
        if type.contains("cbor") { throw APIError.unsupportedMediaType(type) }
        do {
            if type.contains("protobuf") {
                object = try Protobuf.decode(request.body)
            } else if type.contains("yaml") {
                object = try YAMLSupport.parse(String(decoding: request.body, as: UTF8.self))
            } else {
                object = try JSONValue.parse(request.body)
            }
        } catch {
            throw APIError.badRequest("the body of the request could not be decoded as \(type): \(error)")
        }
        guard case .object = object else {
            throw APIError.badRequest("the body of the request must be a JSON object, got \(object.typeName)")
        }
        return try checkKind(object, target)
    }

    /// Fills kind/apiVersion when missing and refuses a body for another type.
    func checkKind(_ body: JSONValue, _ target: Target) throws -> JSONValue {
        var object = body
        let r = target.resource
        if target.subresource == nil || target.subresource == "status" {
            if let apiVersion = object["apiVersion"]?.stringValue, apiVersion != r.groupVersion {
                throw APIError.badRequest("the API version in the data (\(apiVersion)) does not match the expected API version (\(r.groupVersion))")
            }
            if let kind = object["kind"]?.stringValue, kind != r.kind {
                throw APIError.badRequest("the kind in the data (\(kind)) does not match the expected kind (\(r.kind))")
            }
            object["apiVersion"] = .string(r.groupVersion)
            object["kind"] = .string(r.kind)
        }
        if object["metadata"] == nil { object["metadata"] = .object([:]) }
        guard case .object = object["metadata"]! else {
            throw APIError.invalid(r, "", [.invalid("metadata", object["metadata"], "must be an object")])
        }
        return object
    }

    static func now() -> String {
        Date().formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon).timeZone(separator: .omitted))
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(.iso8601.year().month().day().dateSeparator(.dash).time(includingFractionalSeconds: false).timeSeparator(.colon).timeZone(separator: .omitted))
    }

    // MARK: get / list

    func get(_ target: Target) async throws -> JSONValue {
        guard let name = target.name else { throw APIError.badRequest("a name is required") }
        guard let stored = try await store.get(target.key) else { throw APIError.notFound(target.resource, name) }
        return try decode(stored)
    }

    struct ContinueToken: Codable {
        var rv: Int64
        var start: String
    }

    func list(_ request: APIRequest, _ target: Target, table: Bool) async throws -> APIResponse {
        let labels = try request.query["labelSelector"].map { s throws(APIError) in try LabelSelector(parsing: s) }
        let fields = try request.query["fieldSelector"].map { s throws(APIError) in try FieldSelector(parsing: s) }
        let prefix = target.resource.listPrefix(namespace: target.namespace)
        var limit = Int(request.query["limit"] ?? "") ?? 0
        if limit < 0 { limit = 0 }
        var revision: Int64?
        var startAfter: String?
        if let token = request.query["continue"], !token.isEmpty {
            guard let data = Data(base64Encoded: token), let t = try? JSONDecoder().decode(ContinueToken.self, from: data),
                t.start.hasPrefix(prefix)
            else { throw APIError.badRequest("continue key is not valid: malformed token") }
            revision = t.rv
            startAfter = t.start
        } else if let rv = request.query["resourceVersion"], !rv.isEmpty, rv != "0", request.query["resourceVersionMatch"] == "Exact" {
            guard let r = Int64(rv) else { throw APIError.badRequest("invalid resourceVersion \"\(rv)\"") }
            revision = r
        }
        let filtered = labels?.isEmpty == false || fields?.isEmpty == false
        // Without selectors or a table, items go out as stored (no parse, no re-encode).
        let raw = !filtered && !table
        var rawItems: [[UInt8]] = []
        var items: [JSONValue] = []
        var listRevision: Int64 = 0
        var more = false
        var remaining = 0
        var lastKey: String?
        repeat {
            let page: ListResult
            do {
                page = try await store.list(prefix: prefix, startAfter: startAfter, limit: limit > 0 ? limit : nil, revision: revision)
            } catch StorageError.compacted(let requested, _) {
                throw APIError.gone("The provided continue parameter is too old to display a consistent list result. (revision \(requested) compacted)")
            }
            listRevision = page.revision
            revision = page.revision
            for stored in page.items {
                lastKey = stored.key
                if raw {
                    rawItems.append(try wireBytes(stored))
                    if limit > 0 && rawItems.count >= limit { break }
                    continue
                }
                let object = try decode(stored)
                if let labels, !labels.matches(object: object) { continue }
                if let fields, !fields.matches(object) { continue }
                items.append(object)
                if limit > 0 && items.count >= limit { break }
            }
            more = page.more || (lastKey != page.items.last?.key)
            remaining = page.remaining
            startAfter = lastKey
        } while filtered && limit > 0 && items.count < limit && more
        var meta: [String: JSONValue] = ["resourceVersion": .string(String(listRevision))]
        if limit > 0 && more, let lastKey {
            let token = ContinueToken(rv: listRevision, start: lastKey)
            meta["continue"] = .string((try? JSONEncoder().encode(token))?.base64EncodedString() ?? "")
            if !filtered { meta["remainingItemCount"] = .int(Int64(remaining)) }
        }
        if table {
            return .json(Tables.table(for: target.resource, objects: items, listMeta: meta))
        }
        if raw {
            var out = Array("{\"kind\":\"\(target.resource.listKind)\",\"apiVersion\":\"\(target.resource.groupVersion)\",\"metadata\":".utf8)
            JSONValue.object(meta).write(into: &out)
            out.append(contentsOf: Array(",\"items\":[".utf8))
            out.reserveCapacity(out.count + rawItems.reduce(0) { $0 + $1.count + 1 } + 3)
            for (i, item) in rawItems.enumerated() {
                if i > 0 { out.append(UInt8(ascii: ",")) }
                out.append(contentsOf: item)
            }
            out.append(contentsOf: Array("]}\n".utf8))
            return APIResponse(status: 200, body: .bytes(out))
        }
        return .json([
            "kind": .string(target.resource.listKind), "apiVersion": .string(target.resource.groupVersion),
            "metadata": .object(meta), "items": .array(items),
        ])
    }

    // MARK: create

    func create(_ target: Target, _ object: inout JSONValue, dryRun: Bool, request: APIRequest?) async throws -> JSONValue {
        let r = target.resource
        var meta = object["metadata"]?.objectValue ?? [:]
        if let ns = meta["namespace"]?.stringValue, !ns.isEmpty, r.namespaced, ns != target.namespace {
            throw APIError.badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        if (meta["name"]?.stringValue ?? "").isEmpty, let prefix = meta["generateName"]?.stringValue, !prefix.isEmpty {
            let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
            meta["name"] = .string(prefix + String((0..<5).map { _ in alphabet.randomElement()! }))
        }
        if r.namespaced { meta["namespace"] = .string(target.namespace ?? "default") } else { meta["namespace"] = nil }
        meta["uid"] = .string(UUID().uuidString.lowercased())
        meta["creationTimestamp"] = .string(Self.now())
        meta["resourceVersion"] = nil
        meta["deletionTimestamp"] = nil
        meta["deletionGracePeriodSeconds"] = nil
        meta["selfLink"] = nil
        if object["spec"] != nil { meta["generation"] = 1 } else { meta["generation"] = nil }
        if let request, let manager = request.query["fieldManager"] ?? Self.defaultManager(request) {
            meta["managedFields"] = ManagedFields.entry(manager: manager, operation: "Update", object: object, time: Self.now())
        }
        object["metadata"] = .object(meta)
        let name = meta["name"]?.stringValue ?? ""
        Defaults.apply(r, &object, creating: true)
        var causes = Validation.validate(r, object)
        if r.namespaced, let ns = target.namespace, causes.isEmpty {
            guard let stored = try await store.get(ResourceCatalog.namespaces.key(namespace: nil, name: ns)) else {
                throw APIError.notFound(ResourceCatalog.namespaces, ns)
            }
            if try decode(stored).value(at: ["metadata", "deletionTimestamp"]) != nil {
                throw APIError.forbidden("\(r.plural) \"\(name)\" is forbidden: unable to create new content in namespace \(ns) because it is being terminated")
            }
        }
        try admit(request?.user, verb: "create", target, new: object, old: nil)
        var reserved: ServiceAllocator.Reservation?
        if r.group.isEmpty && r.plural == "services" && causes.isEmpty {
            do {
                reserved = try await allocator.allocate(&object, store: store)
            } catch let e as ServiceAllocator.AllocationError {
                causes.append(FieldCause(field: e.field, reason: "FieldValueInvalid", message: e.message))
            }
        }
        defer { if let reserved { Task { await self.allocator.release(reserved) } } }
        if !causes.isEmpty { throw APIError.invalid(r, name, causes) }
        let key = r.key(namespace: target.namespace, name: name)
        if dryRun {
            if try await store.get(key) != nil { throw APIError.alreadyExists(r, name) }
            return object
        }
        do {
            let stored = try await store.create(key, value: encode(object))
            let created = try decode(stored)
            if r.group.isEmpty && r.plural == "namespaces" { await ensureDefaultServiceAccount(namespace: name) }
            return created
        } catch StorageError.alreadyExists {
            throw APIError.alreadyExists(r, name)
        }
    }

    static func defaultManager(_ request: APIRequest) -> String? {
        guard let agent = request.header("User-Agent"), let first = agent.split(separator: "/").first else { return nil }
        return String(first)
    }

    func ensureDefaultServiceAccount(namespace: String) async {
        let sa = ResourceCatalog.find(group: "", version: "v1", plural: "serviceaccounts")!
        var object: JSONValue = ["apiVersion": "v1", "kind": "ServiceAccount", "metadata": ["name": "default"]]
        _ = try? await create(Target(resource: sa, namespace: namespace), &object, dryRun: false, request: nil)
    }

    // MARK: update

    /// Read-modify-write with compare-and-swap. `mutate` gets the current object (with its
    /// resourceVersion) and returns the desired one; a resourceVersion in the result is a
    /// precondition (409 when stale); without one, store conflicts are retried.
    func update(
        _ target: Target, request: APIRequest, mutate: (JSONValue) throws -> JSONValue
    ) async throws -> (JSONValue, created: Bool) {
        let r = target.resource
        guard let name = target.name else { throw APIError.badRequest("a name is required") }
        let dryRun = isDryRun(request)
        for _ in 0..<16 {
            guard let stored = try await store.get(target.key) else {
                if Self.allowCreateOnUpdate(r) {
                    var object = try mutate(.object(["metadata": ["name": .string(name)]]))
                    object = try checkKind(object, target)
                    return (try await create(target, &object, dryRun: dryRun, request: request), true)
                }
                throw APIError.notFound(r, name)
            }
            let current = try decode(stored)
            var desired = try mutate(current)
            if target.subresource == nil { desired = try checkKind(desired, target) }
            if let bodyName = desired.value(at: ["metadata", "name"])?.stringValue, bodyName != name {
                throw APIError.badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
            }
            let precondition = desired.value(at: ["metadata", "resourceVersion"])?.stringValue ?? ""
            if !precondition.isEmpty, precondition != String(stored.modRevision) {
                throw APIError.conflict(r, name, "the object has been modified; please apply your changes to the latest version and try again")
            }
            if r.group.isEmpty && r.plural == "services" && target.subresource == nil {
                desired = ServiceAllocator.dropTypeDependentFields(desired, old: current)
            }
            var next = try prepareUpdate(target, old: current, new: desired, request: request)
            var reserved: ServiceAllocator.Reservation?
            if r.group.isEmpty && r.plural == "services" && target.subresource == nil {
                do {
                    reserved = try await allocator.updateNodePorts(&next, old: current, key: target.key, store: store)
                } catch let e as ServiceAllocator.AllocationError {
                    throw APIError.invalid(r, name, [FieldCause(field: e.field, reason: "FieldValueInvalid", message: e.message)])
                }
            }
            defer { if let reserved { Task { await self.allocator.release(reserved) } } }
            if next == current { return (current, false) }
            try admit(request.user, verb: "update", target, new: next, old: current)
            if dryRun { return (next, false) }
            do {
                if next.value(at: ["metadata", "deletionTimestamp"]) != nil,
                    (next.value(at: ["metadata", "finalizers"])?.arrayValue ?? []).isEmpty,
                    !(r.group.isEmpty && r.plural == "namespaces" && !(next.value(at: ["spec", "finalizers"])?.arrayValue ?? []).isEmpty),
                    !(r.group.isEmpty && r.plural == "pods" && (next.value(at: ["metadata", "deletionGracePeriodSeconds"])?.intValue ?? 0) > 0)
                {
                    let deleted = try await store.delete(target.key, expectedRevision: stored.modRevision)
                    next.set(["metadata", "resourceVersion"], .string(String(deleted.modRevision)))
                    collectGarbage(owner: next, target)
                    return (next, false)
                }
                let written = try await store.update(target.key, value: encode(next), expectedRevision: stored.modRevision)
                return (try decode(written), false)
            } catch StorageError.conflict {
                if !precondition.isEmpty {
                    throw APIError.conflict(r, name, "the object has been modified; please apply your changes to the latest version and try again")
                }
                continue
            } catch StorageError.notFound {
                throw APIError.notFound(r, name)
            }
        }
        throw APIError.conflict(r, name, "too many concurrent writers; try again")
    }

    static func allowCreateOnUpdate(_ r: ResourceInfo) -> Bool {
        ["endpoints", "leases", "endpointslices"].contains(r.plural) || r.group == "rbac.authorization.k8s.io"
    }

    /// Keeps what a client can't change through this endpoint, bumps generation, validates.
    func prepareUpdate(_ target: Target, old: JSONValue, new: JSONValue, request: APIRequest) throws -> JSONValue {
        let r = target.resource
        var next: JSONValue
        if target.subresource == "status" {
            next = old
            next["status"] = new["status"]
            // A status writer may clear finalizers-free metadata changes no further.
        } else {
            next = new
            if r.subresources.contains("status") {
                next["status"] = old["status"]
            }
            var meta = next["metadata"]?.objectValue ?? [:]
            let oldMeta = old["metadata"]?.objectValue ?? [:]
            for key in ["uid", "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds", "generation", "namespace", "name"] {
                meta[key] = oldMeta[key]
            }
            meta["resourceVersion"] = oldMeta["resourceVersion"]
            next["metadata"] = .object(meta)
            if let manager = request.query["fieldManager"] ?? Self.defaultManager(request), request.header("Content-Type") != "application/apply-patch+yaml" {
                next.set(["metadata", "managedFields"], ManagedFields.merge(next.value(at: ["metadata", "managedFields"]), manager: manager, operation: "Update", object: next, time: Self.now()))
            }
            Defaults.apply(r, &next, creating: false)
            Defaults.keepAllocated(r, old: old, new: &next)
            var specChanged = false
            for key in Set((old.objectValue ?? [:]).keys).union((next.objectValue ?? [:]).keys)
            where !["metadata", "status", "kind", "apiVersion"].contains(key) {
                if old[key] != next[key] { specChanged = true }
            }
            if specChanged, next["spec"] != nil {
                next.set(["metadata", "generation"], .int((old.value(at: ["metadata", "generation"])?.intValue ?? 0) + 1))
            }
            let name = target.name ?? ""
            var causes = Validation.validate(r, next)
            causes += Validation.validateUpdate(r, old: old, new: next)
            if old.value(at: ["metadata", "deletionTimestamp"]) != nil {
                let oldFinalizers = Set((old.value(at: ["metadata", "finalizers"])?.arrayValue ?? []).compactMap(\.stringValue))
                let newFinalizers = Set((next.value(at: ["metadata", "finalizers"])?.arrayValue ?? []).compactMap(\.stringValue))
                if !newFinalizers.isSubset(of: oldFinalizers) {
                    causes.append(.forbidden("metadata.finalizers", "no new finalizers can be added if the object is being deleted"))
                }
            }
            if !causes.isEmpty { throw APIError.invalid(r, name, causes) }
        }
        return next
    }

    // MARK: patch

    func patch(_ request: APIRequest, _ target: Target) async throws -> APIResponse {
        let type = (request.header("Content-Type") ?? "").split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        if type == "application/apply-patch+yaml" {
            return try await serverSideApply(request, target)
        }
        let body: JSONValue
        do { body = try JSONValue.parse(request.body) } catch {
            throw APIError.badRequest("the body of the request could not be decoded as JSON: \(error)")
        }
        guard ["application/json-patch+json", "application/merge-patch+json", "application/strategic-merge-patch+json"].contains(type) else {
            throw APIError.unsupportedMediaType(type)
        }
        let (object, _) = try await update(target, request: request) { current in
            try Self.applyPatch(type, current, body)
        }
        return .json(object)
    }

    static func applyPatch(_ type: String, _ current: JSONValue, _ body: JSONValue) throws -> JSONValue {
        switch type {
        case "application/json-patch+json": return try Patch.jsonPatch(current, body)
        case "application/merge-patch+json":
            guard case .object = body else { throw APIError.badRequest("merge patch must be a JSON object") }
            return Patch.mergePatch(current, body)
        default:
            guard case .object = body else { throw APIError.badRequest("strategic merge patch must be a JSON object") }
            return try Patch.strategicMerge(current, body)
        }
    }

    // MARK: delete

    struct DeleteOptions {
        var gracePeriodSeconds: Int64?
        var preconditionUID: String?
        var preconditionRV: String?
        var propagationPolicy: String?
        var dryRun = false
    }

    func deleteOptions(_ request: APIRequest) throws -> DeleteOptions {
        var options = DeleteOptions()
        if !request.body.isEmpty, !(request.header("Content-Type") ?? "").contains("protobuf") {
            guard let body = try? JSONValue.parse(request.body), case .object = body else {
                throw APIError.badRequest("the body of the request could not be decoded as DeleteOptions")
            }
            options.gracePeriodSeconds = body["gracePeriodSeconds"]?.intValue
            options.preconditionUID = body.value(at: ["preconditions", "uid"])?.stringValue
            options.preconditionRV = body.value(at: ["preconditions", "resourceVersion"])?.stringValue
            options.propagationPolicy = body["propagationPolicy"]?.stringValue
            options.dryRun = body["dryRun"]?.arrayValue?.contains("All") ?? false
            if body["orphanDependents"]?.boolValue == true { options.propagationPolicy = "Orphan" }
        }
        if (request.header("Content-Type") ?? "").contains("protobuf") { options = DeleteOptions() }
        if let g = request.query["gracePeriodSeconds"] {
            guard let v = Int64(g) else { throw APIError.badRequest("gracePeriodSeconds: invalid value \"\(g)\"") }
            options.gracePeriodSeconds = v
        }
        if let p = request.query["propagationPolicy"] { options.propagationPolicy = p }
        if isDryRun(request) { options.dryRun = true }
        return options
    }

    func delete(_ request: APIRequest, _ target: Target) async throws -> APIResponse {
        let options = try deleteOptions(request)
        let (object, status) = try await delete(target, options: options, user: request.user)
        return .json(object, status: status)
    }

    /// Deletes one object: at once, or by marking it (finalizers, graceful pod deletion).
    func delete(_ target: Target, options: DeleteOptions, user: UserInfo?) async throws -> (JSONValue, Int) {
        let r = target.resource
        let name = target.name ?? ""
        for _ in 0..<16 {
            guard let stored = try await store.get(target.key) else { throw APIError.notFound(r, name) }
            var object = try decode(stored)
            if let uid = options.preconditionUID, uid != object.value(at: ["metadata", "uid"])?.stringValue {
                throw APIError.conflict(r, name, "Precondition failed: UID in precondition: \(uid), UID in object meta: \(object.value(at: ["metadata", "uid"])?.stringValue ?? "")")
            }
            if let rv = options.preconditionRV, rv != String(stored.modRevision) {
                throw APIError.conflict(r, name, "Precondition failed: ResourceVersion in precondition: \(rv), ResourceVersion in object meta: \(stored.modRevision)")
            }
            try admit(user, verb: "delete", target, new: nil, old: object)
            let finalizers = object.value(at: ["metadata", "finalizers"])?.arrayValue ?? []
            var grace: Int64 = 0
            if r.group.isEmpty && r.plural == "pods" {
                let phase = object.value(at: ["status", "phase"])?.stringValue ?? ""
                let scheduled = !(object.value(at: ["spec", "nodeName"])?.stringValue ?? "").isEmpty
                grace = options.gracePeriodSeconds ?? object.value(at: ["spec", "terminationGracePeriodSeconds"])?.intValue ?? 30
                if !scheduled || phase == "Succeeded" || phase == "Failed" { grace = 0 }
                if let existing = object.value(at: ["metadata", "deletionGracePeriodSeconds"])?.intValue, existing < grace { grace = existing }
            }
            let isNamespace = r.group.isEmpty && r.plural == "namespaces"
            let namespaceFinalizers = isNamespace ? object.value(at: ["spec", "finalizers"])?.arrayValue ?? [] : []
            if !finalizers.isEmpty || grace > 0 || !namespaceFinalizers.isEmpty {
                // Mark for deletion; the finalizers' owners (or the kubelet) finish it.
                if object.value(at: ["metadata", "deletionTimestamp"]) == nil || grace < (object.value(at: ["metadata", "deletionGracePeriodSeconds"])?.intValue ?? Int64.max) {
                    object.set(["metadata", "deletionTimestamp"], .string(Self.timestamp(Date().addingTimeInterval(Double(grace)))))
                    object.set(["metadata", "deletionGracePeriodSeconds"], .int(grace))
                    if isNamespace { object.set(["status", "phase"], "Terminating") }
                    if object["spec"] != nil, !isNamespace {
                        object.set(["metadata", "generation"], .int((object.value(at: ["metadata", "generation"])?.intValue ?? 0) + 1))
                    }
                    if options.dryRun { return (object, 200) }
                    do {
                        let written = try await store.update(target.key, value: encode(object), expectedRevision: stored.modRevision)
                        if isNamespace { startNamespaceFinalizer(name) }
                        return (try decode(written), 200)
                    } catch StorageError.conflict { continue }
                }
                return (object, 200)
            }
            if options.dryRun { return (object, 200) }
            do {
                let deleted = try await store.delete(target.key, expectedRevision: stored.modRevision)
                object.set(["metadata", "resourceVersion"], .string(String(deleted.modRevision)))
            } catch StorageError.conflict {
                continue
            } catch StorageError.notFound {
                throw APIError.notFound(r, name)
            }
            if r.group.isEmpty && r.plural == "namespaces" {
                await deleteNamespaceContents(name)
            }
            if options.propagationPolicy != "Orphan" { collectGarbage(owner: object, target) }
            return (object, 200)
        }
        throw APIError.conflict(r, name, "too many concurrent writers; try again")
    }

    func deleteCollection(_ request: APIRequest, _ target: Target) async throws -> APIResponse {
        let options = try deleteOptions(request)
        let labels = try request.query["labelSelector"].map { s throws(APIError) in try LabelSelector(parsing: s) }
        let fields = try request.query["fieldSelector"].map { s throws(APIError) in try FieldSelector(parsing: s) }
        let page = try await store.list(prefix: target.resource.listPrefix(namespace: target.namespace), startAfter: nil, limit: nil, revision: nil)
        var items: [JSONValue] = []
        for stored in page.items {
            let object = try decode(stored)
            if let labels, !labels.matches(object: object) { continue }
            if let fields, !fields.matches(object) { continue }
            var t = target
            t.name = object.value(at: ["metadata", "name"])?.stringValue
            t.namespace = target.resource.namespaced ? object.value(at: ["metadata", "namespace"])?.stringValue : nil
            do {
                items.append(try await delete(t, options: options, user: request.user).0)
            } catch let e as APIError where e.code == 404 {
                continue
            }
        }
        return .json([
            "kind": .string(target.resource.listKind), "apiVersion": .string(target.resource.groupVersion),
            "metadata": ["resourceVersion": .string(String(try await store.currentRevision()))], "items": .array(items),
        ])
    }

    func deleteNamespaceContents(_ namespace: String) async {
        for r in ResourceCatalog.all where r.namespaced && !(r.group == "events.k8s.io") {
            guard let page = try? await store.list(prefix: r.listPrefix(namespace: namespace), startAfter: nil, limit: nil, revision: nil) else { continue }
            for stored in page.items { _ = try? await store.delete(stored.key, expectedRevision: nil) }
        }
    }

    /// Background cascading deletion: objects whose ownerReferences name a deleted owner go too.
    func collectGarbage(owner: JSONValue, _ target: Target) {
        guard let uid = owner.value(at: ["metadata", "uid"])?.stringValue else { return }
        let namespace = target.namespace
        Task {
            for r in ResourceCatalog.all where r.namespaced && r.group != "events.k8s.io" && namespace != nil {
                guard let page = try? await store.list(prefix: r.listPrefix(namespace: namespace), startAfter: nil, limit: nil, revision: nil) else { continue }
                for stored in page.items {
                    guard let object = try? decode(stored),
                        (object.value(at: ["metadata", "ownerReferences"])?.arrayValue ?? []).contains(where: { $0["uid"]?.stringValue == uid })
                    else { continue }
                    let t = Target(resource: r, namespace: namespace, name: object.value(at: ["metadata", "name"])?.stringValue)
                    _ = try? await delete(t, options: DeleteOptions(gracePeriodSeconds: nil), user: nil)
                }
            }
        }
    }
}

extension ResourceCatalog {
    static let namespaces = find(group: "", version: "v1", plural: "namespaces")!
    static let pods = find(group: "", version: "v1", plural: "pods")!
    static let nodes = find(group: "", version: "v1", plural: "nodes")!
}
