/// FNV-1a, 64 bits, over byte sequences: catches torn writes and flipped bits in the files pwdir
/// writes in place (the tally's slots, the directory's seal). Those files are root's: this is not
/// against an adversary, who would need root.
enum Checksum {
    static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325
    static let prime: UInt64 = 0x100_0000_01B3

    static func fnv1a<S: Sequence>(_ bytes: S, continuing h: UInt64 = offsetBasis) -> UInt64 where S.Element == UInt8 {
        var h = h
        for b in bytes { h = (h ^ UInt64(b)) &* prime }
        return h
    }
}
