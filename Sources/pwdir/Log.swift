import ArgumentParser
import Foundation
import PwdirCore

/// `pwdir log`: reads the audit trail.
struct Log: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Show the audit trail: who did what, to whom, when, with what result.")
    @OptionGroup var paths: Paths
    @Option(help: ArgumentHelp("Only events about (or by) this login.", valueName: "login")) var user: String?
    @Option(help: ArgumentHelp("Only events since TIME: 2026-11-21, 2026-11-21T10:00:00Z, or 30m, 2h, 7d ago.", valueName: "time")) var since: String?
    @Flag(help: "One JSON document on stdout.") var json = false

    func validate() throws {
        if let since, Self.parseSince(since, now: 0) == nil {
            throw ValidationError("--since takes a date (2026-11-21), a time (2026-11-21T10:00:00Z) or an age (30m, 2h, 7d)")
        }
    }

    func run() throws {
        let settings = try paths.settings()
        let auth = try paths.authority()
        try auth.require(.log)
        let log = AuditLog(settings: settings, directory: paths.directory)
        let bytes = try log.read()
        let cutoff = since.flatMap { Self.parseSince($0, now: systemNow()) }
        var events: [[String: String]] = []
        for line in bytes.split(separator: 0x0A) where !line.isEmpty {
            guard let object = try? JSONSerialization.jsonObject(with: Data(line)) as? [String: String] else { continue }
            if let user, object["target"] != user && object["actor"] != user { continue }
            if let cutoff, let t = object["time"], let at = Self.parseISO(t), at < cutoff { continue }
            events.append(object)
        }
        if json {
            try printJSON(["events": events])
            return
        }
        for e in events {
            let cells = [e["time"] ?? "", e["actor"] ?? "", e["action"] ?? "", e["target"] ?? "-", e["result"] ?? "", e["detail"] ?? ""]
            print(cells.joined(separator: "  "))
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
