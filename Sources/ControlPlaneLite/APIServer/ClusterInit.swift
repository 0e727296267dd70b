import Crypto
import Foundation
import Yams

/// `swiftlet-control-plane init`: PKI, kubeconfigs and static pod manifests, like `kubeadm init`.
/// Everything goes under `rootDir` (default `/`), so tests can use a temporary directory.
public struct ClusterInit: Sendable {
    public var rootDir: String = "/"
    public var nodeName: String
    public var nodeIP: String = "127.0.0.1"
    public var advertiseAddress: String = "127.0.0.1"
    public var securePort: Int = 6443
    public var serviceCIDR: String = "10.96.0.0/12"
    public var storeURL: String?
    public var image: String = ClusterInit.defaultImage
    public var binary: String = ControlPlaneImage.binDir + "/swiftlet-control-plane"
    /// The components whose executables the image holds besides the apiserver (file names, e.g.
    /// `swiftlet-scheduler`). A component's manifest goes into `manifests/` only when its
    /// executable is in the image; otherwise into `manifests-pending/`, where the kubelet does not
    /// look, so a pod that could not start never runs.
    public var imageComponents: Set<String> = []

    /// The tag `init` builds and the manifests name.
    public static let defaultImage = "localhost/swiftlet/control-plane:" + APIServerConfig().version
    public static let scheduler = "swiftlet-scheduler"
    public static let controllerManager = "swiftlet-controller-manager"

    public init(nodeName: String) { self.nodeName = nodeName }

    public var kubernetesDir: String { path("etc/kubernetes") }
    public var pkiDir: String { path("etc/kubernetes/pki") }
    public var manifestsDir: String { path("etc/kubernetes/manifests") }
    public var pendingManifestsDir: String { path("etc/kubernetes/manifests-pending") }
    public var dataDir: String { path("var/lib/swiftlet/apiserver") }
    public var effectiveStoreURL: String { storeURL ?? "sqlite://\(dataDir)/state.db" }

    func path(_ relative: String) -> String {
        (rootDir.hasSuffix("/") ? rootDir : rootDir + "/") + relative
    }

