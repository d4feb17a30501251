import DataPort
import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// `dataport export`: gathers one subject (or a batch of subjects) from the stores into bundles.
enum ExportCommand {
    static let command = Command(
        name: "export",
        summary: "Gather one subject's data from the stores into a verifiable bundle.",
        usage: "dataport export --config FILE (--subject KIND=VALUE ... --output FILE|- | --subjects FILE --output-dir DIR) [options]",
        options: [
            CommonOptions.config(),
            CommonOptions.subject("An identity of the subject: email=..., user_id=..., ip=..., cookie_id=...", required: false),
            OptionSpec(name: "output", value: "FILE", help: "Where to write the bundle: a new path or a regular file to replace (mode 0600), or - for stdout (a pipe or file, never a terminal; the summary and --json then go to stderr). Not a folder, FIFO, device, socket, symbolic link or a store's file (\".age\" is appended to a file's name when it is encrypted)."),
            OptionSpec(name: "subjects", value: "FILE", help: "Batch: one subject per line (KIND=VALUE pairs separated by spaces, or a JSON object); - for stdin."),
            OptionSpec(name: "output-dir", value: "DIR", help: "Batch: where to write subject-LINE.zip (or .tar.gz) for each line; a line that fails removes an earlier run's bundle for it. Bundles are synced a group at a time (one syncfs per group of up to 64); a line is reported only once its bundle is synced and in place."),
            OptionSpec(name: "shard", value: "K/N", help: "Batch: only the lines whose number is K modulo N (1 <= K <= N), to split a batch across workers."),
            OptionSpec(name: "jobs", value: "N", help: "Batch: export N subjects at a time in this process (default: the number of cores). Bundles and report are the same as with --jobs 1."),
            CommonOptions.format("Formats of the data files, comma-separated (default json; xlsx for spreadsheets). See 'dataport formats'."),
            CommonOptions.csvFormulaGuard,
            CommonOptions.csvBOM,
            CommonOptions.scope,
            OptionSpec(name: "generated-at", value: "TIME", help: "Pin the bundle's time (ISO 8601) for a byte-identical, reproducible bundle."),
            OptionSpec(name: "allow-partial", value: nil, help: "Write the bundle even if a store fails, recording the failure."),
            OptionSpec(name: "include-shared", value: nil, help: "Include records matched only through a weak identity (ip, cookie_id) that another person shares; withheld by default, counted either way."),
            OptionSpec(name: "allow-empty", value: nil, help: "When no store holds anything about the subject, write a bundle with zero records that confirms it (exit 0) instead of failing with exit 7."),
            CommonOptions.language("The language of the bundle's pages: en, lt, de, fr or es (default: the config's language, else en)."),
            OptionSpec(name: "time-zone", value: "ZONE", help: "The time zone the pages show times in, an IANA name such as Europe/Vilnius (default: the config's timeZone, else UTC)."),
            CommonOptions.archive,
        ] + EncryptionOptions.writing + CommonOptions.longRunning,
        examples: [
            "dataport export --config Samples/stores.json --subject email=ana.nunez@example.com --output ana.zip",
            "dataport export --config stores.json --subject email=bo@example.org --subject ip=203.0.113.7 --format json,csv,xml --scope access --output bo.zip",
            "dataport export --config stores.json --subjects requests.txt --output-dir out/ --json",
            "dataport export --config stores.json --subject email=bo@example.org --encrypt-to age1... --output bo.zip   # writes bo.zip.age",
            "set -o pipefail; dataport export --config stores.json --subject email=bo@example.org --archive tar.gz --output - | ssh other dataport import - --config target.json",
        ],
        // One subject needs its identities and a bundle path; a batch its list and a folder.
        requires: { $0.value("subjects") == nil ? ["config", "subject", "output"] : ["config", "output-dir"] },
        run: { args, console in
            let configPath = try args.required("config")
            var options = ExportOptions()
            options.formats = try CommonOptions.formats(args.value("format") ?? "json", args)
            if let s = args.value("scope") {
                guard let scope = Scope(rawValue: s), scope != .erasure else { throw DataPortError(.usage, "--scope must be portability or access") }
                options.scope = scope
            }
            if let ts = try CommonOptions.time(args, "generated-at") { options.generatedAt = ts }
            options.allowPartial = args.flag("allow-partial")
            options.allowEmpty = args.flag("allow-empty")
            options.includeShared = args.flag("include-shared")
            (options.language, options.timeZone) = try CommonOptions.presentation(args)
            options.archive = try CommonOptions.archiveKind(args)
            options.encryption = try EncryptionOptions.encryption(args)
            let progress = try CommonOptions.progressObserver(args, console: console)
            if let list = args.value("subjects") {
                guard args.all("subject").isEmpty, args.value("output") == nil else {
                    throw DataPortError(.usage, "--subjects (a batch) cannot be combined with --subject or --output")
                }
                var jobs = ProcessInfo.processInfo.activeProcessorCount
                if let j = args.value("jobs") {
                    guard let n = Int(j), (1...256).contains(n) else { throw DataPortError(.usage, "--jobs must be a whole number from 1 to 256") }
                    jobs = n
                }
                try batch(list: list, outputDir: try args.required("output-dir"), shard: args.value("shard"), jobs: jobs, configPath: configPath,
                          options: options, args: args, console: console, progress: progress)
                return
            }
            guard args.value("jobs") == nil else { throw DataPortError(.usage, "--jobs is for a batch (--subjects)") }
            let output = CommonOptions.outputName(try args.required("output"), encrypted: options.encryption != nil)
            let rawSubjects = args.all("subject")
            let identities = try rawSubjects.map(parseIdentity)
            let config = try StoresConfig.load(path: configPath)
            try checkKinds(identities, config: config, what: "--subject")
            let result = try Exporter.export(config: config, identities: identities, output: output, options: options, progress: progress)
            if args.flag("json") {
                console.out(ResultJSON.export(result).serialized())
            } else if !args.flag("quiet") {
                console.out("wrote \(CommonOptions.shownOutput(output)): \(counted(result.manifest.datasets.count, "dataset")), \(counted(result.records, "record")), \(counted(result.bytes, "byte"))")
                for s in result.manifest.stores where s.status != "complete" {
                    console.out("store \(s.name): \(s.status)\(s.reason.map { " (\($0))" } ?? "")")
                }
            }
        })

