/// Protobuf field tables: core/v1: Pod templates (the complete PodSpec), Service, ResourceQuota, Namespace, ServiceAccount, ConfigMap, Secret; conventions in Protobuf.swift.
extension Protobuf {
    static let coreKinds: [String: Schema] = [
        "v1/Namespace": namespace,
        "v1/ServiceAccount": serviceAccount,
        "v1/ConfigMap": configMap,
        "v1/Secret": secret,
        "v1/Service": service,
        "v1/ResourceQuota": resourceQuota,
    ]
    // core.v1.AWSElasticBlockStoreVolumeSource
    static let awsElasticBlockStoreVolumeSource: Schema = [
        1: f("volumeID", .string), 2: f("fsType", .string), 3: f("partition", .int), 4: f("readOnly", .bool),
    ]
    // core.v1.Affinity
    static let affinity: Schema = [
        1: f("nodeAffinity", .message(nodeAffinity)), 2: f("podAffinity", .message(podAffinity)),
        3: f("podAntiAffinity", .message(podAntiAffinity)),
    ]
    // core.v1.AppArmorProfile
    static let appArmorProfile: Schema = [
        1: f("type", .string), 2: p("localhostProfile", .string),
    ]
    // core.v1.AzureDiskVolumeSource
    static let azureDiskVolumeSource: Schema = [
        1: f("diskName", .string), 2: f("diskURI", .string), 3: p("cachingMode", .string), 4: p("fsType", .string),
        5: p("readOnly", .bool), 6: p("kind", .string),
    ]
    // core.v1.AzureFileVolumeSource
    static let azureFileVolumeSource: Schema = [
        1: f("secretName", .string), 2: f("shareName", .string), 3: f("readOnly", .bool),
    ]
    // core.v1.CSIVolumeSource
    static let csiVolumeSource: Schema = [
        1: f("driver", .string), 2: p("readOnly", .bool), 3: p("fsType", .string), 4: f("volumeAttributes", .map(.string)),
        5: f("nodePublishSecretRef", .message(localObjectReference)),
    ]
    // core.v1.Capabilities
    static let capabilities: Schema = [
        1: r("add", .string), 2: r("drop", .string),
    ]
    // core.v1.CephFSVolumeSource
    static let cephFSVolumeSource: Schema = [
        1: r("monitors", .string), 2: f("path", .string), 3: f("user", .string), 4: f("secretFile", .string),
        5: f("secretRef", .message(localObjectReference)), 6: f("readOnly", .bool),
    ]
    // core.v1.CinderVolumeSource
    static let cinderVolumeSource: Schema = [
        1: f("volumeID", .string), 2: f("fsType", .string), 3: f("readOnly", .bool),
        4: f("secretRef", .message(localObjectReference)),
    ]
    // core.v1.ClientIPConfig
    static let clientIPConfig: Schema = [
        1: p("timeoutSeconds", .int),
    ]
    // core.v1.ClusterTrustBundleProjection
    static let clusterTrustBundleProjection: Schema = [
        1: p("name", .string), 2: p("signerName", .string), 3: f("labelSelector", .message(labelSelector)), 4: f("path", .string),
        5: p("optional", .bool), 6: p("user", .int),
    ]
    // core.v1.ConfigMap
    static let configMap: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("data", .map(.string)), 3: f("binaryData", .map(.bytes)),
        4: p("immutable", .bool),
    ]
    // core.v1.ConfigMapEnvSource
    static let configMapEnvSource: Schema = [
        1: f("localObjectReference", .inline(localObjectReference)), 2: p("optional", .bool),
    ]
    // core.v1.ConfigMapKeySelector
    static let configMapKeySelector: Schema = [
        1: f("localObjectReference", .inline(localObjectReference)), 2: f("key", .string), 3: p("optional", .bool),
    ]
    // core.v1.ConfigMapProjection
    static let configMapProjection: Schema = [
        1: f("localObjectReference", .inline(localObjectReference)), 2: r("items", .message(keyToPath)), 4: p("optional", .bool),
    ]
    // core.v1.ConfigMapVolumeSource
    static let configMapVolumeSource: Schema = [
        1: f("localObjectReference", .inline(localObjectReference)), 2: r("items", .message(keyToPath)),
        3: p("defaultMode", .int), 4: p("optional", .bool), 5: p("defaultUser", .int),
    ]
    // core.v1.Container
    static let container: Schema = [
        1: f("name", .string), 2: f("image", .string), 3: r("command", .string), 4: r("args", .string),
        5: f("workingDir", .string), 6: r("ports", .message(containerPort)), 7: r("env", .message(envVar)),
        8: f("resources", .message(resourceRequirements)), 9: r("volumeMounts", .message(volumeMount)),
        10: f("livenessProbe", .message(probe)), 11: f("readinessProbe", .message(probe)),
        12: f("lifecycle", .message(lifecycle)), 13: f("terminationMessagePath", .string), 14: f("imagePullPolicy", .string),
        15: f("securityContext", .message(securityContext)), 16: f("stdin", .bool), 17: f("stdinOnce", .bool),
        18: f("tty", .bool), 19: r("envFrom", .message(envFromSource)), 20: f("terminationMessagePolicy", .string),
        21: r("volumeDevices", .message(volumeDevice)), 22: f("startupProbe", .message(probe)),
        23: r("resizePolicy", .message(containerResizePolicy)), 24: p("restartPolicy", .string),
        25: r("restartPolicyRules", .message(containerRestartRule)),
    ]
    // core.v1.ContainerPort
    static let containerPort: Schema = [
        1: f("name", .string), 2: f("hostPort", .int), 3: p("containerPort", .int), 4: f("protocol", .string),
        5: f("hostIP", .string),
    ]
    // core.v1.ContainerResizePolicy
    static let containerResizePolicy: Schema = [
        1: f("resourceName", .string), 2: f("restartPolicy", .string),
    ]
    // core.v1.ContainerRestartRule
    static let containerRestartRule: Schema = [
        1: f("action", .string), 2: f("exitCodes", .message(containerRestartRuleOnExitCodes)),
    ]
    // core.v1.ContainerRestartRuleOnExitCodes
    static let containerRestartRuleOnExitCodes: Schema = [
        1: f("operator", .string), 2: r("values", .int),
    ]
    // core.v1.DownwardAPIProjection
    static let downwardAPIProjection: Schema = [
        1: r("items", .message(downwardAPIVolumeFile)),
    ]
    // core.v1.DownwardAPIVolumeFile
    static let downwardAPIVolumeFile: Schema = [
        1: f("path", .string), 2: f("fieldRef", .message(objectFieldSelector)),
        3: f("resourceFieldRef", .message(resourceFieldSelector)), 4: p("mode", .int), 5: p("user", .int),
    ]
    // core.v1.DownwardAPIVolumeSource
    static let downwardAPIVolumeSource: Schema = [
        1: r("items", .message(downwardAPIVolumeFile)), 2: p("defaultMode", .int), 3: p("defaultUser", .int),
    ]
    // core.v1.EmptyDirVolumeSource
    static let emptyDirVolumeSource: Schema = [
        1: f("medium", .string), 2: p("sizeLimit", .quantity), 3: p("mode", .int),
    ]
    // core.v1.EnvFromSource
    static let envFromSource: Schema = [
        1: f("prefix", .string), 2: f("configMapRef", .message(configMapEnvSource)), 3: f("secretRef", .message(secretEnvSource)),
    ]
    // core.v1.EnvVar
    static let envVar: Schema = [
        1: f("name", .string), 2: f("value", .string), 3: f("valueFrom", .message(envVarSource)),
    ]
    // core.v1.EnvVarSource
    static let envVarSource: Schema = [
        1: f("fieldRef", .message(objectFieldSelector)), 2: f("resourceFieldRef", .message(resourceFieldSelector)),
        3: f("configMapKeyRef", .message(configMapKeySelector)), 4: f("secretKeyRef", .message(secretKeySelector)),
        5: f("fileKeyRef", .message(fileKeySelector)),
    ]
    // core.v1.EphemeralContainer
    static let ephemeralContainer: Schema = [
        1: f("ephemeralContainerCommon", .inline(ephemeralContainerCommon)), 2: f("targetContainerName", .string),
    ]
    static let ephemeralContainerCommon = container  // the same fields
    // core.v1.EphemeralVolumeSource
    static let ephemeralVolumeSource: Schema = [
        1: f("volumeClaimTemplate", .message(persistentVolumeClaimTemplate)),
    ]
    // core.v1.EvictionResponder
    static let evictionResponder: Schema = [
        1: f("name", .string), 2: p("priority", .int),
    ]
    // core.v1.ExecAction
    static let execAction: Schema = [
        1: r("command", .string),
    ]
    // core.v1.FCVolumeSource
    static let fcVolumeSource: Schema = [
        1: r("targetWWNs", .string), 2: p("lun", .int), 3: f("fsType", .string), 4: f("readOnly", .bool), 5: r("wwids", .string),
    ]
    // core.v1.FileKeySelector
    static let fileKeySelector: Schema = [
        1: f("volumeName", .string), 2: f("path", .string), 3: f("key", .string), 4: p("optional", .bool),
    ]
    // core.v1.FlexVolumeSource
    static let flexVolumeSource: Schema = [
        1: f("driver", .string), 2: f("fsType", .string), 3: f("secretRef", .message(localObjectReference)),
        4: f("readOnly", .bool), 5: f("options", .map(.string)),
    ]
    // core.v1.FlockerVolumeSource
    static let flockerVolumeSource: Schema = [
        1: f("datasetName", .string), 2: f("datasetUUID", .string),
    ]
    // core.v1.GCEPersistentDiskVolumeSource
    static let gcePersistentDiskVolumeSource: Schema = [
        1: f("pdName", .string), 2: f("fsType", .string), 3: f("partition", .int), 4: f("readOnly", .bool),
    ]
    // core.v1.GRPCAction
    static let grpcAction: Schema = [
        1: p("port", .int), 2: p("service", .string), 3: p("mode", .string),
    ]
    // core.v1.GitRepoVolumeSource
    static let gitRepoVolumeSource: Schema = [
        1: f("repository", .string), 2: f("revision", .string), 3: f("directory", .string),
    ]
    // core.v1.GlusterfsVolumeSource
    static let glusterfsVolumeSource: Schema = [
        1: f("endpoints", .string), 2: f("path", .string), 3: f("readOnly", .bool),
    ]
    // core.v1.HTTPGetAction
    static let httpGetAction: Schema = [
        1: f("path", .string), 2: f("port", .intOrString), 3: f("host", .string), 4: f("scheme", .string),
        5: r("httpHeaders", .message(httpHeader)), 6: p("protocol", .string),
    ]
    // core.v1.HTTPHeader
    static let httpHeader: Schema = [
        1: f("name", .string), 2: f("value", .string),
    ]
    // core.v1.HostAlias
    static let hostAlias: Schema = [
        1: f("ip", .string), 2: r("hostnames", .string),
    ]
    // core.v1.HostPathVolumeSource
    static let hostPathVolumeSource: Schema = [
        1: f("path", .string), 2: p("type", .string),
    ]
    // core.v1.ISCSIVolumeSource
    static let iscsiVolumeSource: Schema = [
        1: f("targetPortal", .string), 2: f("iqn", .string), 3: p("lun", .int), 4: f("iscsiInterface", .string),
        5: f("fsType", .string), 6: f("readOnly", .bool), 7: r("portals", .string), 8: f("chapAuthDiscovery", .bool),
        10: f("secretRef", .message(localObjectReference)), 11: f("chapAuthSession", .bool),
        12: p("initiatorName", .string),
    ]
    // core.v1.ImageVolumeSource
    static let imageVolumeSource: Schema = [
        1: f("reference", .string), 2: f("pullPolicy", .string),
    ]
    // core.v1.KeyToPath
    static let keyToPath: Schema = [
        1: f("key", .string), 2: f("path", .string), 3: p("mode", .int), 4: p("user", .int),
    ]
    // core.v1.Lifecycle
    static let lifecycle: Schema = [
        1: f("postStart", .message(lifecycleHandler)), 2: f("preStop", .message(lifecycleHandler)), 3: p("stopSignal", .string),
    ]
    // core.v1.LifecycleHandler
    static let lifecycleHandler: Schema = [
        1: f("exec", .message(execAction)), 2: f("httpGet", .message(httpGetAction)),
        3: f("tcpSocket", .message(tcpSocketAction)), 4: f("sleep", .message(sleepAction)),
    ]
    // core.v1.LoadBalancerIngress
    static let loadBalancerIngress: Schema = [
        1: f("ip", .string), 2: f("hostname", .string), 3: p("ipMode", .string), 4: r("ports", .message(portStatus)),
    ]
    // core.v1.LoadBalancerStatus
    static let loadBalancerStatus: Schema = [
        1: r("ingress", .message(loadBalancerIngress)),
    ]
    // core.v1.LocalObjectReference
    static let localObjectReference: Schema = [
        1: f("name", .string),
    ]
    // core.v1.NFSVolumeSource
    static let nfsVolumeSource: Schema = [
        1: f("server", .string), 2: f("path", .string), 3: f("readOnly", .bool),
    ]
    // core.v1.Namespace
    static let namespace: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("spec", .message(namespaceSpec)), 3: f("status", .message(namespaceStatus)),
    ]
    // core.v1.NamespaceCondition
    static let namespaceCondition: Schema = [
        1: f("type", .string), 2: f("status", .string), 4: f("lastTransitionTime", .time), 5: f("reason", .string),
        6: f("message", .string),
    ]
    // core.v1.NamespaceSpec
    static let namespaceSpec: Schema = [
        1: r("finalizers", .string),
    ]
    // core.v1.NamespaceStatus
    static let namespaceStatus: Schema = [
        1: f("phase", .string), 2: r("conditions", .message(namespaceCondition)),
    ]
    // core.v1.NodeAffinity
    static let nodeAffinity: Schema = [
        1: f("requiredDuringSchedulingIgnoredDuringExecution", .message(nodeSelector)),
        2: r("preferredDuringSchedulingIgnoredDuringExecution", .message(preferredSchedulingTerm)),
    ]
    // core.v1.NodeSelector
    static let nodeSelector: Schema = [
        1: r("nodeSelectorTerms", .message(nodeSelectorTerm)),
    ]
    // core.v1.NodeSelectorRequirement
    static let nodeSelectorRequirement: Schema = [
        1: f("key", .string), 2: f("operator", .string), 3: r("values", .string),
    ]
    // core.v1.NodeSelectorTerm
    static let nodeSelectorTerm: Schema = [
        1: r("matchExpressions", .message(nodeSelectorRequirement)), 2: r("matchFields", .message(nodeSelectorRequirement)),
    ]
    // core.v1.ObjectFieldSelector
    static let objectFieldSelector: Schema = [
        1: f("apiVersion", .string), 2: f("fieldPath", .string),
    ]
    // core.v1.ObjectReference
    static let objectReference: Schema = [
        1: f("kind", .string), 2: f("namespace", .string), 3: f("name", .string), 4: f("uid", .string),
        5: f("apiVersion", .string), 6: f("resourceVersion", .string), 7: f("fieldPath", .string),
    ]
    // core.v1.PersistentVolumeClaimSpec
    static let persistentVolumeClaimSpec: Schema = [
        1: r("accessModes", .string), 2: f("resources", .message(volumeResourceRequirements)), 3: f("volumeName", .string),
        4: f("selector", .message(labelSelector)), 5: p("storageClassName", .string), 6: p("volumeMode", .string),
        7: f("dataSource", .message(typedLocalObjectReference)), 8: f("dataSourceRef", .message(typedObjectReference)),
        9: p("volumeAttributesClassName", .string),
    ]
    // core.v1.PersistentVolumeClaimTemplate
    static let persistentVolumeClaimTemplate: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("spec", .message(persistentVolumeClaimSpec)),
    ]
    // core.v1.PersistentVolumeClaimVolumeSource
    static let persistentVolumeClaimVolumeSource: Schema = [
        1: f("claimName", .string), 2: f("readOnly", .bool),
    ]
    // core.v1.PhotonPersistentDiskVolumeSource
    static let photonPersistentDiskVolumeSource: Schema = [
        1: f("pdID", .string), 2: f("fsType", .string),
    ]
    // core.v1.PodAffinity
    static let podAffinity: Schema = [
        1: r("requiredDuringSchedulingIgnoredDuringExecution", .message(podAffinityTerm)),
        2: r("preferredDuringSchedulingIgnoredDuringExecution", .message(weightedPodAffinityTerm)),
    ]
    // core.v1.PodAffinityTerm
    static let podAffinityTerm: Schema = [
        1: f("labelSelector", .message(labelSelector)), 2: r("namespaces", .string), 3: f("topologyKey", .string),
        4: f("namespaceSelector", .message(labelSelector)), 5: r("matchLabelKeys", .string), 6: r("mismatchLabelKeys", .string),
    ]
    static let podAntiAffinity = podAffinity  // the same fields
    // core.v1.PodCertificateProjection
    static let podCertificateProjection: Schema = [
        1: f("signerName", .string), 2: f("keyType", .string), 3: p("maxExpirationSeconds", .int),
        4: f("credentialBundlePath", .string), 5: f("keyPath", .string), 6: f("certificateChainPath", .string),
        7: f("userAnnotations", .map(.string)), 8: p("user", .int),
    ]
    // core.v1.PodDNSConfig
    static let podDNSConfig: Schema = [
        1: r("nameservers", .string), 2: r("searches", .string), 3: r("options", .message(podDNSConfigOption)),
    ]
    // core.v1.PodDNSConfigOption
    static let podDNSConfigOption: Schema = [
        1: f("name", .string), 2: p("value", .string),
    ]
    // core.v1.PodOS
    static let podOS: Schema = [
        1: f("name", .string),
    ]
    // core.v1.PodReadinessGate
    static let podReadinessGate: Schema = [
        1: f("conditionType", .string),
    ]
    // core.v1.PodResourceClaim
    static let podResourceClaim: Schema = [
        1: f("name", .string), 3: p("resourceClaimName", .string), 4: p("resourceClaimTemplateName", .string),
    ]
    // core.v1.PodSchedulingGate
    static let podSchedulingGate: Schema = [
        1: f("name", .string),
    ]
    // core.v1.PodSchedulingGroup
    static let podSchedulingGroup: Schema = [
        1: p("podGroupName", .string),
    ]
    // core.v1.PodSecurityContext
    static let podSecurityContext: Schema = [
        1: f("seLinuxOptions", .message(seLinuxOptions)), 2: p("runAsUser", .int), 3: p("runAsNonRoot", .bool),
        4: r("supplementalGroups", .int), 5: p("fsGroup", .int), 6: p("runAsGroup", .int), 7: r("sysctls", .message(sysctl)),
        8: f("windowsOptions", .message(windowsSecurityContextOptions)), 9: p("fsGroupChangePolicy", .string),
        10: f("seccompProfile", .message(seccompProfile)), 11: f("appArmorProfile", .message(appArmorProfile)),
        12: p("supplementalGroupsPolicy", .string), 13: p("seLinuxChangePolicy", .string),
    ]
    // core.v1.PodSpec
    static let podSpec: Schema = [
        1: r("volumes", .message(volume)), 2: r("containers", .message(container)), 3: f("restartPolicy", .string),
        4: p("terminationGracePeriodSeconds", .int), 5: p("activeDeadlineSeconds", .int), 6: f("dnsPolicy", .string),
        7: f("nodeSelector", .map(.string)), 8: f("serviceAccountName", .string), 9: f("serviceAccount", .string),
        10: f("nodeName", .string), 11: f("hostNetwork", .bool), 12: f("hostPID", .bool), 13: f("hostIPC", .bool),
        14: f("securityContext", .message(podSecurityContext)), 15: r("imagePullSecrets", .message(localObjectReference)),
        16: f("hostname", .string), 17: f("subdomain", .string), 18: f("affinity", .message(affinity)),
        19: f("schedulerName", .string), 20: r("initContainers", .message(container)),
        21: p("automountServiceAccountToken", .bool), 22: r("tolerations", .message(toleration)),
        23: r("hostAliases", .message(hostAlias)), 24: f("priorityClassName", .string), 25: p("priority", .int),
        26: f("dnsConfig", .message(podDNSConfig)), 27: p("shareProcessNamespace", .bool),
        28: r("readinessGates", .message(podReadinessGate)), 29: p("runtimeClassName", .string),
        30: p("enableServiceLinks", .bool), 31: p("preemptionPolicy", .string), 32: f("overhead", .map(.quantity)),
        33: r("topologySpreadConstraints", .message(topologySpreadConstraint)),
        34: r("ephemeralContainers", .message(ephemeralContainer)), 35: p("setHostnameAsFQDN", .bool),
        36: f("os", .message(podOS)), 37: p("hostUsers", .bool), 38: r("schedulingGates", .message(podSchedulingGate)),
        39: r("resourceClaims", .message(podResourceClaim)), 40: f("resources", .message(resourceRequirements)),
        41: p("hostnameOverride", .string), 43: f("schedulingGroup", .message(podSchedulingGroup)),
        44: r("evictionResponders", .message(evictionResponder)),
    ]
    // core.v1.PodTemplateSpec
    static let podTemplateSpec: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("spec", .message(podSpec)),
    ]
    // core.v1.PortStatus
    static let portStatus: Schema = [
        1: p("port", .int), 2: f("protocol", .string), 3: p("error", .string),
    ]
    // core.v1.PortworxVolumeSource
    static let portworxVolumeSource: Schema = [
        1: f("volumeID", .string), 2: f("fsType", .string), 3: f("readOnly", .bool),
    ]
    // core.v1.PreferredSchedulingTerm
    static let preferredSchedulingTerm: Schema = [
        1: p("weight", .int), 2: f("preference", .message(nodeSelectorTerm)),
    ]
    // core.v1.Probe
    static let probe: Schema = [
        1: f("handler", .inline(probeHandler)), 2: f("initialDelaySeconds", .int), 3: f("timeoutSeconds", .int),
        4: f("periodSeconds", .int), 5: f("successThreshold", .int), 6: f("failureThreshold", .int),
        7: p("terminationGracePeriodSeconds", .int),
    ]
    // core.v1.ProbeHandler
    static let probeHandler: Schema = [
        1: f("exec", .message(execAction)), 2: f("httpGet", .message(httpGetAction)),
        3: f("tcpSocket", .message(tcpSocketAction)), 4: f("grpc", .message(grpcAction)),
    ]
    // core.v1.ProjectedVolumeSource
    static let projectedVolumeSource: Schema = [
        1: r("sources", .message(volumeProjection)), 2: p("defaultMode", .int), 3: p("defaultUser", .int),
    ]
    // core.v1.QuobyteVolumeSource
    static let quobyteVolumeSource: Schema = [
        1: f("registry", .string), 2: f("volume", .string), 3: f("readOnly", .bool), 4: f("user", .string),
        5: f("group", .string), 6: f("tenant", .string),
    ]
    // core.v1.RBDVolumeSource
    static let rbdVolumeSource: Schema = [
        1: r("monitors", .string), 2: f("image", .string), 3: f("fsType", .string), 4: f("pool", .string),
        5: f("user", .string), 6: f("keyring", .string), 7: f("secretRef", .message(localObjectReference)),
        8: f("readOnly", .bool),
    ]
    // core.v1.ResourceClaim
    static let resourceClaim: Schema = [
        1: f("name", .string), 2: f("request", .string),
    ]
    // core.v1.ResourceFieldSelector
    static let resourceFieldSelector: Schema = [
        1: f("containerName", .string), 2: f("resource", .string), 3: f("divisor", .quantity),
    ]
    // core.v1.ResourceQuota
    static let resourceQuota: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("spec", .message(resourceQuotaSpec)),
        3: f("status", .message(resourceQuotaStatus)),
    ]
    // core.v1.ResourceQuotaSpec
    static let resourceQuotaSpec: Schema = [
        1: f("hard", .map(.quantity)), 2: r("scopes", .string), 3: f("scopeSelector", .message(scopeSelector)),
    ]
    // core.v1.ResourceQuotaStatus
    static let resourceQuotaStatus: Schema = [
        1: f("hard", .map(.quantity)), 2: f("used", .map(.quantity)),
    ]
    // core.v1.ResourceRequirements
    static let resourceRequirements: Schema = [
        1: f("limits", .map(.quantity)), 2: f("requests", .map(.quantity)), 3: r("claims", .message(resourceClaim)),
    ]
    // core.v1.SELinuxOptions
    static let seLinuxOptions: Schema = [
        1: f("user", .string), 2: f("role", .string), 3: f("type", .string), 4: f("level", .string),
    ]
    // core.v1.ScaleIOVolumeSource
    static let scaleIOVolumeSource: Schema = [
        1: f("gateway", .string), 2: f("system", .string), 3: f("secretRef", .message(localObjectReference)),
        4: f("sslEnabled", .bool), 5: f("protectionDomain", .string), 6: f("storagePool", .string), 7: f("storageMode", .string),
        8: f("volumeName", .string), 9: f("fsType", .string), 10: f("readOnly", .bool),
    ]
    // core.v1.ScopeSelector
    static let scopeSelector: Schema = [
        1: r("matchExpressions", .message(scopedResourceSelectorRequirement)),
    ]
    // core.v1.ScopedResourceSelectorRequirement
    static let scopedResourceSelectorRequirement: Schema = [
        1: f("scopeName", .string), 2: f("operator", .string), 3: r("values", .string),
    ]
    static let seccompProfile = appArmorProfile  // the same fields
    // core.v1.Secret
    static let secret: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("data", .map(.bytes)), 3: f("type", .string),
        4: f("stringData", .map(.string)), 5: p("immutable", .bool),
    ]
    static let secretEnvSource = configMapEnvSource  // the same fields
    static let secretKeySelector = configMapKeySelector  // the same fields
    static let secretProjection = configMapProjection  // the same fields
    // core.v1.SecretVolumeSource
    static let secretVolumeSource: Schema = [
        1: f("secretName", .string), 2: r("items", .message(keyToPath)), 3: p("defaultMode", .int), 4: p("optional", .bool),
        5: p("defaultUser", .int),
    ]
    // core.v1.SecurityContext
    static let securityContext: Schema = [
        1: f("capabilities", .message(capabilities)), 2: p("privileged", .bool), 3: f("seLinuxOptions", .message(seLinuxOptions)),
        4: p("runAsUser", .int), 5: p("runAsNonRoot", .bool), 6: p("readOnlyRootFilesystem", .bool),
        7: p("allowPrivilegeEscalation", .bool), 8: p("runAsGroup", .int), 9: p("procMount", .string),
        10: f("windowsOptions", .message(windowsSecurityContextOptions)), 11: f("seccompProfile", .message(seccompProfile)),
        12: f("appArmorProfile", .message(appArmorProfile)),
    ]
    // core.v1.Service
    static let service: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("spec", .message(serviceSpec)), 3: f("status", .message(serviceStatus)),
    ]
    // core.v1.ServiceAccount
    static let serviceAccount: Schema = [
        1: f("metadata", .message(objectMeta)), 2: r("secrets", .message(objectReference)),
        3: r("imagePullSecrets", .message(localObjectReference)), 4: p("automountServiceAccountToken", .bool),
    ]
    // core.v1.ServiceAccountTokenProjection
    static let serviceAccountTokenProjection: Schema = [
        1: f("audience", .string), 2: p("expirationSeconds", .int), 3: f("path", .string), 4: p("user", .int),
    ]
    // core.v1.ServicePort
    static let servicePort: Schema = [
        1: f("name", .string), 2: f("protocol", .string), 3: p("port", .int), 4: f("targetPort", .intOrString),
        5: f("nodePort", .int), 6: p("appProtocol", .string),
    ]
    // core.v1.ServiceSpec
    static let serviceSpec: Schema = [
        1: r("ports", .message(servicePort)), 2: f("selector", .map(.string)), 3: f("clusterIP", .string), 4: f("type", .string),
        5: r("externalIPs", .string), 7: f("sessionAffinity", .string), 8: f("loadBalancerIP", .string),
        9: r("loadBalancerSourceRanges", .string), 10: f("externalName", .string), 11: f("externalTrafficPolicy", .string),
        12: f("healthCheckNodePort", .int), 13: f("publishNotReadyAddresses", .bool),
        14: f("sessionAffinityConfig", .message(sessionAffinityConfig)), 17: p("ipFamilyPolicy", .string),
        18: r("clusterIPs", .string), 19: r("ipFamilies", .string), 20: p("allocateLoadBalancerNodePorts", .bool),
        21: p("loadBalancerClass", .string), 22: p("internalTrafficPolicy", .string), 23: p("trafficDistribution", .string),
    ]
    // core.v1.ServiceStatus
    static let serviceStatus: Schema = [
        1: f("loadBalancer", .message(loadBalancerStatus)), 2: r("conditions", .message(condition)),
    ]
    // core.v1.SessionAffinityConfig
    static let sessionAffinityConfig: Schema = [
        1: f("clientIP", .message(clientIPConfig)),
    ]
    // core.v1.SleepAction
    static let sleepAction: Schema = [
        1: p("seconds", .int),
    ]
    // core.v1.StorageOSVolumeSource
    static let storageOSVolumeSource: Schema = [
        1: f("volumeName", .string), 2: f("volumeNamespace", .string), 3: f("fsType", .string), 4: f("readOnly", .bool),
        5: f("secretRef", .message(localObjectReference)),
    ]
    // core.v1.Sysctl
    static let sysctl: Schema = [
        1: f("name", .string), 2: f("value", .string),
    ]
    // core.v1.TCPSocketAction
    static let tcpSocketAction: Schema = [
        1: f("port", .intOrString), 2: f("host", .string),
    ]
    // core.v1.Toleration
    static let toleration: Schema = [
        1: f("key", .string), 2: f("operator", .string), 3: f("value", .string), 4: f("effect", .string),
        5: p("tolerationSeconds", .int),
    ]
    // core.v1.TopologySpreadConstraint
    static let topologySpreadConstraint: Schema = [
        1: p("maxSkew", .int), 2: f("topologyKey", .string), 3: f("whenUnsatisfiable", .string),
        4: f("labelSelector", .message(labelSelector)), 5: p("minDomains", .int), 6: p("nodeAffinityPolicy", .string),
        7: p("nodeTaintsPolicy", .string), 8: r("matchLabelKeys", .string),
    ]
    // core.v1.TypedLocalObjectReference
    static let typedLocalObjectReference: Schema = [
        1: p("apiGroup", .string), 2: f("kind", .string), 3: f("name", .string),
    ]
    // core.v1.TypedObjectReference
    static let typedObjectReference: Schema = [
        1: p("apiGroup", .string), 2: f("kind", .string), 3: f("name", .string), 4: p("namespace", .string),
    ]
    // core.v1.Volume
    static let volume: Schema = [
        1: f("name", .string), 2: f("volumeSource", .inline(volumeSource)),
    ]
    // core.v1.VolumeDevice
    static let volumeDevice: Schema = [
        1: f("name", .string), 2: f("devicePath", .string),
    ]
    // core.v1.VolumeMount
    static let volumeMount: Schema = [
        1: f("name", .string), 2: f("readOnly", .bool), 3: f("mountPath", .string), 4: f("subPath", .string),
        5: p("mountPropagation", .string), 6: f("subPathExpr", .string), 7: p("recursiveReadOnly", .string),
        8: r("bindMountOptions", .string),
    ]
    // core.v1.VolumeProjection
    static let volumeProjection: Schema = [
        1: f("secret", .message(secretProjection)), 2: f("downwardAPI", .message(downwardAPIProjection)),
        3: f("configMap", .message(configMapProjection)), 4: f("serviceAccountToken", .message(serviceAccountTokenProjection)),
        5: f("clusterTrustBundle", .message(clusterTrustBundleProjection)),
        6: f("podCertificate", .message(podCertificateProjection)),
    ]
    // core.v1.VolumeResourceRequirements
    static let volumeResourceRequirements: Schema = [
        1: f("limits", .map(.quantity)), 2: f("requests", .map(.quantity)),
    ]
    // core.v1.VolumeSource
    static let volumeSource: Schema = [
        1: f("hostPath", .message(hostPathVolumeSource)), 2: f("emptyDir", .message(emptyDirVolumeSource)),
        3: f("gcePersistentDisk", .message(gcePersistentDiskVolumeSource)),
        4: f("awsElasticBlockStore", .message(awsElasticBlockStoreVolumeSource)), 5: f("gitRepo", .message(gitRepoVolumeSource)),
        6: f("secret", .message(secretVolumeSource)), 7: f("nfs", .message(nfsVolumeSource)),
        8: f("iscsi", .message(iscsiVolumeSource)), 9: f("glusterfs", .message(glusterfsVolumeSource)),
        10: f("persistentVolumeClaim", .message(persistentVolumeClaimVolumeSource)), 11: f("rbd", .message(rbdVolumeSource)),
        12: f("flexVolume", .message(flexVolumeSource)), 13: f("cinder", .message(cinderVolumeSource)),
        14: f("cephfs", .message(cephFSVolumeSource)), 15: f("flocker", .message(flockerVolumeSource)),
        16: f("downwardAPI", .message(downwardAPIVolumeSource)), 17: f("fc", .message(fcVolumeSource)),
        18: f("azureFile", .message(azureFileVolumeSource)), 19: f("configMap", .message(configMapVolumeSource)),
        20: f("vsphereVolume", .message(vsphereVirtualDiskVolumeSource)), 21: f("quobyte", .message(quobyteVolumeSource)),
        22: f("azureDisk", .message(azureDiskVolumeSource)),
        23: f("photonPersistentDisk", .message(photonPersistentDiskVolumeSource)),
        24: f("portworxVolume", .message(portworxVolumeSource)), 25: f("scaleIO", .message(scaleIOVolumeSource)),
        26: f("projected", .message(projectedVolumeSource)), 27: f("storageos", .message(storageOSVolumeSource)),
        28: f("csi", .message(csiVolumeSource)), 29: f("ephemeral", .message(ephemeralVolumeSource)),
        30: f("image", .message(imageVolumeSource)),
    ]
    // core.v1.VsphereVirtualDiskVolumeSource
    static let vsphereVirtualDiskVolumeSource: Schema = [
        1: f("volumePath", .string), 2: f("fsType", .string), 3: f("storagePolicyName", .string),
        4: f("storagePolicyID", .string),
    ]
    // core.v1.WeightedPodAffinityTerm
    static let weightedPodAffinityTerm: Schema = [
        1: p("weight", .int), 2: f("podAffinityTerm", .message(podAffinityTerm)),
    ]
    // core.v1.WindowsSecurityContextOptions
    static let windowsSecurityContextOptions: Schema = [
        1: p("gmsaCredentialSpecName", .string), 2: p("gmsaCredentialSpec", .string), 3: p("runAsUserName", .string),
        4: p("hostProcess", .bool),
    ]
}
