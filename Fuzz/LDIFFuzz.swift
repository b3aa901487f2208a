// libFuzzer target: LDIF read by `pwdir import --ldif` (scripts/fuzz.sh ldif).
//
// Properties, each a crash when broken:
// - parse never traps; neither does reading an account from any entry it returns;
// - an account read from an entry has a login, and its failure times are times.
import PwdirCore

@_cdecl("LLVMFuzzerTestOneInput")
public func ldifFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let entries = try? LDIF.parse(input) else { return 0 }
    for e in entries {
        guard let account = try? LDIF.account(e) else { continue }
        guard !account.login.isEmpty else { fatalError("property broken: an account without a login from \(e)") }
        guard account.failures.allSatisfy({ $0 >= 0 }) else { fatalError("property broken: failure times \(account.failures)") }
    }
    return 0
}
