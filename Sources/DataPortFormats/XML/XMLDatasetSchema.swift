import DataPortModel

/// The XSD made for one dataset's XML file (`schemas/xml/<dataset>.xsd` in a bundle): the published
/// value types, then this dataset's record as a sequence of its fields in order, each with its type
/// and nillable. What the generic `dataport-dataset.xsd` cannot say (a record's field names, order
/// and types), a validator that no one here wrote can then check.
enum XMLDatasetSchema {
    /// The path of a dataset's schema inside the bundle's `schemas/` folder.
    static func name(of dataset: Dataset) -> String { "xml/\(dataset.name).xsd" }

    /// The schema text. Dataset and field names are `[a-z][a-z0-9_]*`, so they need no escaping.
    static func text(for dataset: Dataset) -> String {
        let fields = dataset.fields.map { f in
            let type = f.type == .string ? "stringValue" : f.type.rawValue
            return "                    <xs:element name=\"\(f.name)\" type=\"dp:\(type)\" nillable=\"true\"/>\n"
        }.joined()
        return """
        <?xml version="1.0" encoding="UTF-8"?>
        <!--
          DataPort dataset file "\(dataset.name)", XML form: each record holds these fields, in this order.
          Made with the bundle from the dataset's field list; see formats/xml.md.
        -->
        <xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
                   xmlns:dp="\(XMLFormat.namespace)"
                   targetNamespace="\(XMLFormat.namespace)"
                   elementFormDefault="unqualified"
                   attributeFormDefault="unqualified"
                   version="\(XMLFormat.version)">

          <xs:include schemaLocation="../dataport-value-types.xsd"/>

          <xs:element name="dataset">
            <xs:complexType>
              <xs:sequence>
                <xs:element name="fields" type="dp:fieldList"/>
                <xs:element name="records">
                  <xs:complexType>
                    <xs:sequence>
                      <xs:element name="record" minOccurs="0" maxOccurs="unbounded">
                        <xs:complexType>
                          <xs:sequence>
        \(fields)                  </xs:sequence>
                        </xs:complexType>
                      </xs:element>
                    </xs:sequence>
                  </xs:complexType>
                </xs:element>
              </xs:sequence>
              <xs:attribute name="name" type="dp:name" use="required" fixed="\(dataset.name)"/>
              <xs:attribute name="version" type="dp:version" use="required"/>
            </xs:complexType>
          </xs:element>
        </xs:schema>

        """
    }
}
