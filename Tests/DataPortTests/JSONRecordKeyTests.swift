import DataPortFormats
import DataPortIO
import DataPortModel
import XCTest

/// A record's keys are matched to the fields as bytes (`JSONReader.nextKey`): escaped keys, order,
/// duplicates, unknown and missing fields behave, and are reported where, as when keys were strings.
final class JSONRecordKeyTests: XCTestCase {
    static let dataset = Dataset(
        name: "people", category: .account, description: "keys", purposes: [], legalBasis: .contract, origin: .provided,
        source: Provenance(store: "test", connector: "memory", object: "t", matchedBy: ["id"]),
        fields: [Field(name: "id", type: .integer), Field(name: "name", type: .string)])

    func read(_ record: String) throws -> [Record] {
        let text = #"{"format":"dataport-dataset","version":"1.0","dataset":"people","fields":[{"name":"id","type":"integer"},{"name":"name","type":"string"}],"records":["#
            + "\n" + record + "\n]}\n"
        let reader = try JSONFormat().makeReader(for: Self.dataset, from: MemorySource(Array(text.utf8)))
        var records: [Record] = []
        while let r = try reader.next() { records.append(r) }
        return records
    }

    func refused(_ record: String, _ message: String, file: StaticString = #filePath, line: UInt = #line) {
        XCTAssertThrowsError(try read(record), file: file, line: line) { error in
            XCTAssertEqual((error as? DataPortError)?.description.contains(message), true, "\(error)", file: file, line: line)
        }
    }

    func testKeysInAnyOrderAndEscapedAreTheFields() throws {
        XCTAssertEqual(try read(#"{"name":"a","id":1}"#), [Record([.integer(1), .string("a")])])
        XCTAssertEqual(try read(#"{"\u0069d":2,"n\u0061me":null}"#), [Record([.integer(2), .null])])
    }

    func testDuplicateUnknownAndMissingFieldsAreRefusedWhereTheyWere() {
        refused(#"{"id":1,"\u0069d":2}"#, "duplicate key (people.json, line 2, column 18)")
        refused(#"{"id":1,"name":"a","id":2}"#, "duplicate key (people.json, line 2, column 24)")
        refused(#"{"id":1,"nick":"a"}"#, "unknown field in a record (people.json, line 2, column 16)")
        refused(#"{"id":1,"nämé":"a"}"#, "unknown field in a record")
        refused(#"{"id":1,"nick":1,"nick":2}"#, "unknown field in a record (people.json, line 2, column 16)")
        refused(#"{"id":1}"#, "record is missing fields (people.json, line 2, column 9)")
        refused(#"{"id":1 "name":"a"}"#, "expected ',' or '}'")
        refused(#"{"id" 1}"#, "expected ':'")
        refused(#"{id:1}"#, "expected a string key")
    }
}
