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
        .executable(name: "pwdir-chkpwd", targets: ["pwdir-chkpwd"]),
        .executable(name: "pwdir-bench", targets: ["pwdir-bench"]),
        .executable(name: "pwdird", targets: ["pwdird"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        .target(name: "CPwdirCrypt", linkerSettings: [.linkedLibrary("crypt")]),
        .target(name: "CPwdirSys"),
        .target(name: "CPwdirPAM", linkerSettings: [.linkedLibrary("pam")]),
        .target(name: "CPwdirQuality", linkerSettings: [.linkedLibrary("pwquality")]),
        .target(name: "CPwdirRuntimeEnv"),
        // TOTP codes (liboath); the module links it.
        .target(name: "CPwdirOath", linkerSettings: [.linkedLibrary("oath")]),
        // The enrolment's QR code (libqrencode): the command only, never the module.
        .target(name: "CPwdirQR", linkerSettings: [.linkedLibrary("qrencode")]),
        // libldap: the command and pwdird, never the module (it brings gnutls and sasl along).
        .target(name: "CPwdirLDAP", linkerSettings: [.linkedLibrary("ldap"), .linkedLibrary("lber")]),
        .target(name: "PwdirCore", dependencies: ["CPwdirCrypt", "CPwdirSys", "CPwdirQuality", "CPwdirOath"]),
        .target(
            name: "PamPwdir",
            dependencies: ["PwdirCore", "CPwdirPAM", "CPwdirRuntimeEnv"],
            exclude: ["exports.map"],
            swiftSettings: [.unsafeFlags(["-static-stdlib"])],
            linkerSettings: [.unsafeFlags([
                "-static-stdlib",
                "-Xlinker", "-z", "-Xlinker", "nodelete",
                "-Xlinker", "--version-script=\(exportsMap)",
            ])]
        ),
        // The setuid helper for callers without root: its own runtime, like the module's, and
        // blind to SWIFT_* variables.
        .executableTarget(
            name: "pwdir-chkpwd",
            dependencies: ["PwdirCore", "CPwdirRuntimeEnv"],
            swiftSettings: [.unsafeFlags(["-static-stdlib"])],
            linkerSettings: [.unsafeFlags(["-static-stdlib"])]
        ),
        // Mail for the command (and, through the command, for the module): Foundation and
        // swift-mustache are allowed here, never in the module.
        .target(name: "PwdirMail", dependencies: ["PwdirCore", .product(name: "Mustache", package: "swift-mustache")]),
        .executableTarget(
            name: "pwdir",
            dependencies: [
                "PwdirCore", "PwdirMail", "PwdirLDAP", "CPwdirQR",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // Its own runtime too: a host running pwdir needs no Swift toolchain (make install, the .deb).
            swiftSettings: [.unsafeFlags(["-static-stdlib"])],
            linkerSettings: [.unsafeFlags(["-static-stdlib"])]
        ),
        // The LDAP store: for the command and pwdird.
        .target(name: "PwdirLDAP", dependencies: ["PwdirCore", "CPwdirLDAP"]),
        // The daemon that holds the LDAP connection for the module: its own runtime, as the command.
        .executableTarget(
            name: "pwdird",
            dependencies: ["PwdirCore", "PwdirLDAP"],
            swiftSettings: [.unsafeFlags(["-static-stdlib"])],
            linkerSettings: [.unsafeFlags(["-static-stdlib"])]
        ),
        // A PAM application in a few lines (pam_start_confdir, a scripted conversation), for the
        // bench and the tests.
        .target(name: "PamHarness", dependencies: ["PwdirCore", "CPwdirPAM"]),
        .executableTarget(name: "pwdir-bench", dependencies: ["PwdirCore", "CPwdirPAM", "PamHarness"]),
        .target(name: "PwdirTestSupport", dependencies: ["PwdirCore", "PamHarness"], path: "Tests/PwdirTestSupport"),
        .testTarget(name: "PwdirCoreTests", dependencies: ["PwdirCore", "PwdirTestSupport"]),
        .testTarget(name: "PwdirMailTests", dependencies: ["PwdirMail", "PwdirCore", "PwdirTestSupport"]),
        .testTarget(name: "PamModuleTests", dependencies: ["PwdirCore", "CPwdirPAM", "PamHarness", "PwdirTestSupport"]),
    ]
)