    /// A kind no dataset matches would find nothing: a usage error listing the kinds the config
    /// matches on. Kind names are config vocabulary; the value is never named.
    static func checkKinds(_ identities: [Identity], config: StoresConfig, what: String) throws {
        let known = config.matchedKinds
        for (i, id) in identities.enumerated() where !known.contains(id.kind) {
            throw DataPortError(.usage, "the identity kind of \(what) number \(i + 1) is matched by no dataset of the config; it matches on: \(known.map(\.rawValue).joined(separator: ", "))")
        }
    }

    /// Parses `kind=value`.
    static func parseIdentity(_ raw: String) throws -> Identity {
        guard let eq = raw.firstIndex(of: "="), eq != raw.startIndex else {
            throw DataPortError(.usage, "--subject must be KIND=VALUE, e.g. email=ana@example.com")
        }
        return try identity(String(raw[..<eq]), String(raw[raw.index(after: eq)...]))
    }

    static func identity(_ kind: String, _ value: String) throws -> Identity {
        // A value starting with a visible ASCII character is not blank (nearly all; trimming each was 1% of a batch).
        let blank = (value.utf8.first.map { !(0x21...0x7E).contains($0) } ?? true) && value.trimmingCharacters(in: .whitespaces).isEmpty
        guard Dataset.isValidName(kind), !blank else {
            throw DataPortError(.usage, "an identity must be KIND=VALUE with a kind such as email, user_id, ip, cookie_id")
        }
        let id = Identity(kind: IdentityKind(kind), value: value, foundIn: ["request"])
        try Exporter.checkIdentities([id])
        return id
    }

