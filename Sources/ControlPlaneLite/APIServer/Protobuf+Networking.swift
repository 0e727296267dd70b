/// Protobuf field tables: networking.k8s.io/v1 Ingress and IngressClass; conventions in Protobuf.swift.
extension Protobuf {
    static let networkingKinds: [String: Schema] = [
        "networking.k8s.io/v1/Ingress": ingress,
        "networking.k8s.io/v1/IngressClass": ingressClass,
    ]
    // networking.v1.HTTPIngressPath
    static let httpIngressPath: Schema = [
        1: f("path", .string), 2: f("backend", .message(ingressBackend)), 3: p("pathType", .string),
    ]
    // networking.v1.HTTPIngressRuleValue
    static let httpIngressRuleValue: Schema = [
        1: r("paths", .message(httpIngressPath)),
    ]
    // networking.v1.Ingress
    static let ingress: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("spec", .message(ingressSpec)), 3: f("status", .message(ingressStatus)),
    ]
    // networking.v1.IngressBackend
    static let ingressBackend: Schema = [
        3: f("resource", .message(typedLocalObjectReference)), 4: f("service", .message(ingressServiceBackend)),
    ]
    // networking.v1.IngressClass
    static let ingressClass: Schema = [
        1: f("metadata", .message(objectMeta)), 2: f("spec", .message(ingressClassSpec)),
    ]
    // networking.v1.IngressClassParametersReference
    static let ingressClassParametersReference: Schema = [
        1: p("apiGroup", .string), 2: f("kind", .string), 3: f("name", .string), 4: p("scope", .string),
        5: p("namespace", .string),
    ]
    // networking.v1.IngressClassSpec
    static let ingressClassSpec: Schema = [
        1: f("controller", .string), 2: f("parameters", .message(ingressClassParametersReference)),
    ]
    // networking.v1.IngressLoadBalancerIngress
    static let ingressLoadBalancerIngress: Schema = [
        1: f("ip", .string), 2: f("hostname", .string), 4: r("ports", .message(ingressPortStatus)),
    ]
    // networking.v1.IngressLoadBalancerStatus
    static let ingressLoadBalancerStatus: Schema = [
        1: r("ingress", .message(ingressLoadBalancerIngress)),
    ]
    // networking.v1.IngressPortStatus
    static let ingressPortStatus: Schema = [
        1: p("port", .int), 2: f("protocol", .string), 3: p("error", .string),
    ]
    // networking.v1.IngressRule
    static let ingressRule: Schema = [
        1: f("host", .string), 2: f("ingressRuleValue", .inline(ingressRuleValue)),
    ]
    // networking.v1.IngressRuleValue
    static let ingressRuleValue: Schema = [
        1: f("http", .message(httpIngressRuleValue)),
    ]
    // networking.v1.IngressServiceBackend
    static let ingressServiceBackend: Schema = [
        1: f("name", .string), 2: f("port", .message(serviceBackendPort)),
    ]
    // networking.v1.IngressSpec
    static let ingressSpec: Schema = [
        1: f("defaultBackend", .message(ingressBackend)), 2: r("tls", .message(ingressTLS)), 3: r("rules", .message(ingressRule)),
        4: p("ingressClassName", .string),
    ]
    // networking.v1.IngressStatus
    static let ingressStatus: Schema = [
        1: f("loadBalancer", .message(ingressLoadBalancerStatus)),
    ]
    // networking.v1.IngressTLS
    static let ingressTLS: Schema = [
        1: r("hosts", .string), 2: f("secretName", .string),
    ]
    // networking.v1.ServiceBackendPort
    static let serviceBackendPort: Schema = [
        1: f("name", .string), 2: f("number", .int),
    ]
}
