import GRPCCore
import GRPCHealthProto
import Testing

@testable import KubeletCore

/// The httpGet request upstream builds, its redirect policy and verdicts, and the grpc verdicts.
@Suite struct ProberHTTPSGRPCTests {
    func action(_ scheme: String? = nil, path: String? = "/healthz", headers: [(String, String)] = []) -> HTTPGetAction {
        var a = HTTPGetAction(path: path, port: .int(8443), scheme: scheme)
        a.httpHeaders = headers.map { HTTPHeader(name: $0.0, value: $0.1) }
        return a
    }

    @Test func requestCarriesUpstreamDefaultsAndTheUsersHeaders() throws {
        let plain = try #require(HTTPProbeRequest(action(), host: "10.0.0.5", port: 8080))
        #expect(!plain.https && plain.url == "http://10.0.0.5:8080/healthz" && plain.hostHeader == "10.0.0.5:8080")
        #expect(plain.headers.map(\.name) == ["User-Agent", "Accept"])
        #expect(plain.headers.map(\.value) == ["kube-probe/1.32", "*/*"])
        let custom = try #require(HTTPProbeRequest(action("https", path: "ready", headers: [("Host", "app.example"), ("user-agent", "mine")]),
                                                   host: "fd00::5", port: 8443))
        #expect(custom.https && custom.url == "https://[fd00::5]:8443/ready")
        #expect(custom.hostHeader == "app.example")
        #expect(custom.headers.map(\.name) == ["Host", "user-agent", "Accept"])
        #expect(HTTPProbeRequest(action("FTP"), host: "10.0.0.5", port: 21) == nil)
    }

    @Test func sameHostRedirectsAreFollowedOtherHostsEndTheProbe() throws {
        let first = try #require(HTTPProbeRequest(action(), host: "10.0.0.5", port: 8080))
        let relative = HTTPProbeRequest.next(after: first, original: first,
                                             response: HTTPProbeResponse(status: 302, location: "/ok?x=1"), redirects: 0)
        guard case .follow(let next) = relative else { Issue.record("not followed: \(relative)"); return }
        #expect(next.url == "http://10.0.0.5:8080/ok?x=1" && next.headers.count == first.headers.count)
        // Another port or scheme on the same host is followed too (upstream compares host names).
        let https = HTTPProbeRequest.next(after: first, original: first,
                                          response: HTTPProbeResponse(status: 301, location: "https://10.0.0.5:9443/s"), redirects: 0)
        guard case .follow(let secure) = https else { Issue.record("not followed: \(https)"); return }
        #expect(secure.https && secure.port == 9443 && secure.target == "/s")
        #expect(HTTPProbeRequest.next(after: first, original: first,
                                      response: HTTPProbeResponse(status: 302, location: "http://elsewhere/"), redirects: 0) == .done)
        #expect(HTTPProbeRequest.next(after: first, original: first,
                                      response: HTTPProbeResponse(status: 302, location: "/again"), redirects: 10) == .tooManyRedirects)
        #expect(HTTPProbeRequest.next(after: first, original: first,
                                      response: HTTPProbeResponse(status: 304, location: "/x"), redirects: 0) == .done)
        #expect(HTTPProbeRequest.next(after: first, original: first, response: HTTPProbeResponse(status: 302), redirects: 0) == .done)
    }

    @Test func statusCodesDecideLikeUpstream() {
        #expect(Prober.verdict(HTTPProbeResponse(status: 200), url: "u") == .success)
        #expect(Prober.verdict(HTTPProbeResponse(status: 399), url: "u").succeeded)
        if case .warning(let why) = Prober.verdict(HTTPProbeResponse(status: 302, location: "http://x/", body: Array("moved".utf8)), url: "u") {
            #expect(why == "Probe terminated redirects, Response body: moved")
        } else {
            Issue.record("a final redirect is a warning")
        }
        #expect(Prober.verdict(HTTPProbeResponse(status: 404), url: "u") == .failure("HTTP probe failed with statuscode: 404"))
        #expect(Prober.verdict(HTTPProbeResponse(status: 500), url: "u") == .failure("HTTP probe failed with statuscode: 500"))
    }

    @Test func warningsCountAsSuccessForThresholds() {
        var state = ProbeState()
        var probe = Probe(httpGet: HTTPGetAction(port: .int(1)))
        probe.successThreshold = 2
        state.record(.warning("redirect"), probe: probe)
        #expect(state.healthy == nil)
        state.record(.success, probe: probe)
        #expect(state.healthy == true)
    }

    @Test func grpcStatusesAndErrorsAreWordedLikeUpstream() {
        #expect(Prober.grpcVerdict(.serving) == .success)
        #expect(Prober.grpcVerdict(.notServing) == .failure("service unhealthy (responded with \"NOT_SERVING\")"))
        #expect(Prober.grpcVerdict(.unknown) == .failure("service unhealthy (responded with \"UNKNOWN\")"))
        #expect(Prober.grpcFailure(RPCError(code: .unimplemented, message: "no"), address: "a:1", timeout: 1)
                == .failure("error: this server does not implement the grpc health protocol (grpc.health.v1.Health): no"))
        #expect(Prober.grpcFailure(RPCError(code: .deadlineExceeded, message: ""), address: "a:1", timeout: 3)
                == .failure("timeout: health rpc did not complete within 3s"))
        #expect(Prober.grpcFailure(RPCError(code: .unavailable, message: "refused"), address: "10.0.0.5:9555", timeout: 1)
                == .failure("error: failed to connect service at \"10.0.0.5:9555\": refused"))
    }

    @Test func grpcProbeToAClosedPortFailsWithTheConnectionError() async {
        // 127.0.0.1:1 is closed on any test machine: a real connection attempt, refused.
        let result = await Prober.grpcCheck(host: "127.0.0.1", port: 1, service: "", timeoutSeconds: 2)
        guard case .failure(let why) = result else { Issue.record("expected a failure, got \(result)"); return }
        #expect(why.contains("127.0.0.1:1"))
    }

    @Test func httpsProbeToAClosedPortFails() async throws {
        let request = try #require(HTTPProbeRequest(action("HTTPS"), host: "127.0.0.1", port: 1))
        let result = await Prober.httpGet(request, timeoutSeconds: 2)
        guard case .failure(let why) = result else { Issue.record("expected a failure, got \(result)"); return }
        #expect(why.hasPrefix("Get \"https://127.0.0.1:1/healthz\": "))
    }
}
