/// The tally file's format, version 2: exactly 4096 bytes, written in place, never grown, so a
/// failure can be counted on a full disk (no new block is needed) and a write torn by a crash
/// cannot lose the count:
///
///     0     "pwdir-tally 2\n" and two zero bytes
///     16    slot 0 (2040 bytes)
///     2056  slot 1 (2040 bytes)
///
/// A write goes to the slot the current version is not in, with the next sequence number (odd
/// numbers in slot 1, even in slot 0; after u64 max comes 2, so the slots keep alternating); a
/// reader takes the valid slot that follows the other, or the higher one. A slot, little-endian:
///
///     0     sequence number (u64, never 0 in a valid slot)
///     8     checksum (u64, FNV-1a of bytes 16..<2040 and the sequence number)
///     16    failure lock time (i64 seconds, 0: none)
///     24    attempt count (u16), recovery present (u8), recovery tries (u8),
///           failures beyond the 64 kept one by one (u32)
///     32    reset generation (u64)
///     40    time of the newest failure beyond the 64 (i64; 0 when none)
///     48    64 attempts: time (i64), nonce (u64; 0: a counted failure)
///     1072  recovery: sent, expires (i64), claim nonce (u64), claim time (i64),
///           hash length (u8), hash (127 bytes, zero-padded)
///     1232  zero to the end
///
/// Decoding is strict: any byte out of place makes a slot invalid; a file with no valid slot is
/// damaged, and a damaged tally means a locked account, never "no failures".
public enum TallyCodec {
    public static let fileSize = 4096
    public static let magic = Array("pwdir-tally 2\n".utf8) + [0, 0]
    public static let slotSize = 2040
    public static let slotOffsets = [16, 16 + 2040]
    static let attemptsOffset = 48
    static let recoveryOffset = 1072
    static let hashCapacity = 127
    static let usedBytes = 1232
    /// Times beyond the year 9999 are not times.
    static let maxTime: Int64 = 253_402_300_799

    /// The tally in a file's bytes, and its sequence number; throws the reason it is damaged.
    /// The slot to prefer is chosen by the sequence numbers alone; the other is decoded only when
    /// the preferred one is not valid.
    public static func decode(_ bytes: [UInt8]) throws(TallyDamage) -> (tally: Tally, sequence: UInt64) {
        guard bytes.count == fileSize else { throw TallyDamage("it is \(bytes.count) bytes long, not \(fileSize)") }
        let result = bytes.withUnsafeBytes { (file) -> Result<(tally: Tally, sequence: UInt64), TallyDamage> in
            guard UnsafeRawBufferPointer(rebasing: file[0..<16]).elementsEqual(magic) else {
                return .failure(TallyDamage("it does not start with 'pwdir-tally 2'"))
            }
            let s0 = get(file, slotOffsets[0]), s1 = get(file, slotOffsets[1])
            let first = next(s0) == s1 ? 1 : next(s1) == s0 ? 0 : s1 > s0 ? 1 : 0
            var reasons = ["", ""]
            for index in [first, 1 - first] {
                do throws(TallyDamage) { return .success(try decodeSlot(file, index: index)) } catch { reasons[index] = error.reason }
            }
            return .failure(TallyDamage("no readable copy (\(reasons.joined(separator: "; ")))"))
        }
        return try result.get()
    }

    /// The sequence number after `sequence`: never 0 (an empty slot) and never 1 again (the
    /// first version's), and always of the other parity, so it goes to the other slot.
    static func next(_ sequence: UInt64) -> UInt64 {
        sequence == .max ? 2 : sequence + 1
    }

    /// The slot to write `tally` into after version `sequence`, and its bytes.
    public static func encodeSlot(_ tally: Tally, after sequence: UInt64) -> (offset: Int, bytes: [UInt8]) {
        let seq = next(sequence)
        var s = [UInt8](repeating: 0, count: slotSize)
        put(seq, into: &s, at: 0)
        put(UInt64(bitPattern: tally.lockedTime ?? 0), into: &s, at: 16)
        let attempts = tally.attempts.suffix(Tally.capacity)
        put16(UInt16(attempts.count), into: &s, at: 24)
        let overflow = UInt32(clamping: max(tally.overflow, 0))
        for i in 0..<4 { s[28 + i] = UInt8(truncatingIfNeeded: overflow >> (8 * i)) }
        put(tally.generation, into: &s, at: 32)
        put(UInt64(bitPattern: overflow == 0 ? 0 : tally.overflowNewest), into: &s, at: 40)
        for (i, a) in attempts.enumerated() {
            put(UInt64(bitPattern: a.time), into: &s, at: attemptsOffset + i * 16)
            put(a.nonce, into: &s, at: attemptsOffset + i * 16 + 8)
        }
        if let r = tally.recovery {
            let hash = Array(r.hash.utf8.prefix(hashCapacity))
            s[26] = 1
            s[27] = UInt8(clamping: r.tries)
            put(UInt64(bitPattern: r.sent), into: &s, at: recoveryOffset)
            put(UInt64(bitPattern: r.expires), into: &s, at: recoveryOffset + 8)
            put(r.claimNonce, into: &s, at: recoveryOffset + 16)
            put(UInt64(bitPattern: r.claimTime), into: &s, at: recoveryOffset + 24)
            s[recoveryOffset + 32] = UInt8(hash.count)
            s.replaceSubrange((recoveryOffset + 33)..<(recoveryOffset + 33 + hash.count), with: hash)
        }
        put(checksum(s, sequence: seq), into: &s, at: 8)
        return (slotOffsets[Int(seq % 2)], s)
    }

