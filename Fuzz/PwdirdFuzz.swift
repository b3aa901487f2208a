// libFuzzer target: what reaches pwdird over its socket (scripts/fuzz.sh pwdird), and what the
// module reads back from it.
//
// Properties, each a crash when broken:
// - decode never traps; a message it returns encodes back to the same bytes;
// - every answer field a client reads (outcome of a password or a code, tally, policy, report,
//   claim, record) is parsed
//   without trapping, and a tally it accepts encodes back to what it read.
import PwdirCore

@_cdecl("LLVMFuzzerTestOneInput")
public func pwdirdFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    guard let m = PwdirdMessage.decode(input) else { return 0 }
    guard m.encoded() == input else { fatalError("property broken: \(input) decodes to \(m), which encodes otherwise") }
    let record = m["record"].flatMap(PwdirdCodec.record)
    if let line = m.text("outcome") {
        _ = PwdirdCodec.outcome(line, record: record)
        _ = PwdirdCodec.secondFactor(line, record: record)
    }
    if let text = m.text("tally"), let t = PwdirdCodec.tally(text) {
        guard PwdirdCodec.tally(PwdirdCodec.tally(t)) == t else { fatalError("property broken: tally \(text) does not come back") }
    }
    if let text = m.text("policy") { _ = PwdirdCodec.policy(text, into: Settings()) }
    if let text = m.text("report") { _ = PwdirdCodec.report(text) }
    if let text = m.text("claim") { _ = PwdirdCodec.claim(text) }
    return 0
}
