import PwdirCore
import XCTest

/// The module's host played by a test: a script of the prompts it expects, in order, with their
/// answers; what it was told and what it logged. When it goes away it fails the test if a
/// scripted prompt was never asked (as Kanidm's test conversation checks in Drop).
public final class FakeHost: ModuleHost {
    public var script: [(prompt: String, answer: String?)]
    public var told: [(String, Bool)] = []
    public var logs: [(LogPriority, String)] = []
    public var authToken: SecretBytes?
    public var oldAuthToken: SecretBytes?
    public var authenticatedUser: String?
    public var callerIsRoot = false
    public var service = "fake"
    /// Called at each prompt, before it is answered (what another process sees meanwhile).
    public var whilePrompted: ((String) -> Void)?
    private var data: [String: [UInt8]] = [:]
    private let file: StaticString
    private let line: UInt

    public init(_ script: [(String, String?)], file: StaticString = #filePath, line: UInt = #line) {
        self.script = script.map { (prompt: $0.0, answer: $0.1) }
        self.file = file
        self.line = line
    }

    deinit {
        XCTAssertTrue(script.isEmpty, "prompts scripted but never asked: \(script.map(\.prompt))", file: file, line: line)
    }

    /// Fails now (rather than when the host goes away) if a scripted prompt was not asked.
    public func assertScriptUsed(file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertTrue(script.isEmpty, "prompts scripted but never asked: \(script.map(\.prompt))", file: file, line: line)
    }

    public func askSecret(_ prompt: String) -> SecretBytes? {
        guard !script.isEmpty else {
            XCTFail("unexpected prompt '\(prompt)'", file: file, line: line)
            return nil
        }
        whilePrompted?(prompt)
        let step = script.removeFirst()
        XCTAssertEqual(prompt, step.prompt, file: file, line: line)
        return step.answer.map { SecretBytes(Array($0.utf8)) }
    }

    public func tell(_ text: String, isError: Bool) { told.append((text, isError)) }
    public func log(_ priority: LogPriority, _ message: String) { logs.append((priority, message)) }
    public func keep(_ key: String, _ bytes: [UInt8]?) { data[key] = bytes }
    public func kept(_ key: String) -> [UInt8]? { data[key] }
}
