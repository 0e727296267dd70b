/// Protobuf field tables: batch/v1 Job and CronJob; conventions in Protobuf.swift.
extension Protobuf {
    static let batchKinds: [String: Schema] = [
        "batch/v1/Job": job,
        "batch/v1/CronJob": cronJob,
    ]
    // batch.v1.CronJob
    static let cronJob: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("spec", .message(cronJobSpec)), 3: f("status", .message(cronJobStatus)),
    ]
    // batch.v1.CronJobSpec
    static let cronJobSpec: Schema = [
        1: f("schedule", .string), 2: p("startingDeadlineSeconds", .int), 3: f("concurrencyPolicy", .string),
        4: p("suspend", .bool), 5: f("jobTemplate", .message(jobTemplateSpec)), 6: p("successfulJobsHistoryLimit", .int),
        7: p("failedJobsHistoryLimit", .int), 8: p("timeZone", .string),
    ]
    // batch.v1.CronJobStatus
    static let cronJobStatus: Schema = [
        1: r("active", .message(objectReference)), 4: f("lastScheduleTime", .time), 5: f("lastSuccessfulTime", .time),
    ]
    // batch.v1.Job
    static let job: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("spec", .message(jobSpec)), 3: f("status", .message(jobStatus)),
    ]
    // batch.v1.JobCondition
    static let jobCondition: Schema = [
        1: f("type", .string), 2: f("status", .string), 3: f("lastProbeTime", .time), 4: f("lastTransitionTime", .time),
        5: f("reason", .string), 6: f("message", .string),
    ]
    // batch.v1.JobSpec
    static let jobSpec: Schema = [
        1: p("parallelism", .int), 2: p("completions", .int), 3: p("activeDeadlineSeconds", .int),
        4: f("selector", .message(labelSelector)), 5: p("manualSelector", .bool), 6: f("template", .message(podTemplateSpec)),
        7: p("backoffLimit", .int), 8: p("ttlSecondsAfterFinished", .int), 9: p("completionMode", .string),
        10: p("suspend", .bool), 11: f("podFailurePolicy", .message(podFailurePolicy)), 12: p("backoffLimitPerIndex", .int),
        13: p("maxFailedIndexes", .int), 14: p("podReplacementPolicy", .string), 15: p("managedBy", .string),
        16: f("successPolicy", .message(successPolicy)),
    ]
    // batch.v1.JobStatus
    static let jobStatus: Schema = [
        1: r("conditions", .message(jobCondition)), 2: f("startTime", .time), 3: f("completionTime", .time), 4: f("active", .int),
        5: f("succeeded", .int), 6: f("failed", .int), 7: f("completedIndexes", .string),
        8: f("uncountedTerminatedPods", .message(uncountedTerminatedPods)), 9: p("ready", .int), 10: p("failedIndexes", .string),
        11: p("terminating", .int),
    ]
    // batch.v1.JobTemplateSpec
    static let jobTemplateSpec: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("spec", .message(jobSpec)),
    ]
    // batch.v1.PodFailurePolicy
    static let podFailurePolicy: Schema = [
        1: r("rules", .message(podFailurePolicyRule)),
    ]
    // batch.v1.PodFailurePolicyOnExitCodesRequirement
    static let podFailurePolicyOnExitCodesRequirement: Schema = [
        1: p("containerName", .string), 2: f("operator", .string), 3: r("values", .int),
    ]
    // batch.v1.PodFailurePolicyOnPodConditionsPattern
    static let podFailurePolicyOnPodConditionsPattern: Schema = [
        1: f("type", .string), 2: f("status", .string),
    ]
    // batch.v1.PodFailurePolicyRule
    static let podFailurePolicyRule: Schema = [
        1: f("action", .string), 2: f("onExitCodes", .message(podFailurePolicyOnExitCodesRequirement)),
        3: r("onPodConditions", .message(podFailurePolicyOnPodConditionsPattern)),
    ]
    // batch.v1.SuccessPolicy
    static let successPolicy: Schema = [
        1: r("rules", .message(successPolicyRule)),
    ]
    // batch.v1.SuccessPolicyRule
    static let successPolicyRule: Schema = [
        1: p("succeededIndexes", .string), 2: p("succeededCount", .int),
    ]
    // batch.v1.UncountedTerminatedPods
    static let uncountedTerminatedPods: Schema = [
        1: r("succeeded", .string), 2: r("failed", .string),
    ]
}
