/// What a command built that would live until the process ends anyway, kept rather than freed
/// (as git's UNLEAK): giving a million imported records back to malloc one at a time costs
/// half a second at the end of `pwdir import`, and returns memory to nobody, since the process
/// exits when the command returns. Only for values made once per run, never in a loop.
enum UntilExit {
    nonisolated(unsafe) private static var kept: [Any] = []

    static func keep(_ value: Any) { kept.append(value) }
}
