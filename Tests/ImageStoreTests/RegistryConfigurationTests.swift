import Testing
@testable import ImageStore

@Suite struct RegistryConfigurationTests {
    @Test func parsesMirrorsTLSAndCredentials() throws {
        let config = try RegistryConfiguration.parse(yaml: """
            timeoutSeconds: 7
            registries:
              docker.io:
                mirrors: ["http://127.0.0.1:5000", "mirror.internal/prefix/"]
                skipUpstream: true
              "127.0.0.1:5000":
                plainHTTP: true
              registry.internal:
                insecureSkipVerify: true
                username: u
                password: p
            """)
        #expect(config.timeoutSeconds == 7)
        let endpoints = config.endpoints(for: "docker.io")
        #expect(endpoints.map(\.base) == ["http://127.0.0.1:5000", "https://mirror.internal/prefix"])
        #expect(endpoints.allSatisfy { $0.isMirror })
        #expect(config.endpoints(for: "127.0.0.1:5000").map(\.base) == ["http://127.0.0.1:5000"])
        #expect(config.host("registry.internal").credentials == RegistryCredentials(username: "u", password: "p"))
        #expect(config.host("registry.internal").insecureSkipVerify)
    }

    @Test func dockerHubUpstreamIsRegistry1() {
        #expect(RegistryConfiguration.empty.endpoints(for: "docker.io").map(\.base) == ["https://registry-1.docker.io"])
        #expect(RegistryConfiguration.empty.endpoints(for: "quay.io").map(\.base) == ["https://quay.io"])
    }

    @Test(arguments: [
        ("registries:\n  docker.io:\n    mirorrs: []\n", "registries.docker.io.mirorrs", "unknown field"),
        ("timeoutSeconds: 0\n", "timeoutSeconds", "integer from 1 to 3600"),
        ("timeoutSeconds: soon\n", "timeoutSeconds", "integer"),
        ("registries: [1, 2]\n", "registries", "mapping"),
        ("registries:\n  docker.io:\n    mirrors: [\"ftp://x\"]\n", "registries.docker.io.mirrors[0]", "not http(s)"),
        ("registries:\n  docker.io:\n    plainHTTP: maybe\n", "registries.docker.io.plainHTTP", "true or false"),
        ("registries:\n  docker.io:\n    caFile: relative.pem\n", "registries.docker.io.caFile", "absolute"),
        ("registries:\n  docker.io:\n    caFile: /nonexistent/ca.pem\n", "registries.docker.io.caFile", "does not exist"),
        ("registries:\n  docker.io:\n    username: u\n", "registries.docker.io.password", "go together"),
        ("registries:\n  docker.io:\n    skipUpstream: true\n", "registries.docker.io.skipUpstream", "mirror"),
        ("registries:\n  \"bad host!\": {}\n", "registries.bad host!", "host"),
        ("mirrors: []\n", "mirrors", "unknown field"),
        ("registries: {\n", "(yaml)", "parser"),
    ])
    func errorsNameTheField(yaml: String, field: String, reason: String) {
        do {
            _ = try RegistryConfiguration.parse(yaml: yaml, path: "/etc/test.yaml")
            Issue.record("parsed: \(yaml)")
        } catch {
            guard case .invalidConfiguration(let path, let f, let why) = error else { Issue.record("\(error)"); return }
            #expect(path == "/etc/test.yaml")
            #expect(f == field)
            #expect(why.contains(reason), "\(why)")
        }
    }

    @Test func missingFileIsAnError() {
        #expect(throws: ImageStoreError.self) { try RegistryConfiguration.load(path: "/nonexistent/registries.yaml") }
    }
}