    /// One batch line: `email=a@b.c user_id=3`, or `{"email": "a@b.c", "user_id": 3}`.
    static func parseLine(_ line: String, number: Int) throws -> [Identity] {
        if line.hasPrefix("{") {
            let doc = try JSONValue.parse(Array(line.utf8), name: "line \(number)", errorKind: .usage)
            guard case .object(let members) = doc, !members.isEmpty else { throw DataPortError(.usage, "a JSON line must be an object of identities", at: "line \(number)") }
            return try members.map { m in
                switch m.value {
                case .string(let s): return try identity(m.key, s)
                case .number(let n): return try identity(m.key, n)
                default:
                    let kind = Dataset.isValidName(m.key) ? "identity \(m.key)" : "an identity"
                    throw DataPortError(.usage, "\(kind) must be a string or number", at: "line \(number)")
                }
            }
        }
        return try line.split(separator: " ", omittingEmptySubsequences: true).map { try parseIdentity(String($0)) }
    }

    /// One line's outcome, in the report and on the console.
    struct LineOutcome: Sendable {
        var number: Int
        var ok: Bool
        var report: JSONValue
        var out: String?
        var err: String?
        /// The line's bundle, written but not yet synced nor in place (`BatchCommitter` does both).
        var pending: PendingFile? = nil
        /// What an earlier run may have left for this line: removed if the line fails.
        var stale: [String] = []

        /// A line that failed with `error`; whatever an earlier run left for it is removed, so it
        /// cannot pass for this run's answer.
        static func failure(_ number: Int, _ error: any Error, stale: [String], config: StoresConfig) -> LineOutcome {
            for o in stale { removeStaleBundle(o, config: config) }
            let e = error as? DataPortError ?? DataPortError(.internal, "unexpected failure")
            return LineOutcome(number: number, ok: false, report: .object(["line": .integer(number), "status": .string("failed"), "error": ResultJSON.error(e)]),
                               err: "dataport: error: line \(number): \(e.description)")
        }
    }

    static func batch(list: String, outputDir: String, shard: String?, jobs: Int, configPath: String, options: ExportOptions,
                      args: Arguments, console: Console, progress: (any ProgressObserver)?) throws {
        var shardK = 1, shardN = 1
        if let shard {
            let parts = shard.split(separator: "/").compactMap { Int($0) }
            guard parts.count == 2, parts[1] >= 1, (1...parts[1]).contains(parts[0]) else { throw DataPortError(.usage, "--shard must be K/N with 1 <= K <= N") }
            (shardK, shardN) = (parts[0], parts[1])
        }
        let data: Data?
        if list == "-" { data = FileHandle.standardInput.readDataToEndOfFile() } else { data = FileManager.default.contents(atPath: list) }
        guard let data, let text = String(data: data, encoding: .utf8) else { throw DataPortError(.usage, "cannot read the subjects file", at: list) }
        var isDir: ObjCBool = false
        guard FileManager.default.fileExists(atPath: outputDir, isDirectory: &isDir), isDir.boolValue else {
            throw DataPortError(.output, "the output folder does not exist", at: outputDir)
        }
        let config = try StoresConfig.load(path: configPath)
        let lines: [(number: Int, line: String)] = text.split(separator: "\n", omittingEmptySubsequences: false).enumerated().compactMap { i, raw in
            let number = i + 1
            let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !line.isEmpty, !line.hasPrefix("#"), (number - 1) % shardN == shardK - 1 else { return nil }
            return (number, line)
        }
        let exporter = BatchExporter(config: config, options: options)
        // Absolute, once: a URL built per subject was 6% of a batch of small subjects' CPU.
        let folder = URL(fileURLWithPath: outputDir).path
        let printLines = !args.flag("json") && !args.flag("quiet")
        let shared = progress.map(SerialProgress.init)
        let report = Locked(BatchReport())
        let committer = BatchCommitter(config: config) { o in
            // In line order, one at a time: the report and console are a sequential run's.
            report.withLock { r in
                r.outcomes.append(o.report)
                if o.ok { r.succeeded += 1 } else { r.failed += 1 }
            }
            if let out = o.out { console.out(out) }
            if let err = o.err { console.err(err) }
        }
        BatchJobs.run(count: lines.count, jobs: jobs, makeWorker: { exporter.makeWorker() }) { worker, k in
            exportLine(lines[k].line, number: lines[k].number, outputDir: folder, worker: worker, printLines: printLines, progress: shared)
        } deliver: { o in
            committer.add(o)
        }
        committer.finish()
        let (outcomes, succeeded, failed) = report.withLock { ($0.outcomes, $0.succeeded, $0.failed) }
        if args.flag("json") {
            console.out(JSONValue.object(["subjects": .array(outcomes), "succeeded": .integer(succeeded), "failed": .integer(failed)]).serialized())
        } else if !args.flag("quiet") {
            console.out("\(counted(succeeded, "subject")) exported, \(failed) failed")
        }
        if failed > 0 { throw BatchFailed(failed: failed) }
    }

