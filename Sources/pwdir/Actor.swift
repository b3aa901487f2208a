import Foundation
import PwdirCore

/// Who runs pwdir, answered in one place: root acting directly is the superuser; through sudo
/// the actor is SUDO_USER (looked up in the directory by `Authority`). pwdir needs euid 0.
enum Actor {
    /// Run by a person through sudo (not by root itself).
    static var underSudo: Bool { sudoUser != nil }

    /// Refuses, through sudo, a command only root itself runs (`what` it does, `command` its name).
    static func requireRootItself(_ what: String, command: String) throws(PwdirError) {
        if underSudo { throw .notAllowed("only root \(what): run 'pwdir \(command)' as root, not through sudo") }
    }

    /// SUDO_USER, when pwdir runs as root through sudo for someone other than root.
    static var sudoUser: String? {
        guard geteuid() == 0, let user = ProcessInfo.processInfo.environment["SUDO_USER"], !user.isEmpty, user != "root" else { return nil }
        return user
    }

    static var isRoot: Bool { geteuid() == 0 }
}
