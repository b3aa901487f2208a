import ArgumentParser
import Foundation
import PwdirCore

/// `pwdir import FILE.csv`: employees from a spreadsheet. The whole file is checked first and
/// every bad row reported with its line; if any row is bad nothing is written. Then one
/// atomic write.
struct ImportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "import",
        abstract: "Add (and with --update, modify) users from a CSV file, or from LDIF (--ldif).",
        discussion: "Columns, named by the header: login (required), full_name, email, recovery_email, role, manager, no_mailbox (yes: the email is fictitious), lang (en, fr), uid_number, gid_number, home_directory, login_shell (empty: the defaults, as for 'user add'). RFC 4180, UTF-8, optional BOM. With --ldif, the file is LDIF as 'pwdir export --ldif' writes it or ldapsearch prints it: every entry with a uid is an account, checked like a row; a new account keeps its {CRYPT} hash, forced change, history, locks and failed logins."
    )
    @OptionGroup var paths: PathOptions
    @Argument(help: "The CSV file (with --ldif, the LDIF file).") var file: String
    @Flag(help: "Modify users that already exist (otherwise they are errors).") var update = false
    @Flag(name: .customLong("send-credentials"), help: "Mail each new user their welcome kit (login and a temporary password).") var sendCredentials = false
    @Flag(help: "One JSON document on stdout.") var json = false
    @Flag(help: "The file is LDIF (from 'pwdir export --ldif' or ldapsearch), not CSV.") var ldif = false

    static let columns = ["login", "full_name", "email", "recovery_email", "role", "manager", "no_mailbox", "lang",
                          "uid_number", "gid_number", "home_directory", "login_shell"]

    func validate() throws {
        if ldif && update { throw ValidationError("--ldif adds accounts only; --update goes with CSV files") }
    }

    func run() throws {
        let c = try CommandContext(paths)
        try c.authority.require(.importFile)
        let (rows, shapeProblems, moved): ([Row], [Problem], [String: LDIF.Account])
        if ldif { (rows, shapeProblems, moved) = try Self.parseLDIF(file: file) } else { (rows, shapeProblems) = try Self.parse(file: file); moved = [:] }
        var added: [String] = [], modified: [String] = []
        let (update, file, now) = (self.update, self.file, c.now)
        let tallied = c.store.loginsWithTallies()  // nil: ask for every login
        let secondFactors = c.store.loginsWithSecondFactors()
        // uid numbers for new accounts (and the columns' values checked), when accounts are
        // published or numbers given; chosen under the writers' lock, from the records it holds
        let numbered = c.userdb != nil
            || (ldif ? moved.values.contains { $0.columns["uid_number"] != nil } : rows.first.map({ $0.columns["uid_number"] != nil }) == true)
        var ids: PosixIDs?
        let settings = c.settings
        var published: [UserRecord] = []
        var previousOf: [String: UserRecord] = [:]  // a modified user as it was (its old numbers withdrawn)
        try c.authority.perform(.importFile, target: nil, detail: file, outcome: { _ in "\(file): \(added.count) added, \(modified.count) modified" }) { () throws(PwdirError) in
            try c.store.updateAll { (records) throws(PwdirError) in
                if numbered { ids = c.posixIDs(of: records) }
                let original = records
                (added, modified) = try Self.apply(rows, to: &records, update: update, file: file, now: now, earlierProblems: shapeProblems,
                                                   kind: ldif ? "LDIF file" : "CSV file",
                                                   staleGeneration: { login in
                                                       guard let tallied else { return c.store.tally(login).tally?.generation ?? 0 }
                                                       guard !tallied.isEmpty, tallied.contains(login) else { return 0 }
                                                       return c.store.tally(login).tally?.generation ?? 0
                                                   },
                                                   posix: ids == nil ? nil : { (record, request, isNew) throws(PwdirError) in
                                                       if isNew { _ = try request.assign(to: &record, ids: &ids!, settings: settings) }
                                                       else if !request.isEmpty { try request.apply(to: &record, ids: &ids!, settings: settings) }
                                                   })
                // What an LDIF account brings besides the columns: its hash, history, locks, times.
                if !moved.isEmpty {
                    let newLogins = Set(added)
                    for i in records.indices where newLogins.contains(records[i].login) {
                        guard let account = moved[records[i].login] else { continue }
                        Self.bring(account, into: &records[i], now: now)
                        // Its failures and lock from failures, before the accounts exist: a tally
                        // left if the write below fails belongs to no account, and is stale for
                        // any later one (its generation is below theirs).
                        if !account.failures.isEmpty || account.failureLock != nil {
                            try c.store.restoreFailures(account.login, failures: account.failures, lockedTime: account.failureLock,
                                                        generation: records[i].resetGeneration)
                        }
                    }
                }
                // A second factor left under a new login (a removal cut short) is not the new account's.
                for login in added where secondFactors.contains(login) { _ = try c.store.removeSecondFactor(login) }
                UntilExit.keep(records)
                if c.userdb != nil {
                    let changed = Set(added).union(modified), wasModified = Set(modified)
                    published = records.filter { changed.contains($0.login) }
                    previousOf = Dictionary(original.lazy.filter { wasModified.contains($0.login) }.map { ($0.login, $0) }, uniquingKeysWith: { a, _ in a })
                }
            }
        }
        UntilExit.keep(rows)
        let publishedOK = c.publish { (folder) throws(PwdirError) in for r in published { try folder.publish(r, previous: previousOf[r.login]) } }
        var results: CredentialsBatch.Results?
        if sendCredentials && !added.isEmpty {
            let newUsers = Set(added)
            results = try CredentialsBatch(context: c, mustChange: true, action: .sendCredentials).send(to: try c.store.allRecords().filter { newUsers.contains($0.login) })
        }
        if json {
            struct Report: Encodable { var added: [String]; var modified: [String]; var credentials: [CredentialsBatch.Outcome]? }
            try Output.json(Report(added: added, modified: modified, credentials: results?.outcomes))
        } else {
            print("imported \(file): \(added.count) added, \(modified.count) modified")
            try results?.report(json: false)
        }
        if let results, !results.allSent { throw ExitCode(1) }
        if !publishedOK { throw ExitCode(1) }
    }

    /// One data row: its first line in the file and its values by column.
    struct Row {
        var line: Int
        var fields: [String]
        /// The column of each header name (shared by every row).
        var columns: [String: Int]

        subscript(_ name: String) -> String? { columns[name].map { fields[$0] } }
        subscript(_ column: Int?) -> String? { column.map { fields[$0] } }
    }

    /// A bad row: its line and what is wrong with it.
    typealias Problem = (line: Int, text: String)

    /// Reads and splits the file. Encoding and header problems fail here; rows with the wrong
    /// number of fields are returned as problems, to be reported with every other bad row.
    static func parse(file: String) throws -> (rows: [Row], problems: [Problem]) {
        guard FileKind.isRegularFile(file), let data = FileManager.default.contents(atPath: file) else {
            throw PwdirError.invalidValue(field: "CSV file", reason: "cannot read \(file) (it must be a regular file)")
        }
        var bytes = [UInt8](data)
        if bytes.starts(with: [0xEF, 0xBB, 0xBF]) { bytes.removeFirst(3) }
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw PwdirError.invalidValue(field: "CSV file", reason: "\(file) is not UTF-8 text")
        }
        var reader = CSVRows(bytes)
        guard let header = reader.next()?.fields.map({ Self.trimmed($0).lowercased() }) else {
            throw PwdirError.invalidValue(field: "CSV file", reason: "\(file) is empty; its first line must name the columns")
        }
        guard header.contains("login") else {
            throw PwdirError.invalidValue(field: "CSV file", reason: "\(file) line 1: the header has no 'login' column (columns: \(columns.joined(separator: ", ")))")
        }
        for name in header where !columns.contains(name) {
            throw PwdirError.invalidValue(field: "CSV file", reason: "\(file) line 1: unknown column '\(PwdirError.printable(name))' (columns: \(columns.joined(separator: ", ")))")
        }
        if Set(header).count != header.count {
            throw PwdirError.invalidValue(field: "CSV file", reason: "\(file) line 1: a column is named twice")
        }
        var rows: [Row] = []
        var problems: [Problem] = []
        let columnIndex = Dictionary(uniqueKeysWithValues: header.enumerated().map { ($0.element, $0.offset) })
        while let record = reader.next() {
            let fields = record.fields
            if fields.count == 1 && fields[0].isEmpty { continue }  // an empty line
            if let problem = record.problem {
                problems.append((record.line, problem))
                continue
            }
            if fields.count != header.count {
                problems.append((record.line, "\(fields.count) fields where the header has \(header.count) (a quote not closed?)"))
                continue
            }
            rows.append(Row(line: record.line, fields: fields, columns: columnIndex))
        }
        return (rows, problems)
    }

    /// Reads an LDIF file as rows of the CSV columns (checked like any import), and each
    /// account as read, for what the columns cannot carry.
    static func parseLDIF(file: String) throws -> (rows: [Row], problems: [Problem], accounts: [String: LDIF.Account]) {
        guard FileKind.isRegularFile(file), let data = FileManager.default.contents(atPath: file) else {
            throw PwdirError.invalidValue(field: "LDIF file", reason: "cannot read \(file) (it must be a regular file)")
        }
        let entries = try LDIF.parse([UInt8](data))
        let columnIndex = Dictionary(uniqueKeysWithValues: columns.enumerated().map { ($0.element, $0.offset) })
        var rows: [Row] = []
        var problems: [Problem] = []
        var accounts: [String: LDIF.Account] = [:]
        for e in entries {
            let account: LDIF.Account?
            do throws(LDIF.Problem) { account = try LDIF.account(e) } catch {
                problems.append((e.line, error.text))
                continue
            }
            guard let account else { continue }  // ou=people, the policy, …
            rows.append(Row(line: e.line, fields: columns.map { account.columns[$0] ?? "" }, columns: columnIndex))
            if accounts[account.login] == nil { accounts[account.login] = account }
        }
        if rows.isEmpty && problems.isEmpty {
            throw PwdirError.invalidValue(field: "LDIF file", reason: "\(file) holds no account (no entry with a uid)")
        }
        return (rows, problems, accounts)
    }

    /// Puts what an LDIF account brings into its new record: the attributes kept as they are
    /// (the password's and the locks'), its creation time, and its failure-reset time when it
    /// had one (else none: its failures all count).
    static func bring(_ account: LDIF.Account, into record: inout UserRecord, now: Int64) {
        var history: [String] = []
        for a in account.kept {
            switch a.name {
            case UserRecord.Key.history: history.append(a.value)
            case UserRecord.Key.failuresResetCount:
                // Above the count the import gave it (a tally left under the login stays stale).
                if let n = UInt64(a.value), n > record.resetGeneration { record[a.name] = a.value }
            default: record[a.name] = a.value
            }
        }
        if !history.isEmpty { record.setValues(UserRecord.Key.history, history) }
        // A password with no change time ages from now (maxage, temp_ttl), not never.
        if record[UserRecord.Key.password] != nil && record[UserRecord.Key.passwordChanged] == nil {
            record[UserRecord.Key.passwordChanged] = GeneralizedTime.format(now)
        }
        if !account.kept.contains(where: { $0.name == UserRecord.Key.failuresReset }) { record[UserRecord.Key.failuresReset] = nil }
    }

    /// The login of a row as the checks read it.
    static func trimmedLogin(_ row: Row, at column: Int?) -> String { row[column] ?? "" }

    /// `s` without the whitespace around it (Foundation's `.whitespaces`); a value with none,
    /// nearly every one, is returned as it is without going through Foundation.
    static func trimmed(_ s: String) -> String {
        guard let first = s.utf8.first, let last = s.utf8.last else { return s }
        func plain(_ b: UInt8) -> Bool { b > 0x20 && b < 0x7F }
        if plain(first) && plain(last) { return s }
        return s.trimmingCharacters(in: .whitespaces)
    }

    /// Validates every row against the directory and applies them; throws with every problem
    /// found (nothing is applied then).
    /// `staleGeneration`: the reset generation of a tally left under a new login (by a removal cut
    /// short), which the new account's must go above.
    static func apply(_ rows: [Row], to records: inout [UserRecord], update: Bool, file: String, now: Int64, earlierProblems: [Problem] = [],
                      kind: String = "CSV file",
                      staleGeneration: (String) -> UInt64 = { _ in 0 },
                      posix: ((inout UserRecord, PosixRequest, _ isNew: Bool) throws(PwdirError) -> Void)? = nil) throws(PwdirError) -> (added: [String], modified: [String]) {
        var problems: [Problem] = earlierProblems
        var index: [String: Int] = [:]
        var folded: [String: String] = [:]  // lower-cased login: the login in the directory
        for (i, r) in records.enumerated() {
            index[r.login] = i
            folded[LoginName.folded(r.login)] = r.login
        }
        // The logins of the file, for a manager not in the directory (worked out if one is named).
        var fileLoginsIfNeeded: Set<String>?
        func inFile(_ login: String) -> Bool {
            if fileLoginsIfNeeded == nil { fileLoginsIfNeeded = Set(rows.compactMap { $0["login"] }) }
            return fileLoginsIfNeeded!.contains(login)
        }
        // Each column's place, looked up once (the same for every row).
        let at = { (name: String) in rows.first?.columns[name] }
        let (loginAt, nameAt, mailAt, recoveryAt) = (at("login"), at("full_name"), at("email"), at("recovery_email"))
        let (roleAt, managerAt, noMailboxAt, langAt) = (at("role"), at("manager"), at("no_mailbox"), at("lang"))
        let (uidAt, gidAt, homeAt, shellAt) = (at("uid_number"), at("gid_number"), at("home_directory"), at("login_shell"))
        var seen: Set<String> = []  // folded logins met so far
        seen.reserveCapacity(rows.count)
        var added: [String] = [], modified: [String] = []
        added.reserveCapacity(rows.count)
        var edited = records
        let created = GeneralizedTime.format(now)
        for row in rows {
            func bad(_ why: String) { problems.append((row.line, why)) }
            let v = row
            let login = v[loginAt] ?? ""
            do { try LoginName.validate(login) } catch { bad(error.message); continue }
            let lower = LoginName.folded(login)
            guard seen.insert(lower).inserted else {
                let first = rows.first { LoginName.folded(Self.trimmedLogin($0, at: loginAt)) == lower }?.line ?? row.line
                bad("login '\(login)' already on line \(first) (logins differing only in letter case count as one)"); continue
            }
            let existing = index.isEmpty ? nil : index[login]
            if existing != nil && !update { bad("user '\(login)' already exists (use --update to modify existing users)"); continue }
            if existing == nil, !folded.isEmpty, let other = folded[lower] {
                bad("login '\(login)' differs from '\(other)' only in letter case; two such accounts would look like one"); continue
            }
            var record = existing.map { edited[$0] } ?? UserRecord(login: login)
            var rowOK = true
            func field(_ column: Int?) -> String? { v[column].map(Self.trimmed) }
            if let name = field(nameAt) {
                do {
                    try FullName.validate(name, field: "full_name")
                    record.fullName = name.isEmpty ? nil : name
                } catch { bad(error.message); rowOK = false }
            }
            for (column, at, set) in [("email", mailAt, { (r: inout UserRecord, a: String?) in r.mail = a }),
                                      ("recovery_email", recoveryAt, { (r: inout UserRecord, a: String?) in r.recoveryMail = a })] {
                guard let address = field(at) else { continue }
                if address.isEmpty { set(&record, nil); continue }
                do { try MailAddress.validate(address, field: column); set(&record, address) } catch { bad(error.message); rowOK = false }
            }
            if let role = field(roleAt), !role.isEmpty {
                if let r = Role(rawValue: role.lowercased()) { record.role = r } else { bad("role '\(PwdirError.printable(role))' is not one of user, manager, admin"); rowOK = false }
            }
            if let manager = field(managerAt) {
                if manager.isEmpty { record.manager = nil }
                else if !LoginName.isValid(manager) { bad("manager '\(PwdirError.printable(manager))' is not a valid login"); rowOK = false }
                else if manager == login { bad("a user cannot be their own manager"); rowOK = false }
                else if index[manager] == nil && !inFile(manager) { bad("manager '\(manager)' is neither in the directory nor in the file"); rowOK = false }
                else { record.manager = manager }
            }
            if let flag = field(noMailboxAt)?.lowercased() {
                switch flag {
                case "yes", "y", "true", "1": record.hasNoMailbox = true
                case "no", "n", "false", "0", "": record.hasNoMailbox = false
                default: bad("no_mailbox must be yes or no, not '\(PwdirError.printable(flag))'"); rowOK = false
                }
            }
            if let lang = field(langAt)?.lowercased() {
                if lang.isEmpty { record.language = nil }
                else if let l = MailLanguage(rawValue: lang) { record.language = l }
                else { bad("lang must be one of \(MailLanguage.allCases.map(\.rawValue).joined(separator: ", ")), not '\(PwdirError.printable(lang))'"); rowOK = false }
            }
            if let posix {
                func given(_ column: Int?) -> String? { field(column).flatMap { $0.isEmpty ? nil : $0 } }  // empty: the default, or as it is
                var request = PosixRequest(uid: given(uidAt), gid: given(gidAt), home: given(homeAt), shell: given(shellAt))
                request.field = ("uid_number", "gid_number", "home_directory", "login_shell")
                do {
                    try request.check()
                    if rowOK { try posix(&record, request, existing == nil) }
                } catch { bad(error.message); rowOK = false }
            }
            guard rowOK else { continue }
            if let i = existing {
                if edited[i] != record { modified.append(login) }
                edited[i] = record
            } else {
                record[UserRecord.Key.created] = created
                record.resetFailures(now: now, above: staleGeneration(login), formatted: created)
                edited.append(record)
                added.append(login)
            }
        }
        if !problems.isEmpty {
            let listed = problems.sorted { $0.line < $1.line }.prefix(50).map { "line \($0.line): \($0.text)" }
            throw .invalidValue(field: kind, reason: "\(file): \(problems.count) bad \(kind == "LDIF file" ? "entr" : "row")\(problems.count == 1 ? (kind == "LDIF file" ? "y" : "") : (kind == "LDIF file" ? "ies" : "s")), nothing was imported: " + listed.joined(separator: "; ") + (problems.count > 50 ? "; …" : ""))
        }
        records = edited  // the store keeps them sorted
        return (added, modified)
    }
}

