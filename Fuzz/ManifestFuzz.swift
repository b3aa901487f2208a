// libFuzzer target: `users` of format 2 (DirectoryManifest) and a shard of it, on any bytes
// (scripts/fuzz.sh manifest). The first input byte picks which (even: `users`; odd: a shard,
// whose number is the second byte); the rest is the file.
//
// Properties, each a crash when broken:
// - decode never traps; an error is `.directoryCorrupt` naming a line the file has;
// - a manifest decode accepts is canonical: encoding it gives back the same bytes;
// - a shard decode accepts holds only logins of that shard, and the module's lookup finds each
//   of them there as decode read it.
import Glibc
import PwdirCore

private let path = "/fuzz/users"

@_cdecl("LLVMFuzzerTestOneInput")
public func manifestFuzz(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard let data, size > 0 else { return 0 }
    if data[0] & 1 == 0 {
        let bytes = Array(UnsafeBufferPointer(start: data + 1, count: size - 1))
        do {
            let m = try DirectoryManifest.decode(bytes, path: path)
            guard m.encode() == bytes else { fail("an accepted manifest does not encode back to its bytes") }
            guard m.files.count == DirectoryManifest.shardCount else { fail("an accepted manifest names \(m.files.count) shards") }
        } catch {
            checkError(error, bytes)
        }
    } else {
        guard size >= 2 else { return 0 }
        let bytes = Array(UnsafeBufferPointer(start: data + 2, count: size - 2))
        let k = Int(data[1])
        let header = DirectoryManifest.shardHeader(k)
        do {
            let records = try DirectoryCodec.decode(bytes, path: path, header: header, shard: k)
            for r in records {
                guard DirectoryManifest.shard(of: r.login) == k else { fail("shard \(k) accepted '\(r.login)' of another shard") }
                let found = try bytes.withUnsafeBytes { b in
                    Result { () throws(PwdirError) in try DirectoryCodec.lookup(r.login, in: b, path: path, header: header) }
                }.get()
                guard found?.attributes == r.attributes else { fail("lookup of '\(r.login)' does not return the record decode read") }
            }
        } catch {
            checkError(error, bytes)
        }
    }
    return 0
}

private func checkError(_ error: PwdirError, _ bytes: [UInt8]) {
    guard case let .directoryCorrupt(p, line, _) = error else { fail("decode threw \(error), not directoryCorrupt") }
    let lines = bytes.reduce(1) { $0 + ($1 == 0x0A ? 1 : 0) }
    guard p == path, line >= 1, line <= lines else { fail("decode's error names line \(line) of a file of \(lines) lines: \(error)") }
}

private func fail(_ message: String) -> Never {
    fatalError("property broken: \(message)")
}
