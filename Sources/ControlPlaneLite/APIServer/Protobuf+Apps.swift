/// Protobuf field tables: apps/v1 Deployment; conventions in Protobuf.swift.
extension Protobuf {
    static let appsKinds: [String: Schema] = [
        "apps/v1/Deployment": deployment,
    ]
    // apps.v1.Deployment
    static let deployment: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("spec", .message(deploymentSpec)),
        3: f("status", .message(deploymentStatus)),
    ]
    // apps.v1.DeploymentCondition
    static let deploymentCondition: Schema = [
        1: f("type", .string), 2: f("status", .string), 4: f("reason", .string), 5: f("message", .string),
        6: f("lastUpdateTime", .time), 7: f("lastTransitionTime", .time),
    ]
    // apps.v1.DeploymentSpec
    static let deploymentSpec: Schema = [
        1: p("replicas", .int), 2: f("selector", .message(labelSelector)), 3: f("template", .message(podTemplateSpec)),
        4: f("strategy", .message(deploymentStrategy)), 5: f("minReadySeconds", .int), 6: p("revisionHistoryLimit", .int),
        7: f("paused", .bool), 9: p("progressDeadlineSeconds", .int),
    ]
    // apps.v1.DeploymentStatus
    static let deploymentStatus: Schema = [
        1: f("observedGeneration", .int), 2: f("replicas", .int), 3: f("updatedReplicas", .int), 4: f("availableReplicas", .int),
        5: f("unavailableReplicas", .int), 6: r("conditions", .message(deploymentCondition)), 7: f("readyReplicas", .int),
        8: p("collisionCount", .int), 9: p("terminatingReplicas", .int),
    ]
    // apps.v1.DeploymentStrategy
    static let deploymentStrategy: Schema = [
        1: f("type", .string), 2: f("rollingUpdate", .message(rollingUpdateDeployment)),
    ]
    // apps.v1.RollingUpdateDeployment
    static let rollingUpdateDeployment: Schema = [
        1: p("maxUnavailable", .intOrString), 2: p("maxSurge", .intOrString),
    ]
}
