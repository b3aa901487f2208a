// libFuzzer target: the second factor's two files (scripts/fuzz.sh totp).
//
// The first byte of an input picks the file: even, the enrolment (`users.totp/LOGIN`); odd, the
// state (`users.totp-state/LOGIN`); the rest is the file.
//
// Properties, each a crash when broken:
// - decode never traps; what it accepts is in range (a key of 10 to 64 bytes, ids of 16 hex
//   digits or none, recovery hashes well formed, a set id exactly when there are codes);
// - what decode accepts, encode writes so that decode reads it back the same (nothing accepted
//   is lost or changed on the next write).
import PwdirCore

@_cdecl("LLVMFuzzerTestOneInput")
public func totpCodecFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let mode = input.first else { return 0 }
    let file = Array(input.dropFirst())
    if mode & 1 == 0 {
        guard let e = try? TotpCodec.decodeEnrolment(file) else { return 0 }
        guard e.key.count >= 10, e.key.count <= 64 else { fail("a key of \(e.key.count) bytes") }
        guard isID(e.keyID, empty: false), isID(e.codesID, empty: true) else { fail("ids '\(e.keyID)', '\(e.codesID)'") }
        guard e.codesID.isEmpty == e.codes.isEmpty, e.codes.count <= 32 else { fail("\(e.codes.count) codes, set '\(e.codesID)'") }
        guard e.codes.allSatisfy({ $0.tag.utf8.count == TotpRecoveryCode.tagLength && Yescrypt.isWellFormed($0.hash) }) else { fail("codes \(e.codes)") }
        do {
            let again = try TotpCodec.decodeEnrolment(TotpCodec.encode(e))
            guard again.key.constantTimeEquals(e.key), again.keyID == e.keyID, again.created == e.created,
                  again.codesID == e.codesID, again.codes == e.codes else { fail("encode changed the enrolment") }
        } catch { fail("decode refuses what encode wrote: \(error.reason)") }
    } else {
        guard let s = try? TotpCodec.decodeState(file) else { return 0 }
        guard isID(s.keyID, empty: true), isID(s.codesID, empty: true), s.lastStep >= -1, s.lastUsed >= 0 else { fail("state \(s)") }
        do {
            guard try TotpCodec.decodeState(TotpCodec.encode(s)) == s else { fail("encode changed the state \(s)") }
        } catch { fail("decode refuses what encode wrote: \(error.reason)") }
    }
    return 0
}

private func isID(_ id: String, empty: Bool) -> Bool {
    id.isEmpty ? empty : id.utf8.count == 16 && id.utf8.allSatisfy { ($0 >= 0x30 && $0 <= 0x39) || ($0 >= 0x61 && $0 <= 0x66) }
}

private func fail(_ message: String) -> Never {
    fatalError("property broken: \(message)")
}
