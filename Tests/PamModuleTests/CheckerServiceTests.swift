import PwdirCore
import XCTest

/// The helper's arguments: exactly what the module sends, nothing a caller could use to steer it
/// (no db=, no config=).
final class CheckerServiceTests: XCTestCase {
    func testTheModulesArgumentsParse() {
        let r = CheckerService.parse(["auth", "ana", "--service", "swaylock", "--silent", "--debug"])
        XCTAssertEqual(r?.mode, "auth")
        XCTAssertEqual(r?.user, "ana")
        XCTAssertEqual(r?.service, "swaylock")
        XCTAssertEqual(r?.silent, true)
        XCTAssertEqual(r?.debug, true)
        XCTAssertEqual(CheckerService.parse(["account", "ana", "--service", "x"])?.mode, "account")
    }

    func testAnythingElseIsRefused() {
        for argv in [
            [], ["auth"], ["auth", "ana"], ["chauthtok", "ana", "--service", "x"],
            ["auth", "ana", "--db", "/tmp/users"], ["auth", "ana", "--service", "x", "--config=/tmp/c"],
            ["auth", "../etc", "--service", "x"], ["auth", "ana", "--service", ""],
            ["auth", "ana", "--service", "has space"], ["auth", "ana", "--service", String(repeating: "s", count: 65)],
        ] {
            XCTAssertNil(CheckerService.parse(argv), "accepted \(argv)")
        }
    }
}
