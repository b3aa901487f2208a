// libFuzzer target: the directory codec, on any bytes (scripts/fuzz.sh directory).
//
// Properties, each a crash when broken:
// - decode never traps; an error is `.directoryCorrupt` naming a line the file has;
// - whatever decodes re-encodes to bytes that decode to the same records, byte for byte, and
//   encoding those records again gives the same bytes;
// - on a file decode accepts, the module's lookup finds every record as decode read it and
//   nothing else, without an error;
// - on a file decode rejects, the module never searches it: DirectoryFile.lookup checks a
//   version the seal (users.seal) does not name whole, with decode, before any search, and only
//   pwdir's writers seal (what encode writes). The binary search alone reads only the lines it
//   probes; with PWDIR_FUZZ_STRICT_LOOKUP set, this target shows what it alone would return from
//   a rejected file (a second copy of a login far from the first, a bad line never probed).
import Glibc
import PwdirCore

private let path = "/fuzz/users"
private let strictLookup = getenv("PWDIR_FUZZ_STRICT_LOOKUP") != nil

@_cdecl("LLVMFuzzerTestOneInput")
public func directoryCodecFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let decoded: [UserRecord]
    do {
        decoded = try DirectoryCodec.decode(bytes, path: path)
    } catch {
        checkError(error, bytes)
        checkLookupOnRejectedFile(bytes, reason: "\(error)")
        return 0
    }
    checkRoundTrip(decoded)
    checkLookupOnAcceptedFile(decoded, bytes)
    return 0
}

private func checkError(_ error: PwdirError, _ bytes: UnsafeRawBufferPointer) {
    guard case let .directoryCorrupt(p, line, _) = error else { fail("decode threw \(error), not directoryCorrupt") }
    let lines = bytes.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
    guard p == path, line >= 1, line <= lines else { fail("decode's error names line \(line) of a file of \(lines) lines: \(error)") }
}

private func checkRoundTrip(_ records: [UserRecord]) {
    let encoded = DirectoryCodec.encode(records)
    let again: [UserRecord]
    do { again = try DirectoryCodec.decode(encoded, path: path) } catch { fail("decode rejects what encode wrote: \(error)") }
    guard sameBytes(again, records) else { fail("decode(encode(records)) differs from the records") }
    guard DirectoryCodec.encode(again) == encoded else { fail("encoding is not stable") }
}

private func checkLookupOnAcceptedFile(_ records: [UserRecord], _ bytes: UnsafeRawBufferPointer) {
    var logins: Set<[UInt8]> = []
    for r in records {
        logins.insert(Array(r.login.utf8))
        let found: UserRecord?
        do { found = try DirectoryCodec.lookup(r.login, in: bytes, path: path) } catch { fail("lookup of '\(r.login)' throws on a file decode accepts: \(error)") }
        guard let found, sameBytes([found], [r]) else { fail("lookup of '\(r.login)' does not return the record decode read") }
    }
    // Absent logins: around, between and beyond the present ones.
    var absent = ["0", "a", "zzzz", "~"]
    for r in records.prefix(8) { absent += [r.login + "0", r.login + "~", String(r.login.dropLast())] }
    for login in absent where !login.isEmpty && !logins.contains(Array(login.utf8)) {
        let found: UserRecord?
        do { found = try DirectoryCodec.lookup(login, in: bytes, path: path) } catch { fail("lookup of absent '\(login)' throws on a file decode accepts: \(error)") }
        if found != nil { fail("lookup finds '\(login)', which decode did not read") }
    }
}

private func checkLookupOnRejectedFile(_ bytes: UnsafeRawBufferPointer, reason: String) {
    let lines = bytes.split(separator: 0x0A, omittingEmptySubsequences: false)
    let uid = Array("uid=".utf8)
    var copies: [[UInt8]: Int] = [:]
    for line in lines.dropFirst() where line.starts(with: uid) {
        let login = Array(line.dropFirst(4).prefix { $0 != 0x09 })
        copies[login, default: 0] += 1
    }
    for (login, count) in copies.prefix(32) {
        guard let name = String(validating: login, as: UTF8.self) else { continue }
        guard let found = try? DirectoryCodec.lookup(name, in: bytes, path: path) else { continue }
        if strictLookup && count > 1 {
            fail("lookup returns a record for '\(name)', which the file holds \(count) times (decode: \(reason)); found: \(found)")
        }
        if strictLookup {
            fail("lookup returns '\(name)' from a file decode rejects: \(reason)")
        }
    }
}

/// Records compared as UTF-8 bytes (String's == would hide a change of normalisation).
private func sameBytes(_ a: [UserRecord], _ b: [UserRecord]) -> Bool {
    a.count == b.count && zip(a, b).allSatisfy { x, y in
        x.login.utf8.elementsEqual(y.login.utf8) && x.attributes == y.attributes  // Attribute's == is byte-wise
    }
}

private func fail(_ message: String) -> Never {
    fatalError("property broken: \(message)")
}
