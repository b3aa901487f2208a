// `make bench`: what a login costs next to the one yescrypt hash it cannot avoid, with 1,000
// and 100,000 users in the directory. Figures are ratios measured in one run, interleaved,
// so a noisy machine moves both sides alike.
#if canImport(Glibc)
import Glibc
#endif
import CPwdirPAM
import PwdirCore
import PamHarness

// `pwdir-bench --ldap SETTINGS USER PASSWORD [ROUNDS]` (scripts/bench-ldap.py, which starts slapd
// and pwdird): a login through pwdird and slapd next to one on the flat file and one raw hash.
let ldapMode = CommandLine.arguments.count >= 5 && CommandLine.arguments[1] == "--ldap"
let rounds = ldapMode ? (CommandLine.arguments.count > 5 ? Int(CommandLine.arguments[5]) ?? 15 : 15)
    : (CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 15 : 15)
let password = ldapMode ? CommandLine.arguments[4] : "Correct-Horse-42"

/// A fixture whose directory holds `count` users (all sharing one hash: only lookup cost matters).
func fixture(users count: Int) throws -> PamFixture {
    let f = try PamFixture(settings: "deny = 0\n")  // every failure writes its tally, none locks
    let hash = try Yescrypt.hashNew(SecretBytes(Array(password.utf8)), cost: 5)
    var records: [UserRecord] = []
    records.reserveCapacity(count)
    for i in 0..<count {
        var r = UserRecord(login: "user\(i)", attributes: [.init("cn", "User Number \(i)"), .init("mail", "user\(i)@example.org")])
        r.setPassword(hash: hash, now: 1_800_000_000, mustChange: false)
        records.append(r)
    }
    try f.directory.update { (all) throws(PwdirError) in all = records }
    return f
}

func timeIt(_ body: () throws -> Void) rethrows -> UInt64 {
    let t0 = monotonicNow()
    try body()
    return monotonicNow() - t0
}

func ms(_ ns: Double) -> String {
    let v = (ns / 1e4).rounded() / 100
    return "\(v) ms"
}

func ratio(_ a: Double, _ b: Double) -> String {
    let v = (a / b * 1000).rounded() / 1000
    return "\(v)"
}

let setting = try Yescrypt.makeSetting(cost: 5)
let secret = SecretBytes(Array(password.utf8))

if ldapMode {
    let settingsPath = CommandLine.arguments[2], user = CommandLine.arguments[3]
    let fd = open(settingsPath, O_RDONLY)
    guard fd >= 0 else { fatalError("cannot read \(settingsPath)") }
    var bytes = [UInt8](repeating: 0, count: 65536)
    let n = read(fd, &bytes, bytes.count)
    close(fd)
    let text = String(decoding: bytes.prefix(max(n, 0)), as: UTF8.self)
    let ldap = try PamFixture(settings: text)
    let flat = try fixture(users: 1)
    var raw: [UInt64] = [], viaLDAP: [UInt64] = [], viaFile: [UInt64] = [], failedLDAP: [UInt64] = []
    func login(_ f: PamFixture, _ name: String, _ typed: String, expect: Int32) throws {
        let c = try f.client(name, answers: [typed])
        guard c.authenticate() == expect, expect != PAM_SUCCESS || c.acctMgmt() == PAM_SUCCESS else { fatalError("login of \(name) did not give \(expect)") }
    }
    for _ in 0..<rounds {
        raw.append(timeIt { _ = try? Yescrypt.hash(secret, setting: setting) })
        viaFile.append(try timeIt { try login(flat, "user0", password, expect: PAM_SUCCESS) })
        viaLDAP.append(try timeIt { try login(ldap, user, password, expect: PAM_SUCCESS) })
        failedLDAP.append(try timeIt { try login(ldap, user, "wrong password", expect: PAM_AUTH_ERR) })
    }
    let r = median(raw), f = median(viaFile), l = median(viaLDAP), x = median(failedLDAP)
    print("login through pwdird + slapd (\(rounds) rounds, medians, interleaved; start+auth+acct+end in process)")
    print("  raw yescrypt hash (cost 5):           \(ms(r))")
    print("  login on the flat file:               \(ms(f))   (\(ratio(f, r)) x the raw hash)")
    print("  login via pwdird + slapd:             \(ms(l))   (\(ratio(l, r)) x the raw hash; slapd hashes once, pwdird and the module none)")
    print("  failed login via pwdird + slapd:      \(ms(x))   (\(ratio(x, r)) x the raw hash)")
    exit(0)
}

print("pwdir bench: \(rounds) rounds each, medians, interleaved")

for count in [1_000, 100_000] {
    let t0 = monotonicNow()
    let f = try fixture(users: count)
    let built = monotonicNow() - t0
    let probe = "user\(count / 3)"
    var raw: [UInt64] = [], login: [UInt64] = [], failed: [UInt64] = [], lookup: [UInt64] = [], acct: [UInt64] = []
    for _ in 0..<rounds {
        raw.append(timeIt { _ = try? Yescrypt.hash(secret, setting: setting) })
        login.append(try timeIt {
            let c = try f.client(probe, answers: [password])
            guard c.authenticate() == PAM_SUCCESS, c.acctMgmt() == PAM_SUCCESS else { fatalError("login failed") }
        })
        failed.append(try timeIt {
            let c = try f.client(probe, answers: ["wrong password"])
            guard c.authenticate() == PAM_AUTH_ERR else { fatalError("wrong password accepted") }
        })
        lookup.append(try timeIt { _ = try f.directory.lookup(probe) })
        acct.append(try timeIt {
            let c = try f.client(probe)
            guard c.acctMgmt() == PAM_SUCCESS else { fatalError("acct failed") }
        })
    }
    let r = median(raw), l = median(login), x = median(failed), k = median(lookup)
    print("")
    print("\(count) users (directory \(f.readFile(f.db)?.count ?? 0) bytes, written in \(ms(Double(built))))")
    print("  raw yescrypt hash (cost 5):          \(ms(r))")
    print("  in-process login (start+auth+acct+end): \(ms(l))")
    print("  failed login:                         \(ms(x))")
    print("  directory lookup alone:               \(ms(k))")
    print("  acct_mgmt alone (start+acct+end):     \(ms(median(acct)))")
    let paired = median(zip(login, raw).map { UInt64(Double($0) / Double($1) * 1e6) }) / 1e6
    print("  login / raw hash:                     \(ratio(l, r))   (medians; goal <= 1.05; pam_unix measures about 2.0)")
    print("  login / raw hash, paired by round:    \((paired * 1000).rounded() / 1000)   (each login against the hash measured next to it)")
    print("  everything but the hash, per login:   \(ms(l - r))")
    print("  failed login / raw hash:              \(ratio(x, r))   (a failure writes one small tally file, whatever the user count)")
}
