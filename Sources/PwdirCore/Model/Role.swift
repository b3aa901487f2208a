/// What a directory user may do with `pwdir` under sudo.
public enum Role: String, CaseIterable, Sendable {
    case user, manager, admin
}
