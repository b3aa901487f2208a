import ArgumentParser
import Foundation
import PwdirCore

/// `pwdir log`: reads the audit trail.
struct LogCommand: ParsableCommand {
    static let configuration = CommandConfiguration(commandName: "log", abstract: "Show the audit trail: who did what, to whom, when, with what result.")
    @OptionGroup var paths: PathOptions
    @Option(help: ArgumentHelp("Only events about (or by) this login.", valueName: "login")) var user: String?
    @Option(help: ArgumentHelp("Only events since TIME: 2026-11-21, 2026-11-21T10:00:00Z, or 30m, 2h, 7d ago.", valueName: "time")) var since: String?
    @Flag(help: "One JSON document on stdout.") var json = false

    func validate() throws {
        if let since, Self.parseSince(since, now: 0) == nil {
            throw ValidationError("--since takes a date (2026-11-21), a time (2026-11-21T10:00:00Z) or an age (30m, 2h, 7d)")
        }
    }

    func run() throws {
        let c = try CommandContext(paths)
        try c.authority.require(.log)
        let bytes = try AuditLog(settings: c.settings, directoryPath: c.paths.directory).read()
        let cutoff = since.flatMap { Self.parseSince($0, now: c.now) }
        var events: [[String: String]] = []
        var pending: [String: Int] = [:]  // id: index of its "pending" line in events
        for line in bytes.split(separator: 0x0A) where !line.isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: String] else { continue }
            if let user, object["target"] != user && object["actor"] != user { continue }
            if let cutoff, let t = object["time"], let at = Self.parseISO(t), at < cutoff { continue }
            // A change is two lines: "pending", then how it ended. Show one, the ending.
            if let id = object["id"] {
                if object["result"] == "pending" {
                    pending[id] = events.count
                } else if let at = pending.removeValue(forKey: id) {
                    var ended = object
                    ended["time"] = events[at]["time"]
                    events[at] = ended
                    continue
                }
            }
            events.append(object)
        }
        for (_, at) in pending {
            events[at]["result"] = "interrupted"
            events[at]["detail"] = (events[at]["detail"].map { $0 + "; " } ?? "") + "the command stopped before saying how it ended: the change may have been applied"
        }
        if json {
            try Output.json(["events": events])
            return
        }
        for e in events {
            let cells = [e["time"] ?? "", e["actor"] ?? "", e["action"] ?? "", e["target"] ?? "-", e["result"] ?? "", e["detail"] ?? ""]
            print(cells.map(Output.shown).joined(separator: "  "))
        }
    }

    static func parseISO(_ s: String) -> Int64? {
        let digits = s.filter(\.isNumber)
        if digits.count == 8 { return GeneralizedTime.parse(digits + "000000Z") }
        if digits.count == 14 { return GeneralizedTime.parse(digits + "Z") }
        return nil
    }

    /// An absolute date or time, or an age ("30m", "2h", "7d") counted back from `now`.
    static func parseSince(_ s: String, now: Int64) -> Int64? {
        if let unit = s.last, let n = Int64(s.dropLast()), n >= 0 {
            switch unit {
            case "s": return now - n
            case "m": return now - n * 60
            case "h": return now - n * 3600
            case "d": return now - n * 86400
            default: break
            }
        }
        return parseISO(s)
    }
}
