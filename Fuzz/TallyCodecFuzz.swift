// libFuzzer target: the tally codec (scripts/fuzz.sh tally).
//
// The first byte of an input picks how the rest becomes a tally file:
// - even: the rest is the file as it is (almost always refused: the size, the magic, the
//   checksums);
// - odd: the rest is the file from byte 16 on, after the magic, zero-padded or cut to 4096
//   bytes; bit 1 and bit 2 set the checksum of slot 0 and slot 1 to the right value, so that
//   mutations reach the checks of the fields behind it.
//
// Properties, each a crash when broken:
// - decode never traps; a decoded tally's fields are in range (the format's limits);
// - the slot decode read is exactly what encodeSlot writes for that tally and sequence (one
//   tally, one encoding: nothing decode accepts is lost on the next write);
// - a new file holding the tally (encodeFile) decodes to it, as version 1;
// - the update recipe (encodeSlot after the sequence, written in place) reads back as that
//   tally with the next sequence.
import PwdirCore

private let fileSize = TallyCodec.fileSize
private let magic = Array("pwdir-tally 2\n".utf8) + [0, 0]
private let slotOffsets = [16, 16 + 2040]
private let slotSize = 2040
private let maxTime: Int64 = 253_402_300_799  // 9999-12-31T23:59:59Z

@_cdecl("LLVMFuzzerTestOneInput")
public func tallyCodecFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let mode = input.first else {
        check([])
        return 0
    }
    if mode & 1 == 0 {
        check(Array(input.dropFirst()))
    } else {
        var file = magic + input.dropFirst().prefix(fileSize - magic.count)
        file += [UInt8](repeating: 0, count: fileSize - file.count)
        for (i, offset) in slotOffsets.enumerated() where mode & (2 << i) != 0 {
            let sequence = get(file, offset)
            put(checksum(Array(file[offset..<(offset + slotSize)]), sequence: sequence), into: &file, at: offset + 8)
        }
        check(file)
    }
    return 0
}

private func check(_ file: [UInt8]) {
    let tally: Tally, sequence: UInt64
    do { (tally, sequence) = try TallyCodec.decode(file) } catch { return }
    checkRanges(tally, sequence)

    let (_, slot) = TallyCodec.encodeSlot(tally, after: sequence &- 1)
    guard slotOffsets.contains(where: { file[$0..<($0 + slotSize)].elementsEqual(slot) }) else {
        fail("the slot decoded is not what encodeSlot writes for its tally (sequence \(sequence)): \(tally)")
    }

    do {
        let (t, s) = try TallyCodec.decode(TallyCodec.encodeFile(tally))
        guard t == tally, s == 1 else { fail("encodeFile(t) decodes to \(t), version \(s); t: \(tally)") }
    } catch { fail("decode refuses encodeFile(t): \(error.reason); t: \(tally)") }

    // After the largest sequence number comes 2 (1 is the first version's; parity picks the slot).
    let expected = sequence == .max ? 2 : sequence + 1
    var updated = file
    let (offset, next) = TallyCodec.encodeSlot(tally, after: sequence)
    updated.replaceSubrange(offset..<(offset + slotSize), with: next)
    do {
        let (t, s) = try TallyCodec.decode(updated)
        guard t == tally, s == expected else { fail("after an update, decode reads \(t), version \(s), not version \(expected): \(tally)") }
    } catch { fail("decode refuses the file after an update: \(error.reason)") }
}

private func checkRanges(_ t: Tally, _ sequence: UInt64) {
    func isTime(_ v: Int64) -> Bool { v > 0 && v <= maxTime }
    guard sequence != 0 else { fail("sequence 0 decoded") }
    guard t.attempts.count <= Tally.capacity else { fail("\(t.attempts.count) attempts") }
    guard t.attempts.allSatisfy({ isTime($0.time) }) else { fail("an attempt time out of range: \(t.attempts)") }
    guard t.lockedTime.map(isTime) ?? true else { fail("lock time \(t.lockedTime!)") }
    guard t.overflow >= 0, t.overflow <= Int(UInt32.max) else { fail("overflow \(t.overflow)") }
    guard t.overflow == 0 ? t.overflowNewest == 0 : isTime(t.overflowNewest) else { fail("overflow \(t.overflow) at \(t.overflowNewest)") }
    if let r = t.recovery {
        guard isTime(r.sent), isTime(r.expires) else { fail("recovery times \(r.sent), \(r.expires)") }
        guard r.claimNonce == 0 ? r.claimTime == 0 : isTime(r.claimTime) else { fail("claim \(r.claimNonce) at \(r.claimTime)") }
        guard r.tries >= 0, r.tries <= RecoveryCode.maxTries else { fail("recovery tries \(r.tries)") }
        guard r.hash.utf8.count <= 127, Yescrypt.isWellFormed(r.hash) else { fail("recovery hash '\(r.hash)'") }
    }
}

/// FNV-1a, 64 bits, of the sequence (8 bytes, little-endian) and the slot from byte 16 on: the
/// format's checksum, written out again here so the fuzzer can fix it after a mutation.
private func checksum(_ slot: [UInt8], sequence: UInt64) -> UInt64 {
    var h: UInt64 = 0xCBF2_9CE4_8422_2325
    for i in 0..<8 { h = (h ^ UInt64(UInt8(truncatingIfNeeded: sequence >> (8 * i)))) &* 0x100_0000_01B3 }
    for b in slot[16...] { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
    return h
}

private func get(_ s: [UInt8], _ o: Int) -> UInt64 {
    (0..<8).reduce(0) { $0 | UInt64(s[o + $1]) << (8 * $1) }
}

private func put(_ v: UInt64, into s: inout [UInt8], at o: Int) {
    for i in 0..<8 { s[o + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
}

private func fail(_ message: String) -> Never {
    fatalError("property broken: \(message)")
}