    /// A whole new file holding `tally` as version 1.
    public static func encodeFile(_ tally: Tally) -> [UInt8] {
        var bytes = magic + [UInt8](repeating: 0, count: fileSize - magic.count)
        let (offset, slot) = encodeSlot(tally, after: 0)
        bytes.replaceSubrange(offset..<(offset + slotSize), with: slot)
        return bytes
    }

    static func decodeSlot(_ file: UnsafeRawBufferPointer, index: Int) throws(TallyDamage) -> (tally: Tally, sequence: UInt64) {
        let slot = UnsafeRawBufferPointer(rebasing: file[slotOffsets[index]..<(slotOffsets[index] + slotSize)])
        let seq = get(slot, 0)
        if seq == 0 { throw TallyDamage("an empty copy") }
        guard Int(seq % 2) == index else { throw TallyDamage("a copy in the wrong place for its sequence number") }
        guard get(slot, 8) == checksum(slot, sequence: seq) else { throw TallyDamage("a copy with a bad checksum") }
        var t = Tally()
        let locked = Int64(bitPattern: get(slot, 16))
        if locked != 0 {
            guard isTime(locked) else { throw TallyDamage("a lock time out of range") }
            t.lockedTime = locked
        }
        let count = Int(get16(slot, 24))
        guard count <= Tally.capacity else { throw TallyDamage("\(count) attempts, more than \(Tally.capacity)") }
        let overflow = Int(UInt32(slot[28]) | UInt32(slot[29]) << 8 | UInt32(slot[30]) << 16 | UInt32(slot[31]) << 24)
        let overflowNewest = Int64(bitPattern: get(slot, 40))
        guard overflow == 0 ? overflowNewest == 0 : isTime(overflowNewest) else { throw TallyDamage("an overflow count without its time") }
        t.overflow = overflow
        t.overflowNewest = overflowNewest
        t.generation = get(slot, 32)
        for i in 0..<Tally.capacity {
            let time = Int64(bitPattern: get(slot, attemptsOffset + i * 16))
            let nonce = get(slot, attemptsOffset + i * 16 + 8)
            if i < count {
                guard isTime(time) else { throw TallyDamage("an attempt time out of range") }
                t.attempts.append(.init(time: time, nonce: nonce))
            } else if time != 0 || nonce != 0 {
                throw TallyDamage("an attempt beyond the count")
            }
        }
        let r = recoveryOffset
        switch slot[26] {
        case 0:
            guard slot[27] == 0, slot[r..<usedBytes].allSatisfy({ $0 == 0 }) else { throw TallyDamage("recovery bytes without a code") }
        case 1:
            let sent = Int64(bitPattern: get(slot, r)), expires = Int64(bitPattern: get(slot, r + 8))
            let claimNonce = get(slot, r + 16), claimTime = Int64(bitPattern: get(slot, r + 24))
            let length = Int(slot[r + 32])
            guard isTime(sent), isTime(expires), claimNonce == 0 ? claimTime == 0 : isTime(claimTime) else {
                throw TallyDamage("a recovery time out of range")
            }
            guard length <= hashCapacity, slot[(r + 33 + length)..<usedBytes].allSatisfy({ $0 == 0 }),
                  let hash = String(validating: slot[(r + 33)..<(r + 33 + length)], as: UTF8.self), Yescrypt.isWellFormed(hash) else {
                throw TallyDamage("a recovery code that is not a yescrypt hash")
            }
            guard slot[27] <= RecoveryCode.maxTries else { throw TallyDamage("recovery tries out of range") }
            t.recovery = RecoveryCode(hash: hash, sent: sent, expires: expires, tries: Int(slot[27]), claimNonce: claimNonce, claimTime: claimTime)
        default:
            throw TallyDamage("a bad recovery flag")
        }
        guard slot[usedBytes...].allSatisfy({ $0 == 0 }) else { throw TallyDamage("bytes after the record are not zero") }
        return (t, seq)
    }

    static func isTime(_ t: Int64) -> Bool { t > 0 && t <= maxTime }

    /// The slot's checksum: FNV-1a of the sequence number (little-endian) and bytes 16 on.
    static func checksum(_ slot: UnsafeRawBufferPointer, sequence: UInt64) -> UInt64 {
        var h = Checksum.offsetBasis
        for i in 0..<8 { h = (h ^ ((sequence >> (8 * UInt64(i))) & 0xFF)) &* Checksum.prime }
        for b in UnsafeRawBufferPointer(rebasing: slot[16...]) { h = (h ^ UInt64(b)) &* Checksum.prime }
        return h
    }

    static func checksum(_ slot: [UInt8], sequence: UInt64) -> UInt64 {
        slot.withUnsafeBytes { checksum($0, sequence: sequence) }
    }

    static func put(_ v: UInt64, into s: inout [UInt8], at o: Int) {
        for i in 0..<8 { s[o + i] = UInt8(truncatingIfNeeded: v >> (8 * i)) }
    }

    static func put16(_ v: UInt16, into s: inout [UInt8], at o: Int) {
        s[o] = UInt8(truncatingIfNeeded: v)
        s[o + 1] = UInt8(truncatingIfNeeded: v >> 8)
    }

    static func get(_ s: UnsafeRawBufferPointer, _ o: Int) -> UInt64 {
        UInt64(littleEndian: s.loadUnaligned(fromByteOffset: o, as: UInt64.self))
    }

    static func get16(_ s: UnsafeRawBufferPointer, _ o: Int) -> UInt16 {
        UInt16(littleEndian: s.loadUnaligned(fromByteOffset: o, as: UInt16.self))
    }
}

/// Why a tally file cannot be read safely.
public struct TallyDamage: Error, Equatable {
    public let reason: String
    init(_ reason: String) { self.reason = reason }
}
