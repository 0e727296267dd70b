import Testing
@testable import CNI

@Test func supportsCurrentSpec() { #expect(CNIVersion.supported.contains("1.1.0")) }
