/// core/v1 Events and events.k8s.io/v1 Events are one store (`/registry/events/`), kept in the
/// core form. Requests to events.k8s.io are converted to the core form on the way in and their
/// answers back on the way out (objects, lists, watch events, JSON patch paths).
public enum EventConversion {
    /// core field → events.k8s.io field; the rest (reason, type, eventTime, series, action,
    /// related, reportingInstance, metadata) is the same in both.
    static let renames: [(core: String, events: String)] = [
        ("involvedObject", "regarding"), ("message", "note"), ("reportingComponent", "reportingController"),
        ("source", "deprecatedSource"), ("firstTimestamp", "deprecatedFirstTimestamp"),
        ("lastTimestamp", "deprecatedLastTimestamp"), ("count", "deprecatedCount"),
    ]
    public static let eventsGroupVersion = "events.k8s.io/v1"

    public static func toEvents(_ object: JSONValue) -> JSONValue {
        guard var o = object.objectValue else { return object }
        if o["kind"]?.stringValue == "EventList" {
            o["apiVersion"] = .string(eventsGroupVersion)
            o["items"] = o["items"].map { .array(($0.arrayValue ?? []).map(toEvents)) }
            return .object(o)
        }
        guard o["kind"] == nil || o["kind"]?.stringValue == "Event" else { return object }
        for (core, events) in renames {
            if let v = o.removeValue(forKey: core) { o[events] = v }
        }
        if o["kind"] != nil { o["apiVersion"] = .string(eventsGroupVersion) }
        return .object(o)
    }

    public static func toCore(_ object: JSONValue) -> JSONValue {
        guard var o = object.objectValue else { return object }
        for (core, events) in renames {
            if let v = o.removeValue(forKey: events) { o[core] = v }
        }
        if o["apiVersion"] != nil { o["apiVersion"] = "v1" }
        return .object(o)
    }

    /// A JSON patch's paths (`/note` → `/message`, also in `from`).
    public static func patchToCore(_ patch: JSONValue) -> JSONValue {
        guard let ops = patch.arrayValue else { return patch }
        func path(_ p: JSONValue?) -> JSONValue? {
            guard let s = p?.stringValue else { return p }
            let parts = s.split(separator: "/", maxSplits: 1, omittingEmptySubsequences: false)
            guard parts.count >= 2, let rename = renames.first(where: { $0.events == String(parts[1].split(separator: "/").first ?? "") }) else { return p }
            return .string("/" + rename.core + String(parts[1].dropFirst(rename.events.count)))
        }
        return .array(ops.map { op in
            guard var o = op.objectValue else { return op }
            if let p = path(o["path"]) { o["path"] = p }
            if o["from"] != nil, let f = path(o["from"]) { o["from"] = f }
            return .object(o)
        })
    }

    /// A response's body in the events.k8s.io form (streams: one watch event per chunk).
    static func responseToEvents(_ response: APIResponse) -> APIResponse {
        var out = response
        switch response.body {
        case .bytes(let bytes):
            guard let value = try? JSONValue.parse(bytes), value["kind"]?.stringValue == "Event" || value["kind"]?.stringValue == "EventList" else {
                return response
            }
            out = .json(toEvents(value), status: response.status)
            out.headers = response.headers
            out.contentType = response.contentType
        case .stream(let stream):
            out.body = .stream(AsyncThrowingStream { continuation in
                let task = Task {
                    do {
                        for try await chunk in stream { continuation.yield(watchChunk(chunk)) }
                        continuation.finish()
                    } catch { continuation.finish(throwing: error) }
                }
                continuation.onTermination = { _ in task.cancel() }
            })
        }
        return out
    }

    static func watchChunk(_ chunk: [UInt8]) -> [UInt8] {
        guard var event = try? JSONValue.parse(chunk), let object = event["object"], object["kind"]?.stringValue == "Event" else { return chunk }
        event["object"] = toEvents(object)
        var bytes = event.serialized()
        if chunk.last == 0x0A { bytes.append(0x0A) }
        return bytes
    }
}

extension APIServer {
    /// events.k8s.io/v1 served from the core events: the request converted, run against the
    /// core resource (authorization already checked the events.k8s.io one), the answer converted.
    func handleEventsV1(_ request: APIRequest, _ target: Target, verb: String) async throws -> APIResponse {
        guard let core = ResourceCatalog.find(group: "", version: "v1", plural: "events") else { throw APIError.internalError("no core events") }
        var converted = request
        if !request.body.isEmpty, ["POST", "PUT", "PATCH"].contains(request.method) {
            let type = request.header("Content-Type") ?? "application/json"
            if type.contains("protobuf") || type.contains("cbor") { throw APIError.unsupportedMediaType(type) }
            let body: JSONValue
            do {
                body = type.contains("yaml") ? try YAMLSupport.parse(String(decoding: request.body, as: UTF8.self)) : try JSONValue.parse(request.body)
            } catch {
                throw APIError.badRequest("the body of the request could not be decoded as \(type): \(error)")
            }
            if body["apiVersion"]?.stringValue.map({ $0 != EventConversion.eventsGroupVersion }) == true && request.method != "PATCH" {
                throw APIError.badRequest("the API version in the data (\(body["apiVersion"]?.stringValue ?? "")) does not match the expected API version (\(EventConversion.eventsGroupVersion))")
            }
            // JSON is YAML too: an apply patch stays an apply patch.
            converted.body = (type.contains("json-patch") ? EventConversion.patchToCore(body) : EventConversion.toCore(body)).serialized()
        }
        var coreTarget = target
        coreTarget.resource = core
        return EventConversion.responseToEvents(try await handleResource(converted, coreTarget, verb: verb))
    }
}
