/// Object schemas published through OpenAPI. Kinds with a full schema here carry
/// `x-kubernetes-group-version-kind`, so `kubectl explain` finds them and `kubectl apply` takes
/// its list merge keys from them (`x-kubernetes-patch-merge-key`). Other kinds stay anonymous and
/// kubectl falls back to its built-in types for them.
enum Schemas {
    static let hash = "swiftlet2"

    static func name(_ r: ResourceInfo) -> String {
        let group: String
        switch r.group {
        case "": group = "core"
        case "rbac.authorization.k8s.io": group = "rbac"
        case "coordination.k8s.io": group = "coordination"
        case "discovery.k8s.io": group = "discovery"
        case "events.k8s.io": group = "events"
        case "authentication.k8s.io": group = "authentication"
        case "authorization.k8s.io": group = "authorization"
        default: group = r.group
        }
        return "io.k8s.api.\(group).\(r.version).\(r.kind)"
    }

    static let meta = "io.k8s.apimachinery.pkg.apis.meta.v1."
    static let core = "io.k8s.api.core.v1."
    static let apps = "io.k8s.api.apps.v1."

    // MARK: building blocks

    static func str(_ d: String) -> JSONValue { ["type": "string", "description": .string(d)] }
    static func int(_ d: String) -> JSONValue { ["type": "integer", "format": "int32", "description": .string(d)] }
    static func int64(_ d: String) -> JSONValue { ["type": "integer", "format": "int64", "description": .string(d)] }
    static func bool(_ d: String) -> JSONValue { ["type": "boolean", "description": .string(d)] }
    static func strMap(_ d: String) -> JSONValue { ["type": "object", "description": .string(d), "additionalProperties": ["type": "string", "default": ""]] }
    static func ref(_ name: String, _ d: String) -> JSONValue { ["description": .string(d), "allOf": [["$ref": .string("#/components/schemas/\(name)")]]] }
    static func strList(_ d: String, merge: Bool = false) -> JSONValue {
        var v: JSONValue = ["type": "array", "description": .string(d), "items": ["type": "string", "default": ""]]
        if merge { v["x-kubernetes-patch-strategy"] = "merge" }
        return v
    }
    static func list(_ item: String, _ d: String, mergeKey: String? = nil) -> JSONValue {
        var v: JSONValue = ["type": "array", "description": .string(d), "items": ["default": [:], "allOf": [["$ref": .string("#/components/schemas/\(item)")]]]]
        if let mergeKey {
            v["x-kubernetes-patch-merge-key"] = .string(mergeKey)
            v["x-kubernetes-patch-strategy"] = "merge"
            v["x-kubernetes-list-type"] = "map"
            v["x-kubernetes-list-map-keys"] = [.string(mergeKey)]
        } else {
            v["x-kubernetes-list-type"] = "atomic"
        }
        return v
    }
    static func free(_ d: String) -> JSONValue { ["type": "object", "description": .string(d), "x-kubernetes-preserve-unknown-fields": true] }
    static func object(_ d: String, _ props: [String: JSONValue], required: [String] = []) -> JSONValue {
        var v: JSONValue = ["type": "object", "description": .string(d), "properties": .object(props)]
        if !required.isEmpty { v["required"] = .array(required.map { .string($0) }) }
        return v
    }

    static func topLevel(_ d: String, spec: String?, status: String?, extra: [String: JSONValue] = [:]) -> JSONValue {
        var props: [String: JSONValue] = [
            "apiVersion": str("APIVersion defines the versioned schema of this representation of an object."),
            "kind": str("Kind is a string value representing the REST resource this object represents."),
            "metadata": ref(meta + "ObjectMeta", "Standard object's metadata."),
        ]
        if let spec { props["spec"] = ref(spec, "Specification of the desired behavior.") }
        if let status { props["status"] = ref(status, "Most recently observed status. Read-only.") }
        for (k, v) in extra { props[k] = v }
        return object(d, props)
    }

    // MARK: shared definitions

