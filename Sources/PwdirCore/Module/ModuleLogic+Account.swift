/// pam_sm_acct_mgmt: may this account be used now? Locked, no password yet, an unused temporary
/// password expired, or a password change due; a warning when the password expires soon.
extension ModuleLogic {
    public func accountManagement(user: String) -> ModuleResult {
        if withoutRoot { return askChecker("account", user, password: nil) }
        guard let settings = loadSettings() else { return unavailable(nil, user: user) }
        let record: UserRecord
        do throws(PwdirError) {
            // The record authenticate read through this handle, if it did: a login reads the
            // directory once.
            var found = try keptRecord(user)
            if found == nil { found = try store.record(user) }
            guard let found else { return .userUnknown }
            record = found
        } catch { return unavailable(error, user: user) }
        let reading = store.tally(user)
        if case let .unavailable(error) = reading { return unavailable(error, user: user) }
        var damage: String?
        if case let .damaged(why) = reading { damage = why }
        let state = AccountState(record: record, tally: reading.tally, tallyDamage: damage, settings: settings, now: now)
        switch state.lockReason {
        case .administrator?, .failures?, .damagedTally?:
            let reason = state.lockReason!
            host.log(reason == .damagedTally ? .err : .notice, "account \(user) refused: locked (\(reason.rawValue))" + (damage.map { ": \($0); 'pwdir unlock \(user)' makes a new tally" } ?? ""))
            if !options.silent { host.tell(Self.lockedMessage(until: state.lockedUntil), isError: true) }
            return .permissionDenied
        case .noPassword?:
            host.log(.notice, "account \(user) refused: no password set")
            if !options.silent { host.tell(Self.noPasswordMessage, isError: true) }
            return .permissionDenied
        case .temporaryPasswordExpired?:
            host.log(.notice, "account \(user) refused: temporary password expired unused")
            host.tell(Self.temporaryExpiredMessage, isError: true)
            return .accountExpired
        case nil:
            break
        }
        if record.mustChangePassword {
            host.log(.info, "account \(user) must change its password")
            host.tell(record.isTemporaryPassword ? Self.mustChangeMessage : Self.changeRequiredMessage, isError: true)
            return .newAuthTokenRequired
        }
        if state.passwordExpired {
            host.log(.info, "account \(user): password expired")
            host.tell(Self.expiredMessage, isError: true)
            return .newAuthTokenRequired
        }
        if let expires = state.passwordExpires, settings.warnage > 0, expires &- now <= Int64(settings.warnage) &* 86400 {
            host.tell(Self.expiresSoonMessage(days: max(1, (expires &- now &+ 86399) / 86400)), isError: false)
        }
        return .success
    }

    static let keptRecordKey = "pam_pwdir_record"

    /// Keeps the record a successful authenticate read, for acct_mgmt in the same handle.
    func keepForAccountCheck(_ record: UserRecord) {
        var line: [UInt8] = []
        DirectoryCodec.encodeLine(record, into: &line)
        host.keep(Self.keptRecordKey, line)
        for i in line.indices { line[i] = 0 }
    }

    /// The record kept by authenticate for `user`, if this handle authenticated them.
    func keptRecord(_ user: String) throws(PwdirError) -> UserRecord? {
        guard host.authenticatedUser == user, var line = host.kept(Self.keptRecordKey), line.last == 0x0A else { return nil }
        defer { for i in line.indices { line[i] = 0 } }
        let decoded = line.withUnsafeBytes { bytes in
            Result { () throws(PwdirError) in try DirectoryCodec.decodeLine(bytes, 0..<(bytes.count - 1), line: { 0 }, path: "(kept record)") }
        }
        let record = try decoded.get()
        return record.login == user ? record : nil
    }
}