    /// Writes every file; an existing CA is reused, other files are replaced. Returns the paths written.
    @discardableResult
    public func run() throws -> [String] {
        let fm = FileManager.default
        for dir in [pkiDir, manifestsDir, pendingManifestsDir, dataDir] {
            try fm.createDirectory(atPath: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o755])
        }
        var written: [String] = []
        func write(_ file: String, _ text: String, mode: Int) throws {
            let tmp = file + ".tmp"
            guard fm.createFile(atPath: tmp, contents: Data(text.utf8), attributes: [.posixPermissions: mode]) else {
                throw ConfigError("cannot write \(tmp)")
            }
            if fm.fileExists(atPath: file) { try fm.removeItem(atPath: file) }
            try fm.moveItem(atPath: tmp, toPath: file)
            written.append(file)
        }
        let caCert = pkiDir + "/ca.crt"
        let caKey = pkiDir + "/ca.key"
        let ca: PKI.KeyPair
        if fm.fileExists(atPath: caCert), fm.fileExists(atPath: caKey) {
            ca = try PKI.loadCA(certificatePEM: String(contentsOfFile: caCert, encoding: .utf8), keyPEM: String(contentsOfFile: caKey, encoding: .utf8))
        } else {
            ca = try PKI.makeCA()
            try write(caCert, ca.certificatePEM, mode: 0o644)
            try write(caKey, ca.keyPEM, mode: 0o600)
        }
        let serviceIP = try firstServiceIP()
        var ips = ["127.0.0.1", serviceIP, nodeIP, advertiseAddress]
        ips = ips.reduce(into: []) { if !$0.contains($1) { $0.append($1) } }
        let serving = try PKI.issue(
            ca: ca, commonName: "kube-apiserver",
            dnsNames: ["localhost", nodeName, "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"],
            ipAddresses: ips, server: true, client: false)
        try write(pkiDir + "/apiserver.crt", serving.certificatePEM, mode: 0o644)
        try write(pkiDir + "/apiserver.key", serving.keyPEM, mode: 0o600)
        let saKey = P256.Signing.PrivateKey()
        if !fm.fileExists(atPath: pkiDir + "/sa.key") {
            try write(pkiDir + "/sa.key", saKey.pemRepresentation, mode: 0o600)
            try write(pkiDir + "/sa.pub", saKey.publicKey.pemRepresentation, mode: 0o644)
        }
        if !fm.fileExists(atPath: pkiDir + "/tokens.csv") {
            try write(pkiDir + "/tokens.csv", "# token,user,uid,\"group1,group2\"\n", mode: 0o600)
        }
        // The apiserver's client certificate for kubelets (pods/log), as kubeadm's.
        let kubeletClient = try PKI.issue(ca: ca, commonName: "kube-apiserver-kubelet-client", organizations: ["system:masters"], server: false, client: true)
        try write(pkiDir + "/apiserver-kubelet-client.crt", kubeletClient.certificatePEM, mode: 0o644)
        try write(pkiDir + "/apiserver-kubelet-client.key", kubeletClient.keyPEM, mode: 0o600)
        let server = "https://\(advertiseAddress):\(securePort)"
        for (file, user, groups) in [
            ("admin.conf", "kubernetes-admin", ["system:masters"]),
            ("kubelet.conf", "system:node:\(nodeName)", ["system:nodes"]),
            ("scheduler.conf", "system:kube-scheduler", []),
            ("controller-manager.conf", "system:kube-controller-manager", []),
        ] {
            let client = try PKI.issue(ca: ca, commonName: user, organizations: groups, server: false, client: true)
            try write(kubernetesDir + "/" + file, kubeconfig(server: server, ca: ca.certificatePEM, user: user, client: client), mode: 0o600)
        }
        try write(manifestsDir + "/kube-apiserver.yaml", try manifest(name: "kube-apiserver", command: apiserverCommand(), port: securePort, health: "/livez"), mode: 0o600)
        let components: [(String, String, [String], Int)] = [
            ("kube-scheduler", Self.scheduler, ["--kubeconfig=/etc/kubernetes/scheduler.conf", "--leader-elect=true"], 10259),
            ("kube-controller-manager", Self.controllerManager,
             ["--kubeconfig=/etc/kubernetes/controller-manager.conf",
              "--service-account-private-key-file=/etc/kubernetes/pki/sa.key", "--root-ca-file=/etc/kubernetes/pki/ca.crt",
              "--cluster-signing-cert-file=/etc/kubernetes/pki/ca.crt", "--cluster-signing-key-file=/etc/kubernetes/pki/ca.key"], 10257),
        ]
        for (name, executable, args, port) in components {
            let text = try manifest(name: name, command: [ControlPlaneImage.binDir + "/" + executable] + args, port: port, health: "/healthz")
            let active = imageComponents.contains(executable)
            try write((active ? manifestsDir : pendingManifestsDir) + "/\(name).yaml", text, mode: 0o600)
            // The other directory's copy is stale now.
            let other = (active ? pendingManifestsDir : manifestsDir) + "/\(name).yaml"
            if fm.fileExists(atPath: other) { try fm.removeItem(atPath: other) }
        }
        return written
    }

    func firstServiceIP() throws -> String {
        let parts = serviceCIDR.split(separator: "/")
        guard parts.count == 2, let base = ServiceAllocator.parse(String(parts[0])), let bits = Int(parts[1]), bits >= 8, bits <= 30 else {
            throw ConfigError("--service-cluster-ip-range \(serviceCIDR): need an IPv4 CIDR with a prefix between /8 and /30")
        }
        return ServiceAllocator.format((base & (~UInt32(0) << (32 - bits))) + 1)
    }

    /// The apiserver's command line as the static pod runs it (paths inside the pod = host paths).
    public func apiserverCommand() -> [String] {
        [
            binary, "apiserver",
            "--advertise-address=\(advertiseAddress)", "--bind-address=0.0.0.0", "--secure-port=\(securePort)",
            "--store=sqlite:///var/lib/swiftlet/apiserver/state.db",
            "--tls-cert-file=/etc/kubernetes/pki/apiserver.crt", "--tls-private-key-file=/etc/kubernetes/pki/apiserver.key",
            "--client-ca-file=/etc/kubernetes/pki/ca.crt", "--token-auth-file=/etc/kubernetes/pki/tokens.csv",
            "--service-account-key-file=/etc/kubernetes/pki/sa.key", "--service-cluster-ip-range=\(serviceCIDR)",
            "--kubelet-client-certificate=/etc/kubernetes/pki/apiserver-kubelet-client.crt",
            "--kubelet-client-key=/etc/kubernetes/pki/apiserver-kubelet-client.key",
        ]
    }

    func kubeconfig(server: String, ca: String, user: String, client: PKI.KeyPair) -> String {
        let b64 = { (s: String) in Data(s.utf8).base64EncodedString() }
        return """
            apiVersion: v1
            kind: Config
            clusters:
            - cluster:
                certificate-authority-data: \(b64(ca))
                server: \(server)
              name: kubernetes
            contexts:
            - context:
                cluster: kubernetes
                user: \(user)
              name: \(user)@kubernetes
            current-context: \(user)@kubernetes
            preferences: {}
            users:
            - name: \(user)
              user:
                client-certificate-data: \(b64(client.certificatePEM))
                client-key-data: \(b64(client.keyPEM))

            """
    }

    func manifest(name: String, command: [String], port: Int, health: String) throws -> String {
        let pod: [String: Any] = [
            "apiVersion": "v1", "kind": "Pod",
            "metadata": ["name": name, "namespace": "kube-system", "labels": ["component": name, "tier": "control-plane"]],
            "spec": [
                "hostNetwork": true, "priorityClassName": "system-node-critical",
                "securityContext": ["seccompProfile": ["type": "RuntimeDefault"]],
                "containers": [[
                    "name": name, "image": image, "imagePullPolicy": "IfNotPresent", "command": command,
                    "livenessProbe": ["httpGet": ["host": "127.0.0.1", "path": health, "port": port, "scheme": "HTTPS"],
                                      "initialDelaySeconds": 10, "periodSeconds": 10, "failureThreshold": 8],
                    "resources": ["requests": ["cpu": "100m"]],
                    "volumeMounts": [
                        ["name": "k8s-certs", "mountPath": "/etc/kubernetes", "readOnly": true],
                        ["name": "data", "mountPath": "/var/lib/swiftlet/apiserver"],
                    ],
                ]],
                "volumes": [
                    ["name": "k8s-certs", "hostPath": ["path": kubernetesDir, "type": "Directory"]],
                    ["name": "data", "hostPath": ["path": dataDir, "type": "DirectoryOrCreate"]],
                ],
            ],
        ]
        return try Yams.dump(object: pod, sortKeys: true)
    }
}
