extension PublishedSchemas {
    /// The XML Schema (XSD 1.0) of XML data files of any dataset (`formats/dataport-dataset.xsd`, `formats/xml.md`).
    public static let xmlDataset = #"""
<?xml version="1.0" encoding="UTF-8"?>
<!--
  DataPort dataset file, XML form, version 1.x, any dataset. Specified in formats/xml.md.

  The root <dp:dataset> is in the namespace urn:dataport:dataset:1; every other element is
  unqualified (no namespace). A record holds one element per field, named after the field, so
  record children cannot be declared here: they match a lax wildcard, checked through xsi:type
  where a value carries one (version 1.0 files: dp:string, dp:integer, ..., dp:base64String,
  dp:null). Every bundle also carries schemas/xml/<dataset>.xsd, made for its dataset, which
  declares each field in order with its type: validate a data file against that one to check its
  records field by field. The value types are in dataport-value-types.xsd.
-->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:dp="urn:dataport:dataset:1"
           targetNamespace="urn:dataport:dataset:1"
           elementFormDefault="unqualified"
           attributeFormDefault="unqualified"
           version="1.1">

  <xs:include schemaLocation="dataport-value-types.xsd"/>

  <xs:element name="dataset" type="dp:datasetFile">
    <xs:unique name="uniqueFieldNames">
      <xs:selector xpath="fields/field"/>
      <xs:field xpath="@name"/>
    </xs:unique>
  </xs:element>

  <xs:complexType name="datasetFile">
    <xs:sequence>
      <xs:element name="fields" type="dp:fieldList"/>
      <xs:element name="records">
        <xs:complexType>
          <xs:sequence>
            <xs:element name="record" type="dp:record" minOccurs="0" maxOccurs="unbounded"/>
          </xs:sequence>
        </xs:complexType>
      </xs:element>
    </xs:sequence>
    <xs:attribute name="name" type="dp:name" use="required"/>
    <xs:attribute name="version" type="dp:version" use="required"/>
  </xs:complexType>

  <!-- One unqualified element per field, in field order; typed by its xsi:type where it has one. -->
  <xs:complexType name="record">
    <xs:sequence>
      <xs:any namespace="##local" processContents="lax" minOccurs="0" maxOccurs="unbounded"/>
    </xs:sequence>
  </xs:complexType>
</xs:schema>

"""#

    /// The value types and shared parts of the XML schemas (`formats/dataport-value-types.xsd`).
    public static let xmlValueTypes = #"""
<?xml version="1.0" encoding="UTF-8"?>
<!--
  DataPort dataset files, XML form: the value types and shared parts, version 1.x. Specified in
  formats/xml.md. Included by dataport-dataset.xsd (any dataset) and by the schemas/xml/<dataset>.xsd
  every bundle carries for each of its datasets.
-->
<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"
           xmlns:dp="urn:dataport:dataset:1"
           targetNamespace="urn:dataport:dataset:1"
           elementFormDefault="unqualified"
           attributeFormDefault="unqualified"
           version="1.1">

  <!-- The <fields> list: one empty <field name type/> per field, in order. -->
  <xs:complexType name="fieldList">
    <xs:sequence>
      <xs:element name="field" minOccurs="0" maxOccurs="unbounded">
        <xs:complexType>
          <xs:attribute name="name" type="dp:name" use="required"/>
          <xs:attribute name="type" type="dp:fieldType" use="required"/>
        </xs:complexType>
      </xs:element>
    </xs:sequence>
  </xs:complexType>

  <!-- The layout version on <dp:dataset>: 1.x. -->
  <xs:simpleType name="version">
    <xs:restriction base="xs:string">
      <xs:pattern value="1\.[0-9]+"/>
    </xs:restriction>
  </xs:simpleType>

  <!-- A dataset or field name. -->
  <xs:simpleType name="name">
    <xs:restriction base="xs:string">
      <xs:pattern value="[a-z][a-z0-9_]{0,63}"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:simpleType name="fieldType">
    <xs:restriction base="xs:string">
      <xs:enumeration value="string"/>
      <xs:enumeration value="integer"/>
      <xs:enumeration value="decimal"/>
      <xs:enumeration value="boolean"/>
      <xs:enumeration value="timestamp"/>
      <xs:enumeration value="date"/>
      <xs:enumeration value="binary"/>
    </xs:restriction>
  </xs:simpleType>

