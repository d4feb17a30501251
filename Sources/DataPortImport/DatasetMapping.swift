import DataPortModel
import DataPortStores

/// How one bundle dataset lands in one target table.
struct DatasetMapping {
    struct Column {
        var bundleIndex: Int
        var field: FieldConfig
        /// The dataset whose generated keys this field refers to (foreign key rewritten through the id map).
        var mapsThrough: String?
    }

    let name: String
    let table: String
    let columns: [Column]
    /// Position in `columns` of the key, if the target has one that the bundle carries.
    let keyPosition: Int?
    let keyGenerated: Bool
    /// How many fields the bundle's dataset has.
    let bundleFieldCount: Int
    /// The bundle fields the target does not import (absent from its config, or secret there).
    let droppedFields: [String]
    /// The imported fields' positions in the bundle, in bundle order: the checksums cover these.
    let importedFields: [Int]
    /// Positions in `columns`, in bundle order: a row's values in this order digest like its bundle record.
    let digestOrder: [Int]
    /// The target config's dataset.
    let target: DatasetConfig

    /// The dataset and key a field refers to: as the target config links it, else as the bundle does.
    static func reference(of field: String, bundle: Dataset, target: DatasetConfig) -> ForeignKey? {
        for case .reference(let f, let dataset, let key) in target.matches where f == field {
            return ForeignKey(field: f, dataset: dataset, key: key)
        }
        return bundle.references.first { $0.field == field }
    }

    init(bundle: Dataset, target: DatasetConfig, pairings: [ImportPlan.Pairing]) throws {
        name = bundle.name
        bundleFieldCount = bundle.fields.count
        guard case .table(let t) = target.source else {
            throw DataPortError(.invalidConfig, "dataset \(target.name) must name a table to be imported into", at: "store \(target.store)")
        }
        table = t.split(separator: ".").map { SQLQueryBuilder.quote(String($0)) }.joined(separator: ".")
        var cols: [Column] = []
        for f in target.fields where !f.secret {
            guard let i = bundle.index(of: f.name) else { continue }
            guard bundle.fields[i].type == f.type else {
                throw DataPortError(.invalidConfig, "dataset \(target.name), field \(f.name): the bundle has \(bundle.fields[i].type.rawValue), the target \(f.type.rawValue)", at: "store \(target.store)")
            }
            var through: String?
            if let ref = DatasetMapping.reference(of: f.name, bundle: bundle, target: target),
               let parent = pairings.first(where: { $0.bundle.dataset.name == ref.dataset })?.target,
               parent.key == ref.key, parent.field(named: ref.key)?.generated == true {
                through = ref.dataset
            }
            cols.append(Column(bundleIndex: i, field: f, mapsThrough: through))
        }
        guard !cols.isEmpty else {
            throw DataPortError(.invalidConfig, "dataset \(target.name) shares no field with the bundle", at: "store \(target.store)")
        }
        columns = cols
        self.target = target
        droppedFields = bundle.fields.filter { f in !cols.contains { $0.field.name == f.name } }.map(\.name)
        digestOrder = cols.indices.sorted { cols[$0].bundleIndex < cols[$1].bundleIndex }
        importedFields = digestOrder.map { cols[$0].bundleIndex }
        keyPosition = target.key.flatMap { k in cols.firstIndex { $0.field.name == k } }
        keyGenerated = keyPosition.map { cols[$0].field.generated } ?? false
    }
}
