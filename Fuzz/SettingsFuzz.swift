// libFuzzer target: the settings parser, pwdir.conf (scripts/fuzz.sh settings).
//
// Properties, each a crash when broken:
// - parse never traps, on any text; bad input is a `.settings` error naming a line the text
//   has, and every warning names such a line too;
// - parsed values are in the ranges the parser documents;
// - settings printed back as pwdir.conf lines (the printer below, as an administrator would
//   write them) parse to the same settings, with no warning;
// - CRLF line ends read as LF ones: the same settings, or an error on the same line.
import PwdirCore

private let path = "/fuzz/pwdir.conf"
private let defaults = Settings()

@_cdecl("LLVMFuzzerTestOneInput")
public func settingsFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeBufferPointer(start: data, count: size)
    // Settings.load refuses text that is not UTF-8; parse itself takes any String.
    let text = String(validating: bytes, as: UTF8.self) ?? String(decoding: bytes, as: UTF8.self)
    let lines = text.utf8.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
    let result = outcome(text)
    switch result {
    case let .failure(error):
        guard case let .settings(p, line, _) = error else { fail("parse threw \(error), not a settings error") }
        guard p == path, line >= 1, line <= lines else { fail("the error names line \(line) of \(lines): \(error)") }
    case let .success((settings, warnings)):
        for w in warnings {
            guard let n = lineNumber(in: w), n >= 1, n <= lines else { fail("a warning names no line of the \(lines): \(w)") }
        }
        checkRanges(settings)
        let printed = render(settings)
        switch outcome(printed) {
        case let .success((again, w)):
            guard again == settings, w.isEmpty else { fail("printed and parsed again, the settings differ:\n\(printed)") }
        case let .failure(error):
            fail("printed settings do not parse: \(error)\n\(printed)")
        }
    }
    let crlf = String(decoding: text.utf8.flatMap { $0 == 0x0A ? [0x0D, 0x0A] : [$0] }, as: UTF8.self)
    switch (result, outcome(crlf)) {
    case let (.success(a), .success(b)):
        guard a.0 == b.0 else { fail("CRLF line ends change the settings") }
    case let (.failure(.settings(_, l1, _)), .failure(.settings(_, l2, _))):
        guard l1 == l2 else { fail("CRLF line ends move the error from line \(l1) to \(l2)") }
    default:
        fail("CRLF line ends change whether the settings parse")
    }
    return 0
}

private func outcome(_ text: String) -> Result<(Settings, [String]), PwdirError> {
    Result { () throws(PwdirError) in
        let (s, w) = try Settings.parse(text, path: path)
        return (s, w)
    }
}

/// "settings PATH line N: ..." → N.
private func lineNumber(in warning: String) -> Int? {
    let prefix = "settings \(path) line "
    guard warning.hasPrefix(prefix) else { return nil }
    return Int(warning.dropFirst(prefix.count).prefix { $0.isASCII && $0.isNumber })
}

private func checkRanges(_ s: Settings) {
    let day: Int64 = 86400
    let ok = (0...1000).contains(s.deny) && (0...(3650 * day)).contains(s.unlockTime)
        && (0...(3650 * day)).contains(s.failInterval) && (1...11).contains(s.yescryptCost)
        && (6...512).contains(s.minlen) && (0...400).contains(s.remember)
        && (60...(7 * day)).contains(s.recoveryTTL) && (64...256).contains(s.generateBits)
        && (0...36500).contains(s.maxage) && (0...36500).contains(s.warnage)
        && (0...(365 * day)).contains(s.tempTTL) && (1...600).contains(s.mailTimeout)
        && (0...day).contains(s.recoveryInterval)
        && s.sendmail.first?.hasPrefix("/") == true && !s.sendmail.contains { $0.isEmpty || $0.contains(" ") }
        && s.templatesDir.map { $0.hasPrefix("/") } ?? true && s.auditLog.map { $0.hasPrefix("/") } ?? true
        && s.qualityOptions.allSatisfy { o in Settings.qualityKeys.contains { o.utf8.starts(with: ($0 + "=").utf8) } }
    guard ok else { fail("a value out of range: \(s)") }
}

/// The settings as pwdir.conf lines, one per setting.
private func render(_ s: Settings) -> String {
    var lines = [
        "deny = \(s.deny)", "unlock_time = \(s.unlockTime)", "fail_interval = \(s.failInterval)",
        "yescrypt_cost = \(s.yescryptCost)", "minlen = \(s.minlen)", "remember = \(s.remember)",
        "recovery_ttl = \(s.recoveryTTL)", "generate_bits = \(s.generateBits)", "maxage = \(s.maxage)",
        "warnage = \(s.warnage)", "temp_ttl = \(s.tempTTL)", "mail_timeout = \(s.mailTimeout)",
        "recovery_interval = \(s.recoveryInterval)", "recovery = \(s.recovery ? "yes" : "no")",
        "lang = \(s.lang.rawValue)", "sendmail = \(s.sendmail.joined(separator: " "))",
    ]
    // The default (pwdir@ + the host's name) need not be a valid address on a host without a dot.
    if s.mailFrom != defaults.mailFrom { lines.append("mail_from = \(s.mailFrom)") }
    if let t = s.templatesDir { lines.append("templates_dir = \(t)") }
    if let a = s.auditLog { lines.append("audit_log = \(a)") }
    for o in s.qualityOptions {
        let eq = o.utf8.firstIndex(of: UInt8(ascii: "="))!
        lines.append("\(o[..<eq]) = \(o[o.utf8.index(after: eq)...])")
    }
    return lines.joined(separator: "\n") + "\n"
}

private func fail(_ message: String) -> Never {
    fatalError("property broken: \(message)")
}