    /// Exports one batch line into `subject-LINE.zip` (or its archive kind's name) in `outputDir`
    /// (an absolute path).
    static func exportLine(_ line: String, number: Int, outputDir: String, worker: BatchExporter.Worker, printLines: Bool,
                           progress: (any ProgressObserver)?) -> LineOutcome {
        let config = worker.batch.config, options = worker.batch.options
        // File names carry the line number only: no personal data in paths. The extension is the
        // archive kind's (".age" appended when encrypted); a bundle for this line in the other kind is an earlier run's.
        let folder = outputDir.hasSuffix("/") ? outputDir : outputDir + "/"
        func named(_ kind: ArchiveKind) -> String {
            let plain = folder + "subject-\(number).\(kind.rawValue)"
            return options.encryption == nil ? plain : AgeEncryption.fileName(for: plain)
        }
        let output = named(options.archive)
        let others = ArchiveKind.allCases.filter { $0 != options.archive }.map(named)
        do {
            let ids = try parseLine(line, number: number)
            try checkKinds(ids, config: config, what: "identity")
            let (r, file) = try worker.exportSyncingLater(identities: ids, output: output, progress: progress)
            for o in others { removeStaleBundle(o, config: config) }
            return LineOutcome(number: number, ok: true, report: .object(["line": .integer(number), "status": .string("ok"), "output": .string(output),
                                                           "records": .integer(r.records), "bytes": .integer(r.bytes)]),
                               out: printLines ? "line \(number): ok, \(output) (\(counted(r.records, "record")))" : nil,
                               pending: file, stale: [output])
        } catch {
            return LineOutcome.failure(number, error, stale: [output] + others, config: config)
        }
    }
}

/// Runs a batch's tasks on `jobs` threads, each with its own worker, and hands the results to
/// `deliver` in task order, one at a time (on whichever job finished the next one due).
enum BatchJobs {
    private struct Schedule<Outcome> {
        var next = 0
        var done: [Int: Outcome] = [:]
        var delivered = 0
    }

    static func run<Worker, Outcome: Sendable>(count: Int, jobs: Int, makeWorker: @escaping @Sendable () -> Worker,
                                               task: @escaping @Sendable (Worker, Int) -> Outcome, deliver: @escaping @Sendable (Outcome) -> Void) {
        let schedule = Locked(Schedule<Outcome>())
        let job: @Sendable (Int) -> Void = { _ in
            let worker = makeWorker()
            while true {
                let k = schedule.withLock { s in
                    defer { s.next += 1 }
                    return s.next
                }
                guard k < count else { return }
                let outcome = task(worker, k)
                schedule.withLock { s in
                    s.done[k] = outcome
                    while let o = s.done.removeValue(forKey: s.delivered) {
                        deliver(o)
                        s.delivered += 1
                    }
                }
            }
        }
        let n = max(1, min(jobs, count))
        if n == 1 { job(0) } else { DispatchQueue.concurrentPerform(iterations: n, execute: job) }
    }
}

