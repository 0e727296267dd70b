/// Protobuf field tables: authentication.k8s.io/v1 and authorization.k8s.io/v1 (TokenRequest, reviews); conventions in Protobuf.swift.
extension Protobuf {
    static let authKinds: [String: Schema] = [
        "authentication.k8s.io/v1/TokenRequest": tokenRequest,
        "authentication.k8s.io/v1/SelfSubjectReview": selfSubjectReview,
        "authorization.k8s.io/v1/SelfSubjectAccessReview": selfSubjectAccessReview,
        "authorization.k8s.io/v1/SubjectAccessReview": subjectAccessReview,
    ]
    // authentication.v1.BoundObjectReference
    static let boundObjectReference: Schema = [
        1: f("kind", .string), 2: f("apiVersion", .string), 3: f("name", .string), 4: f("uid", .string),
    ]
    // authentication.v1.SelfSubjectReview
    static let selfSubjectReview: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("status", .message(selfSubjectReviewStatus)),
    ]
    // authentication.v1.SelfSubjectReviewStatus
    static let selfSubjectReviewStatus: Schema = [
        1: f("userInfo", .message(userInfo)),
    ]
    // authentication.v1.TokenRequest
    static let tokenRequest: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("spec", .message(tokenRequestSpec)),
        3: f("status", .message(tokenRequestStatus)),
    ]
    // authentication.v1.TokenRequestSpec
    static let tokenRequestSpec: Schema = [
        1: r("audiences", .string), 3: f("boundObjectRef", .message(boundObjectReference)), 4: p("expirationSeconds", .int),
        5: f("attestations", .map(.stringList)),
    ]
    // authentication.v1.TokenRequestStatus
    static let tokenRequestStatus: Schema = [
        1: f("token", .string), 2: f("expirationTimestamp", .time),
    ]
    // authentication.v1.UserInfo
    static let userInfo: Schema = [
        1: f("username", .string), 2: f("uid", .string), 3: r("groups", .string), 4: f("extra", .map(.stringList)),
    ]
    // authorization.v1.FieldSelectorAttributes
    static let fieldSelectorAttributes: Schema = [
        1: f("rawSelector", .string), 2: r("requirements", .message(fieldSelectorRequirement)),
    ]
    // authorization.v1.LabelSelectorAttributes
    static let labelSelectorAttributes: Schema = [
        1: f("rawSelector", .string), 2: r("requirements", .message(labelSelectorRequirement)),
    ]
    // authorization.v1.NonResourceAttributes
    static let nonResourceAttributes: Schema = [
        1: f("path", .string), 2: f("verb", .string),
    ]
    // authorization.v1.ResourceAttributes
    static let resourceAttributes: Schema = [
        1: f("namespace", .string), 2: f("verb", .string), 3: f("group", .string), 4: f("version", .string),
        5: f("resource", .string), 6: f("subresource", .string), 7: f("name", .string),
        8: f("fieldSelector", .message(fieldSelectorAttributes)), 9: f("labelSelector", .message(labelSelectorAttributes)),
    ]
    // authorization.v1.SelfSubjectAccessReview
    static let selfSubjectAccessReview: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("spec", .message(selfSubjectAccessReviewSpec)),
        3: f("status", .message(subjectAccessReviewStatus)),
    ]
    // authorization.v1.SelfSubjectAccessReviewSpec
    static let selfSubjectAccessReviewSpec: Schema = [
        1: f("resourceAttributes", .message(resourceAttributes)), 2: f("nonResourceAttributes", .message(nonResourceAttributes)),
    ]
    // authorization.v1.SubjectAccessReview
    static let subjectAccessReview: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("spec", .message(subjectAccessReviewSpec)),
        3: f("status", .message(subjectAccessReviewStatus)),
    ]
    // authorization.v1.SubjectAccessReviewSpec
    static let subjectAccessReviewSpec: Schema = [
        1: f("resourceAttributes", .message(resourceAttributes)), 2: f("nonResourceAttributes", .message(nonResourceAttributes)),
        3: f("user", .string), 4: r("groups", .string), 5: f("extra", .map(.stringList)), 6: f("uid", .string),
    ]
    // authorization.v1.SubjectAccessReviewStatus
    static let subjectAccessReviewStatus: Schema = [
        1: p("allowed", .bool), 2: f("reason", .string), 3: f("evaluationError", .string), 4: f("denied", .bool),
    ]
}
