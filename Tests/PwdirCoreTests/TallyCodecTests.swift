#if canImport(Glibc)
import Glibc
#endif
import PwdirCore
import PwdirTestSupport
import XCTest

/// The tally's two slots: the version read is the one that follows the other (after u64 max
/// comes 2), a copy sits in the slot of its sequence number's parity, and one update always
/// goes to the slot the current version is not in.
final class TallyCodecTests: XCTestCase {
    func tally(failures: Int) -> Tally {
        var t = Tally()
        t.attempts = (0..<failures).map { .init(time: 1_800_000_000 + Int64($0), nonce: 0) }
        t.generation = 7
        return t
    }

    /// A file whose slots hold `first` (sequence a) and `second` (sequence b), each at the
    /// offset its parity gives.
    func file(_ first: (Tally, UInt64), _ second: (Tally, UInt64)) -> [UInt8] {
        var bytes = TallyCodec.magic + [UInt8](repeating: 0, count: TallyCodec.fileSize - TallyCodec.magic.count)
        for (t, sequence) in [first, second] {
            let (offset, slot) = TallyCodec.encodeSlot(t, after: sequence &- 1)
            bytes.replaceSubrange(offset..<(offset + TallyCodec.slotSize), with: slot)
        }
        return bytes
    }

    func testUpdatesKeepCountingPastTheLargestSequenceNumber() throws {
        var bytes = file((tally(failures: 1), .max - 1), (tally(failures: 2), .max))
        XCTAssertEqual(try TallyCodec.decode(bytes).sequence, .max)
        for n in 3...6 {
            let current = try TallyCodec.decode(bytes)
            let (offset, slot) = TallyCodec.encodeSlot(tally(failures: n), after: current.sequence)
            bytes.replaceSubrange(offset..<(offset + TallyCodec.slotSize), with: slot)
            let read = try TallyCodec.decode(bytes)
            XCTAssertEqual(read.tally.attempts.count, n, "update \(n) after sequence \(current.sequence) was not read back")
        }
        XCTAssertEqual(try TallyCodec.decode(bytes).sequence, 5, "after u64 max: 2, 3, 4, 5")
    }

    func testTheNewerSlotWinsEvenWhenItsNumberIsSmaller() throws {
        let bytes = file((tally(failures: 3), 2), (tally(failures: 1), .max))
        let read = try TallyCodec.decode(bytes)
        XCTAssertEqual(read.sequence, 2)
        XCTAssertEqual(read.tally.attempts.count, 3)
    }

    func testUnrelatedNumbersFallBackToTheHigher() throws {
        let bytes = file((tally(failures: 3), 10), (tally(failures: 1), 41))
        XCTAssertEqual(try TallyCodec.decode(bytes).sequence, 41)
    }

    func testACopyInTheWrongSlotIsNotRead() throws {
        var bytes = file((tally(failures: 1), 2), (tally(failures: 2), 3))
        // The newer copy (3, odd) moved into slot 0, over the older: no valid copy is left there.
        let odd = Array(bytes[TallyCodec.slotOffsets[1]..<(TallyCodec.slotOffsets[1] + TallyCodec.slotSize)])
        bytes.replaceSubrange(TallyCodec.slotOffsets[0]..<(TallyCodec.slotOffsets[0] + TallyCodec.slotSize), with: odd)
        bytes.replaceSubrange(TallyCodec.slotOffsets[1]..<(TallyCodec.slotOffsets[1] + TallyCodec.slotSize),
                              with: [UInt8](repeating: 0, count: TallyCodec.slotSize))
        XCTAssertThrowsError(try TallyCodec.decode(bytes)) { error in
            XCTAssertTrue((error as? TallyDamage)?.reason.contains("wrong place") ?? false, "\(error)")
        }
    }

    func testTheOlderCopyIsReadWhenTheNewerIsTorn() throws {
        var bytes = file((tally(failures: 1), 4), (tally(failures: 2), 5))
        bytes[TallyCodec.slotOffsets[1] + 100] ^= 0xFF
        let read = try TallyCodec.decode(bytes)
        XCTAssertEqual(read.sequence, 4)
        XCTAssertEqual(read.tally.attempts.count, 1)
    }
}

/// `users.seal` keeps the byte format of its first version (one line: "pwdir-seal 1", device,
/// inode, size, mtime and ctime with nanoseconds, and the FNV-1a of all that, padded to 128
/// bytes), so a seal written by an earlier build still reads as a match.
final class DirectorySealTests: XCTestCase {
    func testTheSealLineIsTheDocumentedOne() throws {
        let dir = DirectoryFile(path: try makeTempFolder() + "/users")
        try dir.create(format: 1)
        try add("ana", to: dir)
        var st = stat()
        XCTAssertEqual(lstat(dir.path, &st), 0)
        let body = "pwdir-seal 1 \(st.st_dev) \(st.st_ino) \(st.st_size) \(st.st_mtim.tv_sec) \(st.st_mtim.tv_nsec) \(st.st_ctim.tv_sec) \(st.st_ctim.tv_nsec)"
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for b in body.utf8 { h = (h ^ UInt64(b)) &* 0x100_0000_01B3 }
        var expected = Array((body + " " + String(h)).utf8)
        expected += [UInt8](repeating: 0x20, count: 127 - expected.count) + [0x0A]
        XCTAssertEqual(readFile(dir.sealPath), expected)
    }
}
