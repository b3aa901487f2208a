// swift-tools-version:6.0
import PackageDescription

// The module is loaded into sshd, login, sudo: hosts with no Swift runtime. It carries its own
// (static stdlib), exports only the pam_sm_* entry points (version script) and is never
// unloaded (-z nodelete), because libpam dlcloses modules at pam_end and the Swift runtime
// cannot be torn down safely.
let exportsMap = Context.packageDirectory + "/Sources/PamPwdir/exports.map"

let package = Package(
    name: "pwdir",
    platforms: [.macOS(.v13)],
    products: [
        .library(name: "pam_pwdir", type: .dynamic, targets: ["PamPwdir"]),
        .executable(name: "pwdir", targets: ["pwdir"]),
        .executable(name: "pwdir-bench", targets: ["pwdir-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        .target(name: "CPwdirCrypt", linkerSettings: [.linkedLibrary("crypt")]),
        .target(name: "CPwdirPAM", linkerSettings: [.linkedLibrary("pam")]),
        .target(name: "CPwdirQuality", linkerSettings: [.linkedLibrary("pwquality")]),
        .target(name: "PwdirCore", dependencies: ["CPwdirCrypt", "CPwdirQuality"]),
        .target(
            name: "PamPwdir",
            dependencies: ["PwdirCore", "CPwdirPAM"],
            exclude: ["exports.map"],
            swiftSettings: [.unsafeFlags(["-static-stdlib"])],
            linkerSettings: [.unsafeFlags([
                "-static-stdlib",
                "-Xlinker", "-z", "-Xlinker", "nodelete",
                "-Xlinker", "--version-script=\(exportsMap)",
            ])]
        ),
        .executableTarget(
            name: "pwdir",
            dependencies: ["PwdirCore", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .executableTarget(name: "pwdir-bench", dependencies: ["PwdirCore", "CPwdirPAM", "PwdirTestSupport"]),
        .target(name: "PwdirTestSupport", dependencies: ["PwdirCore", "CPwdirPAM"], path: "Tests/PwdirTestSupport"),
        .testTarget(name: "PwdirCoreTests", dependencies: ["PwdirCore", "PwdirTestSupport"]),
        .testTarget(name: "PamModuleTests", dependencies: ["PwdirCore", "CPwdirPAM", "PwdirTestSupport"]),
    ]
)
