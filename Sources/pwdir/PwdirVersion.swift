/// The version `pwdir --version` prints; the Debian package and the man pages carry the same.
enum PwdirVersion {
    static let string = "0.13.0"
}