    static let common: [String: JSONValue] = [
        meta + "ObjectMeta": object("ObjectMeta is metadata that all persisted resources must have, which includes all objects users must create.", [
            "name": str("Name must be unique within a namespace."),
            "generateName": str("GenerateName is an optional prefix, used by the server, to generate a unique name ONLY IF the Name field has not been provided."),
            "namespace": str("Namespace defines the space within which each name must be unique."),
            "labels": strMap("Map of string keys and values that can be used to organize and categorize (scope and select) objects."),
            "annotations": strMap("Annotations is an unstructured key value map stored with a resource."),
            "uid": str("UID is the unique in time and space value for this object."),
            "resourceVersion": str("An opaque value that represents the internal version of this object."),
            "generation": int64("A sequence number representing a specific generation of the desired state."),
            "creationTimestamp": str("CreationTimestamp is a timestamp representing the server time when this object was created."),
            "deletionTimestamp": str("DeletionTimestamp is RFC 3339 date and time at which this resource will be deleted."),
            "deletionGracePeriodSeconds": int64("Number of seconds allowed for this object to gracefully terminate before it will be removed from the system."),
            "finalizers": strList("Must be empty before the object is deleted from the registry.", merge: true),
            "ownerReferences": list(meta + "OwnerReference", "List of objects depended by this object.", mergeKey: "uid"),
            "managedFields": ["type": "array", "description": "ManagedFields maps workflow-id and version to the set of fields that are managed by that workflow.", "items": free("ManagedFieldsEntry")],
        ]),
        meta + "OwnerReference": object("OwnerReference contains enough information to let you identify an owning object.", [
            "apiVersion": str("API version of the referent."), "kind": str("Kind of the referent."), "name": str("Name of the referent."),
            "uid": str("UID of the referent."), "controller": bool("If true, this reference points to the managing controller."),
            "blockOwnerDeletion": bool("If true, AND if the owner has the \"foregroundDeletion\" finalizer, then the owner cannot be deleted from the key-value store until this reference is removed."),
        ], required: ["apiVersion", "kind", "name", "uid"]),
        meta + "LabelSelector": object("A label selector is a label query over a set of resources.", [
            "matchLabels": strMap("matchLabels is a map of {key,value} pairs."),
            "matchExpressions": ["type": "array", "description": "matchExpressions is a list of label selector requirements. The requirements are ANDed.", "items": free("LabelSelectorRequirement")],
        ]),
        core + "PodSpec": object("PodSpec is a description of a pod.", [
            "containers": list(core + "Container", "List of containers belonging to the pod. There must be at least one container in a Pod.", mergeKey: "name"),
            "initContainers": list(core + "Container", "List of initialization containers belonging to the pod.", mergeKey: "name"),
            "volumes": ["type": "array", "description": "List of volumes that can be mounted by containers belonging to the pod.", "items": free("Volume"), "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge,retainKeys"],
            "restartPolicy": str("Restart policy for all containers within the pod. One of Always, OnFailure, Never."),
            "terminationGracePeriodSeconds": int64("Optional duration in seconds the pod needs to terminate gracefully."),
            "activeDeadlineSeconds": int64("Optional duration in seconds the pod may be active on the node relative to StartTime."),
            "dnsPolicy": str("Set DNS policy for the pod. One of ClusterFirstWithHostNet, ClusterFirst, Default or None."),
            "nodeSelector": strMap("NodeSelector is a selector which must be true for the pod to fit on a node."),
            "serviceAccountName": str("ServiceAccountName is the name of the ServiceAccount to use to run this pod."),
            "serviceAccount": str("DeprecatedServiceAccount is a deprecated alias for ServiceAccountName."),
            "automountServiceAccountToken": bool("AutomountServiceAccountToken indicates whether a service account token should be automatically mounted."),
            "nodeName": str("NodeName indicates in which node this pod is scheduled."),
            "hostNetwork": bool("Host networking requested for this pod."),
            "hostPID": bool("Use the host's pid namespace."),
            "hostIPC": bool("Use the host's ipc namespace."),
            "securityContext": free("SecurityContext holds pod-level security attributes and common container settings."),
            "imagePullSecrets": ["type": "array", "description": "ImagePullSecrets is an optional list of references to secrets in the same namespace to use for pulling any of the images used by this PodSpec.", "items": free("LocalObjectReference"), "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"],
            "hostname": str("Specifies the hostname of the Pod."),
            "subdomain": str("If specified, the fully qualified Pod hostname will be \"<hostname>.<subdomain>.<pod namespace>.svc.<cluster domain>\"."),
            "affinity": free("If specified, the pod's scheduling constraints."),
            "schedulerName": str("If specified, the pod will be dispatched by specified scheduler."),
            "tolerations": ["type": "array", "description": "If specified, the pod's tolerations.", "items": free("Toleration"), "x-kubernetes-list-type": "atomic"],
            "priorityClassName": str("If specified, indicates the pod's priority."),
            "priority": int("The priority value."),
            "enableServiceLinks": bool("EnableServiceLinks indicates whether information about services should be injected into pod's environment variables."),
        ], required: ["containers"]),
        core + "Container": object("A single application container that you want to run within a pod.", [
            "name": str("Name of the container specified as a DNS_LABEL. Each container in a pod must have a unique name (DNS_LABEL). Cannot be updated."),
            "image": str("Container image name."),
            "command": strList("Entrypoint array. Not executed within a shell."),
            "args": strList("Arguments to the entrypoint."),
            "workingDir": str("Container's working directory."),
            "ports": list(core + "ContainerPort", "List of ports to expose from the container.", mergeKey: "containerPort"),
            "env": list(core + "EnvVar", "List of environment variables to set in the container. Cannot be updated.", mergeKey: "name"),
            "envFrom": ["type": "array", "description": "List of sources to populate environment variables in the container.", "items": free("EnvFromSource"), "x-kubernetes-list-type": "atomic"],
            "resources": free("Compute Resources required by this container."),
            "volumeMounts": list(core + "VolumeMount", "Pod volumes to mount into the container's filesystem. Cannot be updated.", mergeKey: "mountPath"),
            "livenessProbe": free("Periodic probe of container liveness."),
            "readinessProbe": free("Periodic probe of container service readiness."),
            "startupProbe": free("StartupProbe indicates that the Pod has successfully initialized."),
            "lifecycle": free("Actions that the management system should take in response to container lifecycle events."),
            "imagePullPolicy": str("Image pull policy. One of Always, Never, IfNotPresent."),
            "securityContext": free("SecurityContext defines the security options the container should be run with."),
            "terminationMessagePath": str("Optional: Path at which the file to which the container's termination message will be written is mounted into the container's filesystem."),
            "terminationMessagePolicy": str("Indicate how the termination message should be populated. File or FallbackToLogsOnError."),
            "stdin": bool("Whether this container should allocate a buffer for stdin in the container runtime."),
            "tty": bool("Whether this container should allocate a TTY for itself."),
        ], required: ["name"]),
        core + "ContainerPort": object("ContainerPort represents a network port in a single container.", [
            "name": str("If specified, this must be an IANA_SVC_NAME and unique within the pod."),
            "containerPort": int("Number of port to expose on the pod's IP address. This must be a valid port number, 0 < x < 65536."),
            "hostPort": int("Number of port to expose on the host."),
            "hostIP": str("What host IP to bind the external port to."),
            "protocol": str("Protocol for port. Must be UDP, TCP, or SCTP. Defaults to \"TCP\"."),
        ], required: ["containerPort"]),
        core + "EnvVar": object("EnvVar represents an environment variable present in a Container.", [
            "name": str("Name of the environment variable. Must be a C_IDENTIFIER."),
            "value": str("Variable references $(VAR_NAME) are expanded using the previously defined environment variables in the container."),
            "valueFrom": free("Source for the environment variable's value. Cannot be used if value is not empty."),
        ], required: ["name"]),
        core + "VolumeMount": object("VolumeMount describes a mounting of a Volume within a container.", [
            "name": str("This must match the Name of a Volume."), "mountPath": str("Path within the container at which the volume should be mounted."),
            "readOnly": bool("Mounted read-only if true, read-write otherwise."), "subPath": str("Path within the volume from which the container's volume should be mounted."),
        ], required: ["name", "mountPath"]),
        core + "PodTemplateSpec": object("PodTemplateSpec describes the data a pod should have when created from a template", [
            "metadata": ref(meta + "ObjectMeta", "Standard object's metadata."),
            "spec": ref(core + "PodSpec", "Specification of the desired behavior of the pod."),
        ]),
        core + "PodStatus": object("PodStatus represents information about the status of a pod.", [
            "phase": str("The phase of a Pod is a simple, high-level summary of where the Pod is in its lifecycle: Pending, Running, Succeeded, Failed, Unknown."),
            "conditions": ["type": "array", "description": "Current service state of pod.", "items": free("PodCondition"), "x-kubernetes-patch-merge-key": "type", "x-kubernetes-patch-strategy": "merge"],
            "hostIP": str("hostIP holds the IP address of the host to which the pod is assigned."),
            "podIP": str("podIP address allocated to the pod."),
            "startTime": str("RFC 3339 date and time at which the object was acknowledged by the Kubelet."),
            "containerStatuses": ["type": "array", "description": "The list has one entry per container in the manifest.", "items": free("ContainerStatus")],
            "qosClass": str("The Quality of Service (QOS) classification assigned to the pod based on resource requirements."),
            "reason": str("A brief CamelCase message indicating details about why the pod is in this state."),
            "message": str("A human readable message indicating details about why the pod is in this condition."),
        ]),
        core + "ServiceSpec": object("ServiceSpec describes the attributes that a user creates on a service.", [
            "ports": list(core + "ServicePort", "The list of ports that are exposed by this service.", mergeKey: "port"),
            "selector": strMap("Route service traffic to pods with label keys and values matching this selector."),
            "clusterIP": str("clusterIP is the IP address of the service and is usually assigned randomly."),
            "clusterIPs": strList("ClusterIPs is a list of IP addresses assigned to this service."),
            "type": str("type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer."),
            "externalIPs": strList("externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service."),
            "sessionAffinity": str("Supports \"ClientIP\" and \"None\". Used to maintain session affinity."),
            "externalName": str("externalName is the external reference that discovery mechanisms will return as an alias for this service."),
            "internalTrafficPolicy": str("InternalTrafficPolicy describes how nodes distribute service traffic they receive on the ClusterIP."),
            "externalTrafficPolicy": str("externalTrafficPolicy describes how nodes distribute service traffic they receive on one of the Service's \"externally-facing\" addresses."),
            "ipFamilies": strList("IPFamilies is a list of IP families (e.g. IPv4, IPv6) assigned to this service."),
            "ipFamilyPolicy": str("IPFamilyPolicy represents the dual-stack-ness requested or required by this Service."),
        ]),
        core + "ServicePort": object("ServicePort contains information on service's port.", [
            "name": str("The name of this port within the service. This must be a DNS_LABEL."),
            "protocol": str("The IP protocol for this port. Supports \"TCP\", \"UDP\", and \"SCTP\". Default is TCP."),
            "port": int("The port that will be exposed by this service."),
            "targetPort": ["description": "Number or name of the port to access on the pods targeted by the service.", "x-kubernetes-int-or-string": true],
            "nodePort": int("The port on each node on which this service is exposed when type is NodePort or LoadBalancer."),
            "appProtocol": str("The application protocol for this port."),
        ], required: ["port"]),
        apps + "DeploymentSpec": object("DeploymentSpec is the specification of the desired behavior of the Deployment.", [
            "replicas": int("Number of desired pods. Defaults to 1."),
            "selector": ref(meta + "LabelSelector", "Label selector for pods. It must match the pod template's labels."),
            "template": ref(core + "PodTemplateSpec", "Template describes the pods that will be created."),
            "strategy": free("The deployment strategy to use to replace existing pods with new ones."),
            "minReadySeconds": int("Minimum number of seconds for which a newly created pod should be ready without any of its container crashing."),
            "revisionHistoryLimit": int("The number of old ReplicaSets to retain to allow rollback."),
            "paused": bool("Indicates that the deployment is paused."),
            "progressDeadlineSeconds": int("The maximum time in seconds for a deployment to make progress before it is considered to be failed."),
        ], required: ["selector", "template"]),
        apps + "DeploymentStatus": object("DeploymentStatus is the most recently observed status of the Deployment.", [
            "observedGeneration": int64("The generation observed by the deployment controller."),
            "replicas": int("Total number of non-terminated pods targeted by this deployment (their labels match the selector)."),
            "updatedReplicas": int("Total number of non-terminated pods targeted by this deployment that have the desired template spec."),
            "readyReplicas": int("readyReplicas is the number of pods targeted by this Deployment with a Ready Condition."),
            "availableReplicas": int("Total number of available pods (ready for at least minReadySeconds) targeted by this deployment."),
            "conditions": ["type": "array", "description": "Represents the latest available observations of a deployment's current state.", "items": free("DeploymentCondition"), "x-kubernetes-patch-merge-key": "type", "x-kubernetes-patch-strategy": "merge"],
        ]),
    ]

