import Testing

@testable import APIServer

@Suite struct PodStreamOptionsTests {
    func parse(_ sub: String, _ uri: String) throws(APIError) -> PodStreamOptions {
        try PodStreamOptions.parse(subresource: sub, query: PodStreamOptions.queryPairs(uri))
    }

    @Test func kubectlExecQuery() throws {
        let o = try parse("exec", "/api/v1/namespaces/d/pods/p/exec?command=sh&command=-c&command=echo+a%20b&container=main&stdin=true&stdout=true&stderr=true&tty=false")
        #expect(o.command == ["sh", "-c", "echo a b"] && o.container == "main")
        #expect(o.stdin && o.stdout && o.stderr && !o.tty)
        #expect(o.kubeletPath(subresource: "exec", namespace: "d", pod: "p", container: "main")
                == "/exec/d/p/main?command=sh&command=%2Dc&command=echo%20a%20b&input=1&output=1&error=1")
    }

    @Test func defaultsAreStdoutAndStderr() throws {
        let o = try parse("attach", "/x/attach")
        #expect(!o.stdin && o.stdout && o.stderr && !o.tty)
        let tty = try parse("attach", "/x/attach?tty=true&stdin=true")
        // With a tty the kubelet gets no stderr stream.
        #expect(tty.kubeletPath(subresource: "attach", namespace: "n", pod: "p", container: "c") == "/attach/n/p/c?input=1&output=1&tty=1")
    }

    @Test func portForwardPorts() throws {
        let o = try parse("portforward", "/x/portforward?ports=8080&ports=53,54")
        #expect(o.ports == [8080, 53, 54])
        #expect(o.kubeletPath(subresource: "portforward", namespace: "n", pod: "p", container: "") == "/portForward/n/p?port=8080&port=53&port=54")
        #expect(try parse("portforward", "/x").kubeletPath(subresource: "portforward", namespace: "n", pod: "p", container: "") == "/portForward/n/p")
    }

    @Test(arguments: [
        ("exec", "/x?stdout=true", "at least one command"),
        ("exec", "/x?command=ls&stdout=false&stderr=false", "at least 1 of stdin, stdout, stderr"),
        ("exec", "/x?command=ls&stdin=maybe", "stdin: invalid value"),
        ("portforward", "/x?ports=70000", "ports: invalid port"),
        ("portforward", "/x?ports=http", "ports: invalid port"),
    ])
    func badQueries(sub: String, uri: String, message: String) {
        do {
            _ = try parse(sub, uri)
            Issue.record("accepted \(uri)")
        } catch {
            #expect(error.message.contains(message), "\(error.message)")
            #expect(error.code == 400)
        }
    }
}
