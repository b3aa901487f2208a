// Helpers of the codec tests: lookups over byte arrays and byte-exact record comparison.
import PwdirCore
import PwdirTestSupport
import XCTest

/// `DirectoryCodec.lookup` over an array's bytes (Array.withUnsafeBytes only rethrows `any Error`).
func lookupIn(_ data: [UInt8], _ login: String, path: String) throws(PwdirError) -> UserRecord? {
    let result = data.withUnsafeBytes { b in Result { () throws(PwdirError) in try DirectoryCodec.lookup(login, in: b, path: path) } }
    return try result.get()
}

/// The bytes of a string (test inputs are written as Swift strings, then made raw).
func bytes(_ s: String) -> [UInt8] { Array(s.utf8) }

let testHeader = "pwdir-directory 1\n"

/// Asserts that two record lists are the same byte for byte: logins, attribute names and values
/// compared as UTF-8 (String's `==` treats canonically equivalent strings as equal, which would
/// hide a change of normalisation).
func assertSameBytes(_ got: [UserRecord], _ want: [UserRecord], _ message: String = "", file: StaticString = #filePath, line: UInt = #line) {
    XCTAssertEqual(got.count, want.count, "record count \(message)", file: file, line: line)
    for (g, w) in zip(got, want) {
        XCTAssertEqual(Array(g.login.utf8), Array(w.login.utf8), "login \(message)", file: file, line: line)
        XCTAssertEqual(g.attributes.count, w.attributes.count, "attribute count of \(w.login) \(message)", file: file, line: line)
        for (ga, wa) in zip(g.attributes, w.attributes) {
            XCTAssertEqual(Array(ga.name.utf8), Array(wa.name.utf8), "attribute name of \(w.login) \(message)", file: file, line: line)
            XCTAssertEqual(Array(ga.value.utf8), Array(wa.value.utf8), "value of \(w.login).\(wa.name) \(message)", file: file, line: line)
        }
    }
}

/// Sorted the way the directory sorts: by the login's bytes.
func sortedByLogin(_ records: [UserRecord]) -> [UserRecord] {
    records.sorted { $0.login.utf8.lexicographicallyPrecedes($1.login.utf8) }
}

