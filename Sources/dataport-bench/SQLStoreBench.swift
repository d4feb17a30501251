// `--store postgresql|mysql`: the same one-subject store in a SQL server (the CI-style servers
// `.ci/start-postgres.sh` and `.ci/start-mariadb.sh` start, reached through DATAPORT_PG_URL and
// DATAPORT_MYSQL_URL), measured against the server's own tools in the same run:
//
//   export json bundle          vs  psql COPY (SELECT row_to_json(v) ...) TO STDOUT | gzip -6
//                                   mysql --batch --quick -e "SELECT ..." | gzip -6
//   import into an empty table  vs  psql \copy visits FROM visits.csv CSV
//                                   mysql LOAD DATA LOCAL INFILE 'visits.tsv'
//   import again (unchanged)    vs  the same
//
// The rows are the SQLite store's (`generate(rows:)`), dumped once to CSV (PostgreSQL) or
// tab-separated text with \N for NULL (MySQL) and loaded with the server's bulk loader. Source and
// target live in their own schemas (PostgreSQL, via search_path in the URL) or databases (MySQL),
// dropped and made again when the row count changes, so nothing else on the server is touched.
import Foundation
#if canImport(Glibc)
import Glibc
#endif

enum BenchStore: String { case sqlite, postgresql, mysql }

