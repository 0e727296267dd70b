import Testing
@testable import ImageStore

@Suite struct ManifestTests {
    static let d1 = "sha256:" + String(repeating: "1", count: 64)
    static let d2 = "sha256:" + String(repeating: "2", count: 64)
    static let d3 = "sha256:" + String(repeating: "3", count: 64)

    func parse(_ json: String, contentType: String? = nil) throws(ImageStoreError) -> ManifestDocument {
        try ManifestDocument.parse(Array(json.utf8), contentType: contentType, image: "img", digest: "sha256:m")
    }

    @Test func dockerSchema2Manifest() throws {
        let doc = try parse("""
            {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
             "config":{"mediaType":"application/vnd.docker.container.image.v1+json","digest":"\(Self.d1)","size":10},
             "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","digest":"\(Self.d2)","size":20}]}
            """)
        guard case .manifest(let type, let config, let layers) = doc else { Issue.record("not a manifest"); return }
        #expect(type == MediaType.dockerManifest)
        #expect(config.digest == Self.d1)
        #expect(layers.map(\.size) == [20])
    }

    @Test func ociManifestWithoutMediaTypeUsesContentTypeOrShape() throws {
        let body = """
            {"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(Self.d1)","size":1},
             "layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+zstd","digest":"\(Self.d2)","size":2}]}
            """
        guard case .manifest(let type, _, _) = try parse(body) else { Issue.record("not a manifest"); return }
        #expect(type == MediaType.ociManifest)
        guard case .manifest = try parse(body, contentType: "application/vnd.oci.image.manifest.v1+json; charset=utf-8") else {
            Issue.record("not a manifest"); return
        }
    }

    @Test func unknownLayerMediaTypeNamesTheLayer() {
        let body = """
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",
             "config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"\(Self.d1)","size":1},
             "layers":[{"mediaType":"application/x-weird","digest":"\(Self.d2)","size":2}]}
            """
        #expect(throws: ImageStoreError.unsupportedMediaType(image: "img", digest: Self.d2, mediaType: "application/x-weird")) {
            try parse(body)
        }
    }

    @Test func schema1IsRefused() {
        #expect(throws: ImageStoreError.self) {
            try parse(#"{"schemaVersion":1,"name":"x","tag":"y","fsLayers":[]}"#, contentType: "application/vnd.docker.distribution.manifest.v1+prettyjws")
        }
    }

    @Test func badDigestsAndJSON() {
        #expect(throws: ImageStoreError.self) { try parse("not json") }
        #expect(throws: ImageStoreError.self) {
            try parse(#"{"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:zz","size":1},"layers":[]}"#)
        }
        #expect(throws: ImageStoreError.self) { try parse(#"{"schemaVersion":2}"#) }
    }

    @Test func indexSelectsLinuxAmd64() throws {
        let doc = try parse("""
            {"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[
             {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(Self.d1)","size":1,"platform":{"os":"linux","architecture":"arm64","variant":"v8"}},
             {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(Self.d3)","size":1,"platform":{"os":"unknown","architecture":"unknown"}},
             {"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"\(Self.d2)","size":1,"platform":{"os":"linux","architecture":"amd64"}}]}
            """)
        guard case .index(_, let manifests) = doc else { Issue.record("not an index"); return }
        let amd64 = Platform(os: "linux", architecture: "amd64", variant: nil)
        #expect(try ManifestDocument.select(manifests, platform: amd64, image: "img").digest == Self.d2)
        let arm = Platform(os: "linux", architecture: "arm64", variant: "v8")
        #expect(try ManifestDocument.select(manifests, platform: arm, image: "img").digest == Self.d1)
        let riscv = Platform(os: "linux", architecture: "riscv64", variant: nil)
        #expect(throws: ImageStoreError.noMatchingPlatform(image: "img", platform: "linux/riscv64",
                                                           available: ["linux/arm64/v8", "unknown/unknown", "linux/amd64"])) {
            try ManifestDocument.select(manifests, platform: riscv, image: "img")
        }
    }

    @Test func dockerManifestListIsAnIndex() throws {
        let doc = try parse("""
            {"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[
             {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","digest":"\(Self.d2)","size":1,"platform":{"os":"linux","architecture":"amd64"}}]}
            """)
        guard case .index(let type, let manifests) = doc else { Issue.record("not an index"); return }
        #expect(type == MediaType.dockerManifestList)
        #expect(manifests.count == 1)
    }

    @Test func imageConfig() throws {
        let config = try ImageConfigDocument.parse(Array("""
            {"architecture":"amd64","os":"linux","config":{"User":"1000:1000","Env":["A=1"],"Entrypoint":["/e"],"Cmd":["c"],
             "WorkingDir":"/w","StopSignal":"SIGQUIT","Labels":{"k":"v"},"ExposedPorts":{"80/tcp":{},"53/udp":{}},"Volumes":{"/data":{}}},
             "rootfs":{"type":"layers","diff_ids":["\(Self.d1)","\(Self.d2)"]}}
            """.utf8), image: "img", digest: Self.d3)
        #expect(config.diffIDs == [Self.d1, Self.d2])
        let c = config.imageConfig
        #expect(c.user == "1000:1000" && c.env == ["A=1"] && c.entrypoint == ["/e"] && c.cmd == ["c"])
        #expect(c.workingDir == "/w" && c.stopSignal == "SIGQUIT" && c.labels == ["k": "v"])
        #expect(c.exposedPorts == ["53/udp", "80/tcp"] && c.volumes == ["/data"])
        #expect(throws: ImageStoreError.self) {
            try ImageConfigDocument.parse(Array(#"{"rootfs":{"type":"layers","diff_ids":["md5:1"]}}"#.utf8), image: "img", digest: Self.d3)
        }
        #expect(throws: ImageStoreError.self) {
            try ImageConfigDocument.parse(Array(#"{"architecture":"amd64"}"#.utf8), image: "img", digest: Self.d3)
        }
    }
}
