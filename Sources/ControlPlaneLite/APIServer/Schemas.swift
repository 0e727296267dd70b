/// Object schemas published through OpenAPI (top level of every served kind, ObjectMeta).
enum Schemas {
    static let hash = "swiftlet1"

    static func name(_ r: ResourceInfo) -> String {
        let group: String
        switch r.group {
        case "": group = "core"
        case "rbac.authorization.k8s.io": group = "rbac"
        case "coordination.k8s.io": group = "coordination"
        case "discovery.k8s.io": group = "discovery"
        case "events.k8s.io": group = "events"
        default: group = r.group
        }
        return "io.k8s.api.\(group).\(r.version).\(r.kind)"
    }

    static let objectMetaName = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta"

    static func prop(_ type: String, _ description: String) -> JSONValue {
        ["type": .string(type), "description": .string(description)]
    }

    static let common: [String: JSONValue] = [
        objectMetaName: [
            "type": "object",
            "description": "ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.",
            "properties": [
                "name": prop("string", "Name must be unique within a namespace."),
                "namespace": prop("string", "Namespace defines the space within which each name must be unique."),
                "labels": ["type": "object", "description": "Map of string keys and values that can be used to organize and categorize objects.", "additionalProperties": ["type": "string"]],
                "annotations": ["type": "object", "description": "Annotations is an unstructured key value map stored with a resource.", "additionalProperties": ["type": "string"]],
                "uid": prop("string", "UID is the unique in time and space value for this object."),
                "resourceVersion": prop("string", "An opaque value that represents the internal version of this object."),
                "generation": ["type": "integer", "format": "int64", "description": "A sequence number representing a specific generation of the desired state."],
                "creationTimestamp": prop("string", "CreationTimestamp is a timestamp representing the server time when this object was created."),
                "deletionTimestamp": prop("string", "DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted."),
                "finalizers": ["type": "array", "description": "Must be empty before the object is deleted from the registry.", "items": ["type": "string"]],
                "ownerReferences": ["type": "array", "description": "List of objects depended by this object.", "items": ["type": "object"]],
                "generateName": prop("string", "GenerateName is an optional prefix, used by the server, to generate a unique name."),
            ],
        ]
    ]

    static func schemas(for r: ResourceInfo) -> [String: JSONValue] {
        var properties: [String: JSONValue] = [
            "apiVersion": prop("string", "APIVersion defines the versioned schema of this representation of an object."),
            "kind": prop("string", "Kind is a string value representing the REST resource this object represents."),
            "metadata": ["description": "Standard object's metadata.", "allOf": [["$ref": .string("#/components/schemas/\(objectMetaName)")]]],
        ]
        if r.subresources.contains("status") || ["Pod", "Service", "Deployment"].contains(r.kind) {
            properties["spec"] = ["type": "object", "description": .string("Specification of the desired behavior of the \(r.kind)."), "x-kubernetes-preserve-unknown-fields": true]
            properties["status"] = ["type": "object", "description": .string("Most recently observed status of the \(r.kind)."), "x-kubernetes-preserve-unknown-fields": true]
        }
        var schema: JSONValue = [
            "type": "object",
            "description": .string("\(r.kind) (\(r.groupVersion)), served by swiftlet's apiserver."),
            "properties": .object(properties),
        ]
        if includeGroupVersionKind { schema["x-kubernetes-group-version-kind"] = [OpenAPI.gvk(r)] }
        return [name(r): schema]
    }

    /// kubectl computes apply patches from schemas that carry a group-version-kind; ours are
    /// top-level only, so they stay anonymous and kubectl uses its built-in types instead.
    static let includeGroupVersionKind = false
}