    /// Full schemas by kind; the rest get an anonymous top-level schema.
    static func schemas(for r: ResourceInfo) -> [String: JSONValue] {
        var schema: JSONValue
        var typed = true
        switch (r.group, r.kind) {
        case ("", "Pod"):
            schema = topLevel("Pod is a collection of containers that can run on a host.", spec: core + "PodSpec", status: core + "PodStatus")
        case ("", "Service"):
            schema = topLevel("Service is a named abstraction of software service (for example, mysql) consisting of local port (for example 3306) that the proxy listens on, and the selector that determines which pods will answer requests sent through the proxy.", spec: core + "ServiceSpec", status: nil, extra: ["status": free("Most recently observed status of the service.")])
        case ("apps", "Deployment"):
            schema = topLevel("Deployment enables declarative updates for Pods and ReplicaSets.", spec: apps + "DeploymentSpec", status: apps + "DeploymentStatus")
        case ("", "ConfigMap"):
            schema = topLevel("ConfigMap holds configuration data for pods to consume.", spec: nil, status: nil, extra: [
                "data": strMap("Data contains the configuration data."),
                "binaryData": ["type": "object", "description": "BinaryData contains the binary data.", "additionalProperties": ["type": "string", "format": "byte"]],
                "immutable": bool("Immutable, if set to true, ensures that data stored in the ConfigMap cannot be updated."),
            ])
        case ("", "Secret"):
            schema = topLevel("Secret holds secret data of a certain type.", spec: nil, status: nil, extra: [
                "data": ["type": "object", "description": "Data contains the secret data, base64 encoded.", "additionalProperties": ["type": "string", "format": "byte"]],
                "stringData": strMap("stringData allows specifying non-binary secret data in string form."),
                "type": str("Used to facilitate programmatic handling of secret data."),
                "immutable": bool("Immutable, if set to true, ensures that data stored in the Secret cannot be updated."),
            ])
        case ("", "Namespace"):
            schema = topLevel("Namespace provides a scope for Names.", spec: nil, status: nil, extra: [
                "spec": object("NamespaceSpec describes the attributes on a Namespace.", ["finalizers": strList("Finalizers is an opaque list of values that must be empty to permanently remove object from storage.")]),
                "status": object("NamespaceStatus is information about the current status of a Namespace.", ["phase": str("Phase is the current lifecycle phase of the namespace.")]),
            ])
        case ("", "ServiceAccount"):
            schema = topLevel("ServiceAccount binds together: a name, a principal that can be authenticated and authorized, and a set of secrets.", spec: nil, status: nil, extra: [
                "automountServiceAccountToken": bool("AutomountServiceAccountToken indicates whether pods running as this service account should have an API token automatically mounted."),
                "secrets": ["type": "array", "description": "Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.", "items": free("ObjectReference"), "x-kubernetes-patch-merge-key": "name", "x-kubernetes-patch-strategy": "merge"],
                "imagePullSecrets": ["type": "array", "description": "ImagePullSecrets is a list of references to secrets in the same namespace to use for pulling any images in pods that reference this ServiceAccount.", "items": free("LocalObjectReference")],
            ])
        default:
            typed = false
            var props: [String: JSONValue] = [
                "apiVersion": str("APIVersion defines the versioned schema of this representation of an object."),
                "kind": str("Kind is a string value representing the REST resource this object represents."),
                "metadata": ref(meta + "ObjectMeta", "Standard object's metadata."),
            ]
            if r.subresources.contains("status") {
                props["spec"] = free("Specification of the desired behavior of the \(r.kind).")
                props["status"] = free("Most recently observed status of the \(r.kind).")
            }
            schema = object("\(r.kind) (\(r.groupVersion)).", props)
        }
        if typed { schema["x-kubernetes-group-version-kind"] = [OpenAPI.gvk(r)] }
        return [name(r): schema]
    }
}
