/// One line of the audit trail. Never a password, a hash or a code.
public struct AuditEvent: Equatable, Sendable {
    public var time: Int64
    /// Who acted: "root", a directory login (through sudo), or "pam:SERVICE" for the module.
    public var actor: String
    public var action: String
    public var target: String?
    /// ok, refused or failed.
    public var result: String
    public var detail: String?
    /// Pairs the "pending" line written before a change with the line saying how it ended.
    public var id: String?

    public init(time: Int64, actor: String, action: String, target: String?, result: String, detail: String? = nil, id: String? = nil) {
        self.time = time
        self.actor = actor
        self.action = action
        self.target = target
        self.result = result
        self.detail = detail
        self.id = id
    }

    /// `{"time":"…","actor":"…",…}` with RFC 8259 escaping.
    public var jsonLine: String {
        var fields = [("time", Self.iso(time)), ("actor", actor), ("action", action)]
        if let target { fields.append(("target", target)) }
        fields.append(("result", result))
        if let detail { fields.append(("detail", detail)) }
        if let id { fields.append(("id", id)) }
        return JSONText.object(fields.map { ($0.0, JSONText.string($0.1)) })
    }

    /// The same event as one syslog line.
    public var syslogLine: String {
        "\(action) \(result)" + (target.map { " target=\($0)" } ?? "") + " actor=\(actor)" + (detail.map { " (\($0))" } ?? "")
    }

    public static func iso(_ epoch: Int64) -> String {
        let c = Array(GeneralizedTime.format(epoch))
        return "\(String(c[0..<4]))-\(String(c[4..<6]))-\(String(c[6..<8]))T\(String(c[8..<10])):\(String(c[10..<12])):\(String(c[12..<14]))Z"
    }
}
