import Testing
@testable import ImageStore

@Suite struct AuthChallengeTests {
    @Test func dockerHubBearer() {
        let challenges = AuthChallenge.parse(#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull""#)
        #expect(challenges == [AuthChallenge(scheme: "bearer", parameters: [
            "realm": "https://auth.docker.io/token", "service": "registry.docker.io", "scope": "repository:library/busybox:pull"])])
    }

    @Test func basicWithRealm() {
        #expect(AuthChallenge.parse(#"Basic realm="swiftlet""#) == [AuthChallenge(scheme: "basic", parameters: ["realm": "swiftlet"])])
    }

    @Test func severalChallengesQuotedCommasAndEscapes() {
        let challenges = AuthChallenge.parse(#"Basic realm="a, b", BEARER realm="https://t/x?y=1",scope="repository:a/b:pull,push", error="insufficient_scope", Negotiate"#)
        #expect(challenges.map(\.scheme) == ["basic", "bearer", "negotiate"])
        #expect(challenges[0].parameters["realm"] == "a, b")
        #expect(challenges[1].parameters["scope"] == "repository:a/b:pull,push")
        #expect(challenges[1].parameters["error"] == "insufficient_scope")
        let escaped = AuthChallenge.parse(#"Bearer realm="say \"hi\"""#)
        #expect(escaped.first?.parameters["realm"] == #"say "hi""#)
    }

    @Test func unquotedTokensAndSpaces() {
        let challenges = AuthChallenge.parse("Bearer  realm = https://t/token ,  service=reg")
        #expect(challenges.first?.parameters == ["realm": "https://t/token", "service": "reg"])
    }

    @Test func garbageGivesNoUsableChallenge() {
        #expect(AuthChallenge.parse("").isEmpty)
        #expect(AuthChallenge.parse(",,,").isEmpty)
    }
}
