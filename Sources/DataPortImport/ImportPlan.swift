import DataPortBundle
import DataPortModel
import DataPortStores

/// What an import will write, decided before the first write: each bundle dataset the target
/// config maps, with the table it lands in (parents before children), and the datasets left out.
struct ImportPlan {
    /// One bundle dataset and how it lands in its target table.
    struct Dataset {
        let bundle: ManifestDataset
        let mapping: DatasetMapping
    }

    /// A bundle dataset and the target config's dataset of the same name.
    typealias Pairing = (bundle: ManifestDataset, target: DatasetConfig)

    let store: StoreConfig
    /// In write order: a dataset after those its references point to.
    let datasets: [Dataset]
    /// Bundle datasets the target config does not map, with why.
    let skipped: [(name: String, reason: String)]

    /// How many records the import reads.
    var totalRecords: Int64 { datasets.reduce(0) { $0 + $1.bundle.recordCount } }

    init(manifest: Manifest, store: StoreConfig, config: StoresConfig, dropFields: [String], strict: Bool) throws {
        var pairings: [Pairing] = []
        var skipped: [(name: String, reason: String)] = []
        for bundle in manifest.datasets {
            if let target = store.datasets.first(where: { $0.name == bundle.dataset.name }) {
                pairings.append((bundle, target))
            } else {
                skipped.append((bundle.dataset.name, "not mapped by the target config"))
            }
        }
        if strict && !skipped.isEmpty {
            throw DataPortError(.invalidConfig, "the target config does not map \(skipped.map(\.name).joined(separator: ", ")) (--strict)", at: config.file)
        }
        if pairings.isEmpty && !manifest.datasets.isEmpty {
            throw DataPortError(.invalidConfig, "the target config maps none of the bundle's datasets (\(skipped.map(\.name).joined(separator: ", "))): nothing would be imported", at: config.file)
        }
        pairings = try Self.ordered(pairings)
        let mappings = try pairings.map { try DatasetMapping(bundle: $0.bundle.dataset, target: $0.target, pairings: pairings) }
        let unmapped = manifest.datasets.filter { bundle in !pairings.contains { $0.bundle.dataset.name == bundle.dataset.name } }
        try Self.checkDroppedFields(mappings, skipped: unmapped, allowed: dropFields, config: config)
        self.store = store
        self.skipped = skipped
        datasets = zip(pairings, mappings).map { Dataset(bundle: $0.0.bundle, mapping: $0.1) }
    }

    /// Refuses to lose a bundle field silently: every field of a mapped dataset that the target does
    /// not import (not in its config, or a secret there, which is never written) must be allowed by
    /// `allowed` (`dataset.field`). Each entry of `allowed` must name such a field, or one of a
    /// skipped dataset. Names only in the messages, never the entries themselves (they are input).
    static func checkDroppedFields(_ mappings: [DatasetMapping], skipped: [ManifestDataset], allowed: [String], config: StoresConfig) throws {
        let dropped = mappings.flatMap { mapping in mapping.droppedFields.map { "\(mapping.name).\($0)" } }
        let droppable = Set(dropped + skipped.flatMap { bundle in bundle.dataset.fields.map { "\(bundle.dataset.name).\($0.name)" } })
        if let i = allowed.firstIndex(where: { !droppable.contains($0) }) {
            throw DataPortError(.usage, "--drop-field number \(i + 1) names no bundle field that the target would leave out (give DATASET.FIELD)")
        }
        let refused = dropped.filter { !allowed.contains($0) }
        guard refused.isEmpty else {
            throw DataPortError(.invalidConfig, "the target config does not import the bundle fields \(refused.joined(separator: ", ")): they would be lost (allow each with --drop-field DATASET.FIELD)", at: config.file)
        }
    }

    /// Parents before children, following the bundle's references.
    static func ordered(_ pairings: [Pairing]) throws -> [Pairing] {
        var done = Set<String>()
        var out: [Pairing] = []
        var pending = pairings
        let names = Set(pairings.map { $0.bundle.dataset.name })
        while !pending.isEmpty {
            guard let i = pending.firstIndex(where: { pairing in
                let dataset = pairing.bundle.dataset
                return dataset.fields.allSatisfy { field in
                    guard let ref = DatasetMapping.reference(of: field.name, bundle: dataset, target: pairing.target) else { return true }
                    return !names.contains(ref.dataset) || done.contains(ref.dataset) || ref.dataset == dataset.name
                }
            }) else {
                throw DataPortError(.invalidBundle, "datasets reference each other in a cycle: \(pending.map { $0.bundle.dataset.name }.joined(separator: ", "))")
            }
            done.insert(pending[i].bundle.dataset.name)
            out.append(pending.remove(at: i))
        }
        return out
    }
}