/// Takes a batch's outcomes in line order and makes their bundles durable a group at a time
/// (`SyncGroup`: one sync for the group instead of one per bundle), then reports the group's lines,
/// in order. A group is committed when it holds 64 bundles, when its first has waited 50 ms, or at
/// the end. So a line reported ok is still a bundle synced and in place; a bundle that cannot be
/// synced or moved turns its line into a failure (exit 8), and the line's earlier bundle is removed.
final class BatchCommitter: Sendable {
    static let groupSize = 64
    static let longestWait = 0.05
    private let queue = HandOff<ExportCommand.LineOutcome>(capacity: 256)
    private let worker: WorkerThread<Void>

    init(config: StoresConfig, report: @escaping @Sendable (ExportCommand.LineOutcome) -> Void) {
        let queue = queue
        worker = WorkerThread("dataport.batch.sync", lending: {
            var group: [ExportCommand.LineOutcome] = [], started = Date()
            func commit() {
                var errors = SyncGroup.commit(group.compactMap(\.pending)).makeIterator()
                for o in group {
                    guard o.pending != nil, let e = errors.next() ?? nil else { report(o); continue }
                    report(.failure(o.number, e, stale: o.stale, config: config))
                }
                group = []
            }
            while true {
                let left = group.isEmpty ? 3600 : Self.longestWait - Date().timeIntervalSince(started)
                switch left > 0 ? try queue.receive(waitingAtMost: left) : .timedOut {
                case .element(let o):
                    if group.isEmpty { started = Date() }
                    group.append(o)
                    if group.count >= Self.groupSize { commit() }
                case .timedOut:
                    if !group.isEmpty { commit() }
                case .end:
                    commit()
                    return
                }
            }
        })
    }

    /// The next line's outcome, in line order.
    func add(_ outcome: ExportCommand.LineOutcome) { try? queue.send(outcome) }

    /// Commits and reports what is left; returns once every line is reported.
    func finish() {
        queue.finish()
        _ = try? worker.join()
    }
}

/// What a batch's lines came to; filled by `BatchJobs.run`'s deliveries, one at a time.
private struct BatchReport {
    var outcomes: [JSONValue] = []
    var succeeded = 0
    var failed = 0
}

/// A progress observer that several jobs may report to: one event at a time. Still unchecked:
/// `ProgressObserver` is not `Sendable`, and the printer the CLI passes shares its region with the
/// command's arguments, so it cannot be sent into a `Locked`; it is reached only under `lock`.
final class SerialProgress: ProgressObserver, @unchecked Sendable {
    private let inner: any ProgressObserver
    private let lock = Mutex(())
    init(_ inner: any ProgressObserver) { self.inner = inner }
    func report(_ event: ProgressEvent) {
        lock.withLock { _ in inner.report(event) }
    }
}

extension ExportCommand {
    /// Removes a regular file at `path` (a bundle of an earlier run); leaves anything else alone,
    /// and never a file an export could not replace either (a store's own file).
    static func removeStaleBundle(_ path: String, config: StoresConfig) {
        // Almost always nothing is there: look before resolving the protected files.
        var st = stat()
        guard lstat(path, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return }
        guard (try? OutputPath.check(path, protected: config.ownFiles)) != nil else { return }
        unlink(path)
    }
}

/// A batch where some subjects failed: already reported line by line, so the CLI only sets the exit code.
struct BatchFailed: Error {
    var failed: Int
}
