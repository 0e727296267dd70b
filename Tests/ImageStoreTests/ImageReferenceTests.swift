import Testing
@testable import ImageStore

@Suite struct ImageReferenceTests {
    @Test(arguments: [
        ("busybox", "docker.io/library/busybox:latest"),
        ("busybox:1.36", "docker.io/library/busybox:1.36"),
        ("library/busybox", "docker.io/library/busybox:latest"),
        ("docker.io/busybox", "docker.io/library/busybox:latest"),
        ("index.docker.io/library/busybox:1", "docker.io/library/busybox:1"),
        ("user/app", "docker.io/user/app:latest"),
        ("registry.k8s.io/pause:3.10", "registry.k8s.io/pause:3.10"),
        ("localhost/app", "localhost/app:latest"),
        ("localhost:5000/a/b/c:v1", "localhost:5000/a/b/c:v1"),
        ("127.0.0.1:5000/app", "127.0.0.1:5000/app:latest"),
        ("[::1]:5000/app:x", "[::1]:5000/app:x"),
        ("Registry/app", "Registry/app:latest"),
        ("quay.io/a_b/c-d__e.f:T_1.0-x", "quay.io/a_b/c-d__e.f:T_1.0-x"),
    ])
    func normalizes(input: String, expected: String) throws {
        #expect(try ImageReference.parse(input).description == expected)
    }

    @Test func digestWithoutTagKeepsNoTag() throws {
        let digest = "sha256:" + String(repeating: "ab", count: 32)
        let ref = try ImageReference.parse("busybox@\(digest)")
        #expect(ref.tag == nil)
        #expect(ref.digest == digest)
        #expect(ref.digested == "docker.io/library/busybox@\(digest)")
        #expect(ref.tagged == nil)
        let both = try ImageReference.parse("quay.io/x/y:1.0@\(digest)")
        #expect(both.tag == "1.0" && both.digest == digest && both.registry == "quay.io" && both.repository == "x/y")
    }

    @Test(arguments: [
        ("", "empty reference"),
        ("Busybox", "repository name must be lowercase"),
        ("busybox:", "invalid tag"),
        ("busybox:-x", "invalid tag"),
        ("busybox@sha256:1234", "invalid digest"),
        ("busybox@md5:" + String(repeating: "a", count: 32), "invalid digest"),
        ("a//b", "invalid repository path component"),
        ("a/b-", "invalid repository path component"),
        ("exa mple/app", "contains whitespace"),
        ("host:99999999/app", "invalid registry host"),
        (String(repeating: "ab", count: 32), "image ID"),
    ])
    func rejects(input: String, reason: String) {
        do {
            _ = try ImageReference.parse(input)
            Issue.record("\(input) parsed")
        } catch {
            guard case .invalidReference(let text, let why) = error else { Issue.record("wrong error \(error)"); return }
            #expect(text == input)
            #expect(why.contains(reason), "\(why)")
        }
    }
}
