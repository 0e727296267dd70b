/// Protobuf field tables: policy/v1 PodDisruptionBudget and scheduling.k8s.io/v1 PriorityClass; conventions in Protobuf.swift.
extension Protobuf {
    static let policyKinds: [String: Schema] = [
        "policy/v1/PodDisruptionBudget": podDisruptionBudget,
    ]
    // policy.v1.PodDisruptionBudget
    static let podDisruptionBudget: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("spec", .message(podDisruptionBudgetSpec)),
        3: f("status", .message(podDisruptionBudgetStatus)),
    ]
    // policy.v1.PodDisruptionBudgetSpec
    static let podDisruptionBudgetSpec: Schema = [
        1: p("minAvailable", .intOrString), 2: f("selector", .message(labelSelector)), 3: p("maxUnavailable", .intOrString),
        4: p("unhealthyPodEvictionPolicy", .string),
    ]
    // policy.v1.PodDisruptionBudgetStatus
    static let podDisruptionBudgetStatus: Schema = [
        1: f("observedGeneration", .int), 2: f("disruptedPods", .map(.time)), 3: p("disruptionsAllowed", .int),
        4: p("currentHealthy", .int), 5: p("desiredHealthy", .int), 6: p("expectedPods", .int),
        7: r("conditions", .message(condition)),
    ]
    static let schedulingKinds: [String: Schema] = ["scheduling.k8s.io/v1/PriorityClass": priorityClass]
    // scheduling.v1.PriorityClass
    static let priorityClass: Schema = [
        1: f("metadata", .message(objectMeta)), 2: p("value", .int), 3: f("globalDefault", .bool), 4: f("description", .string),
        5: p("preemptionPolicy", .string),
    ]
}
