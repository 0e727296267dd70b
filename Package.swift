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

/// kubeletd's link inputs (link-order.txt, private-text.ld), as absolute paths for the linker.
let kubeletdLinkFiles = "\(Context.packageDirectory)/Sources/kubeletd/kubeletd"

/// Link flags for the small C programs that run once per pod or per container.
let perPodProgram: [LinkerSetting] = [.unsafeFlags(["-static-executable", "-Xlinker", "--gc-sections"])]

let package = Package(
    name: "swiftlet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "swiftlet-runc", targets: ["SwiftletRunc"]),
        .executable(name: "swiftlet-cni", targets: ["SwiftletCNI"]),
        .library(name: "Runtime", targets: ["Runtime"]),
        .library(name: "CNI", targets: ["CNI"]),
        .executable(name: "swiftlet-image", targets: ["SwiftletImage"]),
        .executable(name: "swiftlet-cri", targets: ["SwiftletCRI"]),
        .executable(name: "swiftlet-pause", targets: ["SwiftletPause"]),
        .executable(name: "swiftlet-monitor", targets: ["SwiftletMonitor"]),
        .executable(name: "swiftlet-control-plane", targets: ["SwiftletControlPlane"]),
        .executable(name: "kubeletd", targets: ["Kubeletd"]),
        .executable(name: "swiftlet-node", targets: ["SwiftletNode"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-system", from: "1.8.1"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-nio-http2", from: "1.46.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1", from: "1.7.4"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
        .package(url: "https://github.com/grpc/grpc-swift-2", from: "2.4.3"),
        .package(url: "https://github.com/grpc/grpc-swift-nio-transport", from: "2.9.2"),
        .package(url: "https://github.com/grpc/grpc-swift-protobuf", from: "2.4.1"),
    ],
    targets: [
        // C system libraries (module maps only).
        systemLibrary("CSeccomp", pkgConfig: "libseccomp", apt: "libseccomp-dev"),
        systemLibrary("CCap", pkgConfig: "libcap", apt: "libcap-dev"),
        systemLibrary("CNL3", pkgConfig: "libnl-3.0", apt: "libnl-3-dev"),
        systemLibrary("CNLRoute", pkgConfig: "libnl-route-3.0", apt: "libnl-route-3-dev"),
        systemLibrary("CMnl", pkgConfig: "libmnl", apt: "libmnl-dev"),
        systemLibrary("CNftnl", pkgConfig: "libnftnl", apt: "libnftnl-dev"),
        systemLibrary("CArchive", pkgConfig: "libarchive", apt: "libarchive-dev"),
        // zlib with a preset dictionary (SPDY/3 header compression in the CRI streaming server).
        systemLibrary("CZlib", pkgConfig: "zlib", apt: "zlib1g-dev"),

        // Low-level OS layer shared by every subsystem: syscall wrappers with typed errors.
        .target(
            name: "CSystemShim", path: "Sources/SystemCore/CSystemShim"),
        .target(
            name: "SystemCore",
            dependencies: ["CSystemShim", .product(name: "SystemPackage", package: "swift-system")],
            path: "Sources/SystemCore/SystemCore", swiftSettings: strict),

        // gRPC client plumbing shared by every client of a Go gRPC server (etcd, containerd).
        .target(
            name: "GRPCSupport",
            dependencies: [
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
            ],
            path: "Sources/SystemCore/GRPCSupport", swiftSettings: strict),

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
            path: "Sources/Runtime/swiftlet-runc", swiftSettings: strict,
            // Run once per container verb: a fully static release binary starts in a fraction
            // of the time (no ld.so symbol binding for libstdc++, libseccomp, libcap).
            linkerSettings: [.unsafeFlags(["-static-executable"], .when(configuration: .release))]),

        // The image store: registry pulls, archive import, layer unpack, overlayfs snapshots.
        .target(
            name: "ImageStore",
            dependencies: [
                "SystemCore", "CArchive",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/Runtime/ImageStore", swiftSettings: strict),
        .executableTarget(
            name: "SwiftletImage",
            dependencies: ["ImageStore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Runtime/swiftlet-image", swiftSettings: strict),

        // CRI v1: generated protobuf/gRPC code (committed, see proto/), the services, the daemon,
        // and the two tiny C programs that run once per pod / per container.
        .target(
            name: "CRIProto",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            path: "Sources/Runtime/CRIProto", swiftSettings: strict),
        .target(
            name: "CRI",
            dependencies: [
                "Runtime", "ImageStore", "CRIProto", "SystemCore", "CZlib",
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Runtime/CRI", swiftSettings: strict),
        .executableTarget(
            name: "SwiftletCRI",
            dependencies: ["CRI", "DaemonMain", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/Runtime/swiftlet-cri", swiftSettings: strict),
        // One of each per pod / per container: static (no ld.so, no shared Swift runtime mapped),
        // unused sections dropped, so each costs about as much memory as a plain C program.
        .target(name: "CSmallProgram", path: "Sources/Runtime/CSmallProgram"),
        .executableTarget(
            name: "SwiftletPause", dependencies: ["CSmallProgram"], path: "Sources/Runtime/swiftlet-pause",
            linkerSettings: perPodProgram),
        .executableTarget(
            name: "SwiftletMonitor", dependencies: ["CSmallProgram"], path: "Sources/Runtime/swiftlet-monitor",
            linkerSettings: perPodProgram),

        // ControlPlaneLite: storage (SQLite embedded, etcd v3), the apiserver, the CLI.
        .target(
            name: "EtcdProto",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            path: "Sources/ControlPlaneLite/EtcdProto", swiftSettings: strict),
        .target(
            name: "APIStorage",
            dependencies: [
                "EtcdProto", "GRPCSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/ControlPlaneLite/APIStorage", swiftSettings: strict),
        .target(
            name: "APIServer",
            dependencies: [
                "APIStorage", "StreamRelay",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTP2", package: "swift-nio-http2"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/ControlPlaneLite/APIServer", swiftSettings: strict),
        .executableTarget(
            name: "SwiftletControlPlane",
            dependencies: ["APIServer", "APIStorage", "DaemonMain", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/ControlPlaneLite/swiftlet-control-plane", swiftSettings: strict),

        // kubeletd: the kubelet (reaches the runtime only through CRI) and its node CLI.
        .target(
            name: "GRPCHealthProto",
            dependencies: [
                .product(name: "SwiftProtobuf", package: "swift-protobuf"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCProtobuf", package: "grpc-swift-protobuf"),
            ],
            path: "Sources/SystemCore/GRPCHealthProto", swiftSettings: strict),
        // HTTP upgrade proxying (exec/attach/port-forward) and accept-failure back-off, shared by
        // the apiserver and the kubelet.
        // The entry point of the daemons (kubeletd, swiftlet-cri, the control plane): the command
        // on the concurrency pool, the main thread waiting (no dispatch_main/pthread_exit).
        .target(
            name: "DaemonMain",
            dependencies: [.product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/SystemCore/DaemonMain", swiftSettings: strict),
        .target(
            name: "StreamRelay",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/SystemCore/StreamRelay", swiftSettings: strict),
        .target(
            name: "KubeletCore",
            dependencies: [
                "SystemCore", "StreamRelay", "CRIProto", "GRPCSupport", "GRPCHealthProto", "CZlib",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "GRPCCore", package: "grpc-swift-2"),
                .product(name: "GRPCNIOTransportHTTP2", package: "grpc-swift-nio-transport"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
            ],
            path: "Sources/kubeletd/KubeletCore", swiftSettings: strict),
        .executableTarget(
            name: "Kubeletd",
            dependencies: ["KubeletCore", "SystemCore", "DaemonMain", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/kubeletd/kubeletd", exclude: ["link-order.txt", "private-text.ld"], swiftSettings: strict,
            // Release: one static executable like the upstream kubelet's (no loader, no
            // relocation pass over 3 MB of tables at start, ~4 MiB less resident), linked by lld
            // in link-order.txt's order so that the code a running kubelet executes sits together
            // (scripts/link-order.sh; scripts/build-release.sh gives every function its section).
            linkerSettings: [.unsafeFlags([
                "-static-executable", "-use-ld=lld",
                "-Xlinker", "--symbol-ordering-file=\(kubeletdLinkFiles)/link-order.txt",
                "-Xlinker", "--no-warn-symbol-ordering",
                "-Xlinker", "--script=\(kubeletdLinkFiles)/private-text.ld",
            ], .when(configuration: .release))]),
        .executableTarget(
            name: "SwiftletNode",
            dependencies: ["KubeletCore", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            path: "Sources/kubeletd/swiftlet-node", swiftSettings: strict),

        // The CNI plugin: bridge + host-local in one binary.
        .target(
            name: "CNI",
            dependencies: ["SystemCore", "CNL3", "CNLRoute", "CMnl", "CNftnl"],
            path: "Sources/CNI/CNI", swiftSettings: strict),
        .executableTarget(
            name: "SwiftletCNI", dependencies: ["CNI"],
            path: "Sources/CNI/swiftlet-cni", swiftSettings: strict),

        .testTarget(
            name: "RuntimeTests", dependencies: ["Runtime", "SystemCore", "CgroupTestSupport"],
            path: "Tests/RuntimeTests", swiftSettings: strict),
        // Test support shared by RuntimeTests and KubeletTests: a temp directory imitating cgroupfs.
        .target(
            name: "CgroupTestSupport", dependencies: ["SystemCore"],
            path: "Tests/CgroupTestSupport", swiftSettings: strict),
        .testTarget(
            name: "CNITests", dependencies: ["CNI"],
            path: "Tests/CNITests", swiftSettings: strict),
        .testTarget(
            name: "ImageStoreTests", dependencies: ["ImageStore", "SystemCore"],
            path: "Tests/ImageStoreTests", swiftSettings: strict),
        .testTarget(
            name: "CRITests", dependencies: ["CRI", "CRIProto"],
            path: "Tests/CRITests", swiftSettings: strict),
        .testTarget(
            name: "KubeletTests", dependencies: ["KubeletCore", "CgroupTestSupport"],
            path: "Tests/KubeletTests", swiftSettings: strict),
        .testTarget(
            name: "APIStorageTests",
            dependencies: ["APIStorage", .product(name: "GRDB", package: "GRDB.swift")],
            path: "Tests/APIStorageTests", swiftSettings: strict),
        .testTarget(
            name: "APIServerTests", dependencies: ["APIServer", "APIStorage"],
            path: "Tests/APIServerTests", swiftSettings: strict),
    ]
)
