// swift-tools-version:6.1
// swiftlet: a Kubernetes node in Swift. See README.md for the layout and ../shared/DESIGN.md.
// One owner edits this file; subsystems add their targets through that owner.
import PackageDescription

/// System C libraries from Debian, found through pkg-config.
func systemLibrary(_ name: String, pkgConfig: String, apt: String) -> Target {
    .systemLibrary(
        name: name, path: "Sources/CSystem/\(name)", pkgConfig: pkgConfig,
        providers: [.apt([apt])])
}

let strict: [SwiftSetting] = [.swiftLanguageMode(.v6)]

let package = Package(
    name: "swiftlet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swiftlet-runc", targets: ["SwiftletRunc"]),
        .executable(name: "swiftlet-cni", targets: ["SwiftletCNI"]),
        .library(name: "Runtime", targets: ["Runtime"]),
        .library(name: "CNI", targets: ["CNI"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
    ],
    targets: [
        // C system libraries (module maps only).
        systemLibrary("CSeccomp", pkgConfig: "libseccomp", apt: "libseccomp-dev"),
        systemLibrary("CCap", pkgConfig: "libcap", apt: "libcap-dev"),
        systemLibrary("CNL3", pkgConfig: "libnl-3.0", apt: "libnl-3-dev"),
        systemLibrary("CNLRoute", pkgConfig: "libnl-route-3.0", apt: "libnl-route-3-dev"),
        systemLibrary("CMnl", pkgConfig: "libmnl", apt: "libmnl-dev"),
        systemLibrary("CNftnl", pkgConfig: "libnftnl", apt: "libnftnl-dev"),

        // Low-level OS layer shared by every subsystem: syscall wrappers with typed errors.
        .target(
            name: "CSystemShim", path: "Sources/SystemCore/CSystemShim"),
        .target(
            name: "SystemCore",
            dependencies: ["CSystemShim", .product(name: "SystemPackage", package: "swift-system")],
            path: "Sources/SystemCore/SystemCore", swiftSettings: strict),

        // The OCI runtime: a single-threaded C stage for clone/setns/exec, the library, the CLI.
        .target(
            name: "CRuntimeShim", dependencies: ["CSystemShim"], path: "Sources/Runtime/CRuntimeShim",
            linkerSettings: [.linkedLibrary("cap")]),
        .target(
            name: "Runtime",
            dependencies: ["SystemCore", "CRuntimeShim", "CSeccomp", "CCap"],
            path: "Sources/Runtime/Runtime", swiftSettings: strict),
        .executableTarget(
            name: "SwiftletRunc",
            dependencies: ["Runtime", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Runtime/swiftlet-runc", swiftSettings: strict),

        // The CNI plugin: bridge + host-local in one binary.
        .target(
            name: "CNI",
            dependencies: ["SystemCore", "CNL3", "CNLRoute", "CMnl", "CNftnl"],
            path: "Sources/CNI/CNI", swiftSettings: strict),
        .executableTarget(
            name: "SwiftletCNI", dependencies: ["CNI"],
            path: "Sources/CNI/swiftlet-cni", swiftSettings: strict),

        .testTarget(
            name: "RuntimeTests", dependencies: ["Runtime", "SystemCore"],
            path: "Tests/RuntimeTests", swiftSettings: strict),
        .testTarget(
            name: "CNITests", dependencies: ["CNI"],
            path: "Tests/CNITests", swiftSettings: strict),
    ]
)
