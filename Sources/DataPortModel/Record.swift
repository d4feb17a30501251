/// One row of a dataset: values in the order of the dataset's fields.
///
/// Records are flat: nested data is a linked dataset (a foreign key to another dataset's key),
/// as in a relational store, so every format can hold it losslessly.
public struct Record: Sendable, Hashable {
    public var values: [Value]

    public init(_ values: [Value]) { self.values = values }
}
