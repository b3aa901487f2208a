import PwdirCore
import PwdirTestSupport
import XCTest

/// A tally written by pwdir 0.8 (text, "pwdir-tally 1") is taken over on first open: the same
/// failures, lock and recovery code, now in a version-2 file; anything else stays damage.
final class TallyVersion1Tests: XCTestCase {
    let hash = "$y$j9T$abcdefghijklmnopqrstu.$yIOI64MnNnEDvdeKPi8YqyIKRo4wu39JqkYc4sfSTJ1"

    func folder() throws -> TallyFolder {
        let tallies = TallyFolder(directoryPath: try makeTempFolder() + "/users")
        try tallies.ensure()
        return tallies
    }

    func testFailuresLockAndCodeCarryOver() throws {
        let tallies = try folder()
        let text = "pwdir-tally 1\nfailure=1800000000\nfailure=1800000004\nlocked=1800000004\ncode=\(hash)\ncodeSent=1800000010\ncodeExpires=1800003610\ncodeTries=1\n"
        try writeFile(tallies.filePath("ana"), Array(text.utf8))
        let t = try tallies.read("ana")
        XCTAssertEqual(t.attempts.map(\.time), [1_800_000_000, 1_800_000_004])
        XCTAssertEqual(t.lockedTime, 1_800_000_004)
        XCTAssertEqual(t.recovery?.hash, hash)
        XCTAssertEqual(t.recovery?.expires, 1_800_003_610)
        XCTAssertEqual(t.recovery?.tries, 1)
        XCTAssertEqual(readFile(tallies.filePath("ana"))?.count, TallyCodec.fileSize, "not rewritten as version 2")
        XCTAssertEqual(modeOf(tallies.filePath("ana")), 0o600)
    }

    func testAnythingElseIsStillDamage() throws {
        let tallies = try folder()
        for text in ["pwdir-tally 1\nfailure=soon\n", "pwdir-tally 1\nunknown=1\n", "pwdir-tally 1\ncode=\(hash)\n",
                     "pwdir-tally 1\nfailure=1800000000", "pwdir-tally 3\nfailure=1800000000\n"] {
            try writeFile(tallies.filePath("bo"), Array(text.utf8))
            XCTAssertThrowsError(try tallies.read("bo"), text.debugDescription) { error in
                guard case .tallyDamaged? = error as? PwdirError else { return XCTFail("\(error)") }
            }
        }
        try writeFile(tallies.filePath("cy"), Array("pwdir-tally 1\nfailure=1800000000\n".utf8), mode: 0o644)
        XCTAssertThrowsError(try tallies.read("cy"), "a version-1 file others may read is not taken over")
    }
}