/// Single quotes for /bin/sh.
func shellQuoted(_ s: String) -> String { "'" + s.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// A program's standard output (trimmed); fails the benchmark if it fails.
@MainActor func capture(_ argv: [String]) -> String {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = argv
    let out = Pipe()
    p.standardOutput = out
    do { try p.run() } catch { fail("cannot run \(argv[0])") }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { fail("\(argv[0]) exited with status \(p.terminationStatus)") }
    return String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
}

/// One server, its source and target, its client tool, the shapes of its tables and files.
@MainActor struct SQLServerBench {
    let store: BenchStore
    /// The dataport store config's url of the source and of the import target.
    let sourceURL: String, targetURL: String
    /// The client's argv up to (not including) the SQL, for the source and the target.
    let sourceClient: [String], targetClient: [String]
    let name: String

    /// The client's option that runs the SQL after it (psql -c, mysql -e).
    var sqlFlag: String { store == .postgresql ? "-c" : "-e" }

    static let columns = "id, user_id, started_at, ip, user_agent, os, referrer, path, duration_ms, amount"

    init(_ store: BenchStore) {
        self.store = store
        switch store {
        case .postgresql:
            guard let base = ProcessInfo.processInfo.environment["DATAPORT_PG_URL"], !base.isEmpty else {
                fail("--store postgresql reads DATAPORT_PG_URL (eval \"$(.ci/start-postgres.sh)\")")
            }
            func url(_ schema: String) -> String { base + (base.contains("?") ? "&" : "?") + "options=-csearch_path%3D" + schema }
            sourceURL = url("dataport_bench_src")
            targetURL = url("dataport_bench_dst")
            sourceClient = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", sourceURL]
            targetClient = ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", targetURL]
            name = "PostgreSQL " + capture(sourceClient + ["-At", "-c", "SHOW server_version"]).split(separator: " ").first.map(String.init)!
        case .mysql:
            guard let base = ProcessInfo.processInfo.environment["DATAPORT_MYSQL_URL"], var u = URLComponents(string: base),
                  let host = u.host, let user = u.user else {
                fail("--store mysql reads DATAPORT_MYSQL_URL, mysql://user@host:port/db (eval \"$(.ci/start-mariadb.sh)\")")
            }
            // The password goes to the client through the environment, never its arguments.
            if let p = u.password { setenv("MYSQL_PWD", p, 1) }
            let client = ["mysql", "--no-defaults", "--protocol=tcp", "-h", host, "-P", String(u.port ?? 3306), "-u", user, "--local-infile=1"]
            func url(_ db: String) -> String { u.path = "/" + db; return u.string! }
            sourceURL = url("dataport_bench_src")
            targetURL = url("dataport_bench_dst")
            sourceClient = client + ["dataport_bench_src"]
            targetClient = client + ["dataport_bench_dst"]
            name = "MySQL server " + capture(client + ["-N", "-e", "SELECT VERSION()"])
        case .sqlite:
            fatalError("SQLite is main.swift's")
        }
    }

    /// The tables, the same for source and target (the reference's own table too).
    func createTables(visits: String = "visits") -> String {
        switch store {
        case .postgresql:
            return """
            CREATE TABLE IF NOT EXISTS users (id bigint PRIMARY KEY, email text NOT NULL, name text);
            CREATE TABLE \(visits) (id bigint PRIMARY KEY, user_id bigint NOT NULL, started_at timestamptz NOT NULL, ip text,
              user_agent text, os text, referrer text, path text, duration_ms integer, amount numeric(12,2));
            CREATE INDEX ON \(visits) (user_id);
            """
        default:
            return """
            CREATE TABLE IF NOT EXISTS users (id BIGINT PRIMARY KEY, email VARCHAR(255) NOT NULL, name VARCHAR(255)) ENGINE=InnoDB;
            CREATE TABLE \(visits) (id BIGINT PRIMARY KEY, user_id BIGINT NOT NULL, started_at DATETIME NOT NULL, ip VARCHAR(45),
              user_agent TEXT, os VARCHAR(64), referrer TEXT, path TEXT, duration_ms INT, amount DECIMAL(12,2), KEY (user_id)) ENGINE=InnoDB;
            """
        }
    }

    /// An empty schema (PostgreSQL) or database (MySQL) holding empty tables.
    func reset(target: Bool) {
        let (container, client) = target ? ("dataport_bench_dst", targetClient) : ("dataport_bench_src", sourceClient)
        switch store {
        case .postgresql:
            _ = measure(client + ["-c", "SET client_min_messages = warning; DROP SCHEMA IF EXISTS \(container) CASCADE; CREATE SCHEMA \(container); SET search_path = \(container);\n" + createTables()])
        default:
            // The client connects to the database it drops; it must exist first.
            _ = measure(Array(client.dropLast()) + ["-e", "DROP DATABASE IF EXISTS \(container); CREATE DATABASE \(container) CHARACTER SET utf8mb4"])
            _ = measure(client + ["-e", createTables()])
        }
    }

    /// The file of `rows` (the subject's, or the 500 of other users with `others`) in the server's loader format.
    func dump(_ db: String, rows: Int, others: Bool) -> String {
        let file = "\(dir)/\(store.rawValue)-\(others ? "others" : "subject")-\(rows).\(store == .postgresql ? "csv" : "tsv")"
        if FileManager.default.fileExists(atPath: file) { return file }
        let filter = others ? "user_id <> 1" : "user_id = 1"
        let cmd: String
        if store == .postgresql {
            cmd = "sqlite3 -csv \(shellQuoted(db)) \(shellQuoted("SELECT \(Self.columns) FROM visits WHERE \(filter) ORDER BY id"))"
        } else {
            // DATETIME text without T and Z; NULL as \N; no value holds a tab or newline.
            let cols = Self.columns.replacingOccurrences(of: "started_at", with: "replace(replace(started_at, 'T', ' '), 'Z', '')")
            cmd = "sqlite3 -separator \"$(printf '\\t')\" -nullvalue '\\N' \(shellQuoted(db)) \(shellQuoted("SELECT \(cols) FROM visits WHERE \(filter) ORDER BY id"))"
        }
        _ = shell("\(cmd) > \(shellQuoted(file + ".tmp"))")
        rename(file + ".tmp", file)
        return file
    }

    /// The SQL that bulk-loads `file` into `table` (psql's \copy, MySQL's LOAD DATA LOCAL INFILE).
    func load(_ file: String, into table: String) -> String {
        store == .postgresql ? "\\copy \(table) FROM \(shellQuoted(file)) CSV" : "LOAD DATA LOCAL INFILE \(shellQuoted(file)) INTO TABLE \(table)"
    }

    /// Fills the source with the SQLite store's rows, unless it holds them already.
    func prepareSource(rows: Int) -> (subject: String, others: String) {
        let db = generate(rows: rows)
        let subject = dump(db, rows: rows, others: false), others = dump(db, rows: rows, others: true)
        let countSQL = "SELECT count(*) FROM visits WHERE user_id = 1"
        let have = store == .postgresql
            ? (capture(sourceClient + ["-At", "-c", "SELECT to_regclass('visits') IS NOT NULL"]) == "t" ? capture(sourceClient + ["-At", "-c", countSQL]) : "")
            : (capture(Array(sourceClient.dropLast()) + ["-N", "-e", "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'dataport_bench_src' AND table_name = 'visits'"]) == "1"
               ? capture(sourceClient + ["-N", "-e", countSQL]) : "")
        if have == String(rows) { return (subject, others) }
        reset(target: false)
        let users = "\(dir)/\(store.rawValue)-users.txt"
        try! (1...51).map { store == .postgresql ? "\($0),user\($0)@bench.example,User \($0)" : "\($0)\tuser\($0)@bench.example\tUser \($0)" }
            .joined(separator: "\n").write(toFile: users, atomically: true, encoding: .utf8)
        let script = [load(users, into: "users"), load(subject, into: "visits"), load(others, into: "visits"),
                      store == .postgresql ? "ANALYZE users, visits" : "ANALYZE TABLE users, visits"]
        if store == .postgresql {
            let file = "\(dir)/postgresql-load.sql"
            try! script.joined(separator: "\n").write(toFile: file, atomically: true, encoding: .utf8)
            _ = measure(sourceClient + ["-f", file])
        } else {
            _ = measure(sourceClient + ["-e", script.joined(separator: ";\n")])
        }
        return (subject, others)
    }

    /// The stores config of main.swift's benchmark, with this server's store instead of SQLite's.
    func storesConfig(url: String) -> String {
        let marker = "@@DATAPORT_BENCH_DB@@"
        let sqlite = "\"type\": \"sqlite\", \"options\": {\"path\": \"\(marker)\"}"
        let text = config(db: marker)
        guard text.contains(sqlite) else { fail("the benchmark's stores config changed; update SQLStoreBench.config") }
        let escaped = url.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
        return text.replacingOccurrences(of: sqlite, with: "\"type\": \"\(store.rawValue)\", \"options\": {\"url\": \"\(escaped)\"}")
    }

    /// The reference export: the server's own tool writing the subject's rows, gzip -6.
    func referenceExport(to out: String?) -> String {
        let query = "SELECT \(Self.columns) FROM visits WHERE user_id = 1 ORDER BY id"
        let tool: [String] = store == .postgresql
            ? sourceClient + ["-c", "COPY (SELECT row_to_json(v) FROM (\(query)) v) TO STDOUT"]
            : sourceClient + ["--batch", "--quick", "-e", query]
        let cmd = tool.map(shellQuoted).joined(separator: " ")
        return out.map { "\(cmd) | gzip -6 > \(shellQuoted($0))" } ?? "\(cmd) | wc -c"
    }

    func run(rows: Int) {
        let (subject, _) = prepareSource(rows: rows)
        let cfg = "\(dir)/stores-\(store.rawValue)-\(rows).json"
        try! storesConfig(url: sourceURL).write(toFile: cfg, atomically: true, encoding: .utf8)
        let targetCfg = "\(dir)/import-\(store.rawValue)-\(rows).json"
        try! storesConfig(url: targetURL).write(toFile: targetCfg, atomically: true, encoding: .utf8)
        let rawBytes = Int64(capture(["/bin/sh", "-c", referenceExport(to: nil)])) ?? 0
        let common = ["--config", cfg, "--subject", "email=user1@bench.example", "--generated-at", "2026-01-01T00:00:00Z", "--quiet"]
        let bundle = "\(dir)/export-\(store.rawValue)-\(rows).zip"
        let refExport = ["/bin/sh", "-c", referenceExport(to: "\(dir)/reference-\(store.rawValue)-\(rows).gz")]
        let export = [dataport, "export"] + common + ["--output", bundle]
        let refImport = targetClient + [sqlFlag, load(subject, into: "copy_visits")]
        let importArgs = [dataport, "import", "--quiet", bundle, "--config", targetCfg]
        // Interleaved rounds (reference, then DataPort, each round), so a drift of the shared
        // machine's speed hits both alike; medians of --repeat rounds.
        var t: [String: [Double]] = [:], peak: [String: Double] = [:]
        func note(_ key: String, _ r: (Double, Double)) { t[key, default: []].append(r.0); peak[key] = max(peak[key] ?? 0, r.1) }
        for _ in 0..<repeats {
            note("refExport", measure(refExport))
            note("export", measure(export))
        }
        let bundleBytes = Int64(rawJSONOf(bundle))
        for _ in 0..<repeats {
            // The reference's table: empty, with the same key and index as the target's.
            let ddl = store == .postgresql ? "SET client_min_messages = warning; DROP TABLE IF EXISTS copy_visits; " : "DROP TABLE IF EXISTS copy_visits; "
            _ = measure(targetClientOrCreate() + [sqlFlag, ddl + createTables(visits: "copy_visits")])
            note("refImport", measure(refImport))
            reset(target: true)
            note("import", measure(importArgs))
            note("again", measure(importArgs))
        }
        func m(_ key: String, _ name: String, bytes: Int64) -> Measurement {
            Measurement(name: name, seconds: t[key]!.sorted()[t[key]!.count / 2], peakRSSMB: peak[key]!, records: rows, bytes: bytes)
        }
        let tool = store == .postgresql ? "psql" : "mysql"
        print("\n\(rows) rows from \(name) (\(String(format: "%.0f", Double(rawBytes) / 1_048_576)) MB as the reference's output; MB/s counts uncompressed data)")
        let refE = m("refExport", store == .postgresql ? "reference psql COPY json|gzip" : "reference mysql --batch|gzip", bytes: rawBytes)
        let exp = m("export", "export json", bytes: bundleBytes)
        table([exp], reference: refE)
        let refI = m("refImport", store == .postgresql ? "reference psql \\copy CSV" : "reference LOAD DATA LOCAL", bytes: fileSize(subject))
        let imp = m("import", "import into empty \(tool == "psql" ? "PostgreSQL" : "MySQL")", bytes: bundleBytes)
        let again = m("again", "import again (unchanged)", bytes: bundleBytes)
        table([imp, again], reference: refI)
        let exportTarget = store == .mysql ? " (target 1.25x)" : ""
        print(String(format: "export json / reference: %.2fx%@", exp.seconds / refE.seconds, exportTarget))
        print(String(format: "import / reference: %.2fx (target 2x)", imp.seconds / refI.seconds))
        if store == .postgresql { print(String(format: "import again / reference: %.2fx (target 3x)", again.seconds / refI.seconds)) }
        else { print(String(format: "import again / reference: %.2fx", again.seconds / refI.seconds)) }
    }

    /// The target's client, after making sure the target exists (MySQL connects to the database).
    func targetClientOrCreate() -> [String] {
        if store == .mysql { _ = measure(Array(targetClient.dropLast()) + ["-e", "CREATE DATABASE IF NOT EXISTS dataport_bench_dst CHARACTER SET utf8mb4"]) }
        else { _ = measure(targetClient + ["-c", "SET client_min_messages = warning; CREATE SCHEMA IF NOT EXISTS dataport_bench_dst"]) }
        return targetClient
    }
}