  <!-- Value types: of the field elements in schemas/xml/<dataset>.xsd, and as xsi:type in version
       1.0 files. Each allows only DataPort's canonical text. -->

  <!-- Any text XML 1.0 can hold; CR is written as the reference &#13;. -->
  <xs:simpleType name="string">
    <xs:restriction base="xs:string"/>
  </xs:simpleType>

  <!-- A string field's element (version 1.1, no xsi:type): its text, or with encoding="base64"
       base64 of its UTF-8 bytes when it holds characters XML 1.0 cannot carry. -->
  <xs:complexType name="stringValue">
    <xs:simpleContent>
      <xs:extension base="xs:string">
        <xs:attribute name="encoding" type="dp:encoding"/>
      </xs:extension>
    </xs:simpleContent>
  </xs:complexType>

  <!-- The one encoding a string element may declare: its text is base64 of the string's UTF-8 bytes. -->
  <xs:simpleType name="encoding">
    <xs:restriction base="xs:string">
      <xs:enumeration value="base64"/>
    </xs:restriction>
  </xs:simpleType>

  <!-- A string holding characters XML 1.0 cannot carry: base64 of its UTF-8 bytes. -->
  <xs:complexType name="base64String">
    <xs:simpleContent>
      <xs:extension base="dp:base64">
        <xs:attribute name="encoding" type="dp:encoding" use="required"/>
      </xs:extension>
    </xs:simpleContent>
  </xs:complexType>

  <!-- A signed 64-bit integer without leading zeros or sign. -->
  <xs:simpleType name="integer">
    <xs:restriction base="xs:long">
      <xs:pattern value="0|-?[1-9][0-9]*"/>
    </xs:restriction>
  </xs:simpleType>

  <!-- An exact decimal; scale is significant. The second member carries more digits than some
       validators (libxml2: 24) accept for xs:decimal, which DataPort does not limit. -->
  <xs:simpleType name="decimal">
    <xs:union>
      <xs:simpleType>
        <xs:restriction base="xs:decimal">
          <xs:pattern value="-?(0|[1-9][0-9]*)(\.[0-9]+)?"/>
        </xs:restriction>
      </xs:simpleType>
      <xs:simpleType>
        <xs:restriction base="xs:token">
          <xs:pattern value="-?(0|[1-9][0-9]*)(\.[0-9]+)?"/>
        </xs:restriction>
      </xs:simpleType>
    </xs:union>
  </xs:simpleType>

  <xs:simpleType name="boolean">
    <xs:restriction base="xs:boolean">
      <xs:pattern value="true|false"/>
    </xs:restriction>
  </xs:simpleType>

  <!-- An instant in UTC: YYYY-MM-DDTHH:MM:SS[.fraction]Z, up to 9 fraction digits, no trailing zero. -->
  <xs:simpleType name="timestamp">
    <xs:restriction base="xs:dateTime">
      <xs:pattern value="[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{0,8}[1-9])?Z"/>
    </xs:restriction>
  </xs:simpleType>

  <xs:simpleType name="date">
    <xs:restriction base="xs:date">
      <xs:pattern value="[0-9]{4}-[0-9]{2}-[0-9]{2}"/>
    </xs:restriction>
  </xs:simpleType>

  <!-- Bytes, as base64. -->
  <xs:simpleType name="binary">
    <xs:restriction base="dp:base64"/>
  </xs:simpleType>

  <!-- Base64 (RFC 4648 alphabet, padded, no line breaks). The pattern is needed: some validators
       (libxml2) skip characters outside the alphabet when checking xs:base64Binary. -->
  <xs:simpleType name="base64">
    <xs:restriction base="xs:base64Binary">
      <xs:pattern value="([A-Za-z0-9+/]{4})*([A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?"/>
    </xs:restriction>
  </xs:simpleType>

  <!-- NULL: an empty element marked xsi:nil="true". -->
  <xs:simpleType name="null">
    <xs:restriction base="xs:string">
      <xs:length value="0"/>
    </xs:restriction>
  </xs:simpleType>
</xs:schema>

"""#
}
