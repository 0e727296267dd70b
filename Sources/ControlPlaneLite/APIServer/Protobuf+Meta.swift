/// Protobuf field tables: meta/v1 (ObjectMeta, LabelSelector, Condition, …); conventions in Protobuf.swift.
extension Protobuf {
    // apis.meta.v1.Condition
    static let condition: Schema = [
        1: f("type", .string), 2: f("status", .string), 3: f("observedGeneration", .int), 4: f("lastTransitionTime", .time),
        5: f("reason", .string), 6: f("message", .string),
    ]
    // apis.meta.v1.FieldSelectorRequirement
    static let fieldSelectorRequirement: Schema = [
        1: f("key", .string), 2: f("operator", .string), 3: r("values", .string),
    ]
    // apis.meta.v1.LabelSelector
    static let labelSelector: Schema = [
        1: f("matchLabels", .map(.string)), 2: r("matchExpressions", .message(labelSelectorRequirement)),
    ]
    // apis.meta.v1.LabelSelectorRequirement
    static let labelSelectorRequirement: Schema = [
        1: f("key", .string), 2: f("operator", .string), 3: r("values", .string),
    ]
    // apis.meta.v1.ManagedFieldsEntry
    static let managedFieldsEntry: Schema = [
        1: f("manager", .string), 2: f("operation", .string), 3: f("apiVersion", .string), 4: f("time", .time),
        6: f("fieldsType", .string), 7: f("fieldsV1", .rawJSON), 8: f("subresource", .string),
    ]
    // apis.meta.v1.ObjectMeta
    static let objectMeta: Schema = [
        1: f("name", .string), 2: f("generateName", .string), 3: f("namespace", .string), 4: f("selfLink", .string),
        5: f("uid", .string), 6: f("resourceVersion", .string), 7: f("generation", .int), 8: f("creationTimestamp", .time),
        9: f("deletionTimestamp", .time), 10: p("deletionGracePeriodSeconds", .int), 11: f("labels", .map(.string)),
        12: f("annotations", .map(.string)), 13: r("ownerReferences", .message(ownerReference)), 14: r("finalizers", .string),
        17: r("managedFields", .message(managedFieldsEntry)),
    ]
    // apis.meta.v1.OwnerReference
    static let ownerReference: Schema = [
        1: f("kind", .string), 3: f("name", .string), 4: f("uid", .string), 5: f("apiVersion", .string),
        6: p("controller", .bool), 7: p("blockOwnerDeletion", .bool),
    ]
}
