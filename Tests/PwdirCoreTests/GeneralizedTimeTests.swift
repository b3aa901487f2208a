#if canImport(Glibc)
import Glibc
#endif
import PwdirCore
import PwdirTestSupport
import XCTest

/// `GeneralizedTime`: `YYYYMMDDHHMMSSZ` in UTC, both ways.
final class GeneralizedTimeTests: XCTestCase {
    /// Epochs checked against Python's calendar.timegm.
    static let known: [(Int64, String)] = [
        (0, "19700101000000Z"),
        (-1, "19691231235959Z"),
        (59, "19700101000059Z"),
        (86_399, "19700101235959Z"),
        (68_169_600, "19720229000000Z"),  // first leap day after the epoch
        (951_782_400, "20000229000000Z"),  // 2000 is a leap year (divisible by 400)
        (1_709_210_096, "20240229123456Z"),
        (2_147_483_648, "20380119031408Z"),  // one past 32-bit time_t
        (4_102_444_800, "21000101000000Z"),
        (4_107_542_399, "21000228235959Z"),  // 2100 is not a leap year…
        (4_107_542_400, "21000301000000Z"),  // …so 28 February is followed by 1 March
        (253_402_300_799, "99991231235959Z"),
    ]

    func testKnownEpochsBothWays() {
        for (epoch, text) in Self.known {
            XCTAssertEqual(GeneralizedTime.format(epoch), text, "\(epoch)")
            XCTAssertEqual(GeneralizedTime.parse(text), epoch, text)
        }
    }

    func testYearZeroRoundTrips() {
        XCTAssertEqual(GeneralizedTime.parse("00000101000000Z").map { GeneralizedTime.format($0) }, "00000101000000Z")
    }

    /// Round trip, and the text agrees with glibc's gmtime_r, for random epochs up to year 9999.
    func testRandomEpochsAgreeWithGmtime() {
        var rng = SeededGenerator(seed: 2024)
        for _ in 0..<2000 {
            let epoch = Int64.random(in: -2_000_000_000...253_402_300_799, using: &rng)
            let text = GeneralizedTime.format(epoch)
            XCTAssertEqual(GeneralizedTime.parse(text), epoch, text)
            var t = time_t(epoch)
            var tm = Glibc.tm()
            XCTAssertNotNil(gmtime_r(&t, &tm))
            func pad(_ v: Int32, _ n: Int) -> String { String(repeating: "0", count: max(0, n - String(v).count)) + String(v) }
            let expected = pad(tm.tm_year + 1900, 4) + pad(tm.tm_mon + 1, 2) + pad(tm.tm_mday, 2) + pad(tm.tm_hour, 2) + pad(tm.tm_min, 2) + pad(tm.tm_sec, 2) + "Z"
            XCTAssertEqual(text, expected, "\(epoch)")
            if testRun?.failureCount ?? 0 > 0 { return }
        }
    }

    func testEveryDayOfALeapYearAndAFollowingYear() {
        // 2024-01-01 to 2025-12-31 day by day at 12:00: dates strictly increase, no gaps
        var previous = ""
        for day in 0..<731 {
            let epoch = Int64(1_704_067_200 + day * 86_400 + 43_200)
            let text = GeneralizedTime.format(epoch)
            XCTAssertGreaterThan(text, previous)
            XCTAssertEqual(GeneralizedTime.parse(text), epoch)
            previous = text
        }
        XCTAssertEqual(GeneralizedTime.format(Int64(1_704_067_200 + 59 * 86_400)), "20240229000000Z")
        XCTAssertEqual(GeneralizedTime.format(Int64(1_704_067_200 + 366 * 86_400)), "20250101000000Z")
    }

    func testBadStringsAreNil() {
        let bad = [
            "", "Z", "19700101000000", "19700101000000z", "1970010100000Z", "197001010000000Z", "19700101000000ZZ",
            "19701301000000Z", "19700001000000Z", "19700100000000Z", "19700132000000Z", "19700101240000Z",
            "19700101006000Z", "19700101000061Z", "19700101000099Z", "1970-01-01T00:00:00Z", " 19700101000000Z",
            "19700101000000Z ", "19700101000000+0000", "1970010100000.Z", "-1970101000000Z", "+1970101000000Z",
            "１９７００１０１０００００Z", "19700101000000\u{0}", "197O0101000000Z", "19700101 00000Z",
        ]
        for s in bad {
            XCTAssertNil(GeneralizedTime.parse(s), s.debugDescription)
        }
        // a leap second: epoch time has none and pwdir never writes one
        XCTAssertNil(GeneralizedTime.parse("19700101000060Z"))
    }

    /// Days that do not exist (30 February, 31 April, 29 February of a common year) are refused,
    /// not moved into the next month.
    func testDaysThatDoNotExistAreRefused() {
        for s in ["20230229000000Z", "21000229000000Z", "19000229120000Z", "20230230000000Z", "20240230000000Z",
                  "20230431000000Z", "20230631000000Z", "20230931000000Z", "20231131000000Z", "20230231000000Z"] {
            XCTAssertNil(GeneralizedTime.parse(s), "\(s) is not a date; parse gave \(GeneralizedTime.parse(s).map { GeneralizedTime.format($0) } ?? "nil")")
        }
        XCTAssertNotNil(GeneralizedTime.parse("20240229000000Z"), "control: a real leap day")
        XCTAssertNotNil(GeneralizedTime.parse("20000229000000Z"), "control: a real leap day")
    }
}
