import CLibXML2
import DataPortIO
import DataPortModel

// The thin wrapper over libxml2: every C call, pointer and C enum of the XML format lives in this
// file; `XMLFormat.swift` sees only safe Swift types.

/// Process-wide libxml2 set-up, done once before the first reader or writer.
enum LibXML2 {
    /// Initialises the parser (required before use from several threads) and replaces the external
    /// entity loader with one that refuses everything: DataPort never loads a DTD, an external
    /// entity or any other resource from a file or the network while reading XML.
    static let ready: Void = {
        xmlInitParser()
        xmlSetExternalEntityLoader { _, _, _ in nil }
    }()

    /// Silences libxml2's process-wide error channel on the calling thread: errors it raises outside
    /// a parser (I/O, writer, memory) would otherwise go to stderr. Parser errors are captured per
    /// reader by `XMLNodeReader`. The handler is thread-local in libxml2, so it is set on each entry.
    @inline(__always) static func silence() {
        _ = ready
        xmlSetStructuredErrorFunc(nil) { _, _ in }
    }
}

// MARK: - Reading

/// What kind of node the reader is on, reduced to what the XML format distinguishes.
enum XMLNodeKind: Equatable {
    case element
    case endElement
    /// Character data: text, CDATA sections, whitespace.
    case text
    /// Comments and processing instructions: carry no data.
    case ignorable
    case documentType
    case entityReference
    case other
}

/// One attribute of the current element.
struct XMLAttribute {
    var localName: String
    /// The namespace name, `nil` for none.
    var namespace: String?
    var value: String
}

/// The state the C callbacks reach through their context pointer: the byte source, the first
/// error raised by the source, and the first parser error.
final class XMLReadContext {
    let source: any ByteSource
    var sourceError: (any Error)?
    var parserMessage: String?
    var parserLine: Int = 0

    init(source: any ByteSource) { self.source = source }
}

/// A pull reader over libxml2's xmlTextReader, fed from a `ByteSource`.
///
/// Options: `XML_PARSE_NONET` and `XML_PARSE_BIG_LINES` only; never `NOENT`, `DTDLOAD`, `DTDATTR`,
/// `XINCLUDE` or `HUGE`, so entities are never substituted from a DTD, no external subset is read and
/// libxml2's own size and depth limits stay on. The caller rejects any document type node.
final class XMLNodeReader {
    private let reader: OpaquePointer
    private let context: XMLReadContext
    /// `<file>` for error locations.
    let documentName: String

    init(source: any ByteSource, documentName: String) throws {
        LibXML2.silence()
        self.documentName = documentName
        context = XMLReadContext(source: source)
        let options = Int32(XML_PARSE_NONET.rawValue | XML_PARSE_BIG_LINES.rawValue)
        let ctx = Unmanaged.passUnretained(context).toOpaque()
        guard let r = xmlReaderForIO({ ctx, buffer, len in
            guard let ctx, let buffer, len > 0 else { return -1 }
            let c = Unmanaged<XMLReadContext>.fromOpaque(ctx).takeUnretainedValue()
            if c.sourceError != nil { return -1 }
            do {
                return Int32(try c.source.read(into: UnsafeMutableRawBufferPointer(start: buffer, count: Int(len))))
            } catch {
                c.sourceError = error
                return -1
            }
        }, nil, ctx, nil, nil, options) else {
            if let e = context.sourceError { throw e }
            throw DataPortError(.invalidBundle, "cannot start the XML reader", at: documentName)
        }
        reader = r
        xmlTextReaderSetStructuredErrorHandler(r, { arg, error in
            guard let arg, let error else { return }
            let c = Unmanaged<XMLReadContext>.fromOpaque(arg).takeUnretainedValue()
            // Warnings (level 1) do not stop the parse; keep the first error.
            guard error.pointee.level.rawValue >= XML_ERR_ERROR.rawValue, c.parserMessage == nil else { return }
            var message = error.pointee.message.map { String(cString: $0) } ?? "malformed XML"
            while message.last?.isWhitespace == true { message.removeLast() }
            // libxml2 messages name elements and entities, never character data; cap them anyway.
            if message.count > 200 { message = String(message.prefix(200)) + "..." }
            c.parserMessage = message
            c.parserLine = Int(error.pointee.line)
        }, ctx)
    }

    deinit {
        xmlFreeTextReader(reader)
    }

    /// Moves to the next node; `false` at the end of the document.
    func read() throws -> Bool {
        LibXML2.silence()
        let status = xmlTextReaderRead(reader)
        if let e = context.sourceError { throw e }
        if status == 1 { return true }
        if status == 0, context.parserMessage == nil { return false }
        let message = context.parserMessage ?? "malformed XML"
        let line = context.parserLine > 0 ? context.parserLine : Int(xmlTextReaderGetParserLineNumber(reader))
        throw DataPortError(.invalidBundle, "malformed XML: \(message)", at: "\(documentName), line \(line)")
    }

    /// The next element or end-element node, skipping whitespace, comments and processing
    /// instructions; `nil` at the end of the document. Refuses DTDs, entity references and text.
    func nextStructural() throws -> XMLNodeKind? {
        func fail(_ message: String) -> DataPortError { DataPortError(.invalidBundle, message, at: "\(documentName), line \(line)") }
        while try read() {
            switch kind {
            case .element, .endElement: return kind
            case .ignorable: continue
            case .text:
                guard text.utf8.allSatisfy({ $0 == 0x20 || $0 == 0x09 || $0 == 0x0A || $0 == 0x0D }) else {
                    throw fail("unexpected text between elements")
                }
            case .documentType: throw fail("document type declarations (DOCTYPE) are not allowed")
            case .entityReference: throw fail("entity references are not allowed")
            case .other: throw fail("unexpected XML node")
            }
        }
        return nil
    }

    var kind: XMLNodeKind {
        switch xmlTextReaderNodeType(reader) {
        case Int32(XML_READER_TYPE_ELEMENT.rawValue): .element
        case Int32(XML_READER_TYPE_END_ELEMENT.rawValue): .endElement
        case Int32(XML_READER_TYPE_TEXT.rawValue), Int32(XML_READER_TYPE_CDATA.rawValue),
             Int32(XML_READER_TYPE_WHITESPACE.rawValue), Int32(XML_READER_TYPE_SIGNIFICANT_WHITESPACE.rawValue): .text
        case Int32(XML_READER_TYPE_COMMENT.rawValue), Int32(XML_READER_TYPE_PROCESSING_INSTRUCTION.rawValue): .ignorable
        case Int32(XML_READER_TYPE_DOCUMENT_TYPE.rawValue): .documentType
        case Int32(XML_READER_TYPE_ENTITY_REFERENCE.rawValue), Int32(XML_READER_TYPE_ENTITY.rawValue): .entityReference
        default: .other
        }
    }

    /// The local name of the current element.
    var localName: String { Self.string(xmlTextReaderConstLocalName(reader)) ?? "" }

    /// The namespace name of the current element, `nil` for none.
    var namespace: String? { Self.string(xmlTextReaderConstNamespaceUri(reader)) }

    /// Whether the current element is written `<x/>` (no end-element node follows).
    var isEmptyElement: Bool { xmlTextReaderIsEmptyElement(reader) == 1 }

    /// The character data of a text node.
    var text: String { Self.string(xmlTextReaderConstValue(reader)) ?? "" }

    /// The line of the current node, for error messages.
    var line: Int {
        if let node = xmlTextReaderCurrentNode(reader) {
            let n = xmlGetLineNo(node)
            if n > 0 { return Int(n) }
        }
        return Int(xmlTextReaderGetParserLineNumber(reader))
    }

    /// The attributes of the current element, namespace declarations left out.
    func attributes() -> [XMLAttribute] {
        guard xmlTextReaderHasAttributes(reader) == 1 else { return [] }
        var result: [XMLAttribute] = []
        var more = xmlTextReaderMoveToFirstAttribute(reader)
        while more == 1 {
            if xmlTextReaderIsNamespaceDecl(reader) != 1 {
                result.append(XMLAttribute(localName: Self.string(xmlTextReaderConstLocalName(reader)) ?? "",
                                           namespace: Self.string(xmlTextReaderConstNamespaceUri(reader)),
                                           value: Self.string(xmlTextReaderConstValue(reader)) ?? ""))
            }
            more = xmlTextReaderMoveToNextAttribute(reader)
        }
        xmlTextReaderMoveToElement(reader)
        return result
    }

    /// The namespace a prefix (`nil`: the default namespace) is bound to at the current element.
    func namespace(forPrefix prefix: String?) -> String? {
        guard let node = xmlTextReaderCurrentNode(reader) else { return nil }
        let ns: xmlNsPtr? = if let prefix {
            prefix.withCString { p in p.withMemoryRebound(to: xmlChar.self, capacity: prefix.utf8.count + 1) { xmlSearchNs(node.pointee.doc, node, $0) } }
        } else {
            xmlSearchNs(node.pointee.doc, node, nil)
        }
        return ns.flatMap { Self.string($0.pointee.href) }
    }

    private static func string(_ p: UnsafePointer<xmlChar>?) -> String? {
        guard let p else { return nil }
        // libxml2 hands out UTF-8; decode without assuming more than the bytes up to NUL.
        return String(decoding: UnsafeBufferPointer(start: p, count: Int(xmlStrlen(p))), as: UTF8.self)
    }
}

// MARK: - Writing

/// The state the output callback reaches: the sink and the first error it raised.
final class XMLWriteContext {
    let sink: any ByteSink
    var sinkError: (any Error)?
    /// Set once the file is finished or abandoned: later flushes by libxml2 write nothing.
    var closed = false

    init(sink: any ByteSink) { self.sink = sink }
}

/// A streaming writer over libxml2's xmlTextWriter, writing through an xmlOutputBuffer whose write
/// callback hands each filled chunk (about 4 KB) to the `ByteSink`, so memory stays bounded.
final class XMLNodeWriter {
    private let writer: OpaquePointer
    private let context: XMLWriteContext

    init(sink: any ByteSink) throws {
        LibXML2.silence()
        context = XMLWriteContext(sink: sink)
        let ctx = Unmanaged.passUnretained(context).toOpaque()
        guard let out = xmlOutputBufferCreateIO({ ctx, buffer, len in
            guard let ctx, len >= 0 else { return -1 }
            let c = Unmanaged<XMLWriteContext>.fromOpaque(ctx).takeUnretainedValue()
            if c.closed { return len }
            if c.sinkError != nil { return -1 }
            do {
                try c.sink.write(UnsafeRawBufferPointer(start: buffer, count: Int(len)))
                return len
            } catch {
                c.sinkError = error
                return -1
            }
        }, nil, ctx, nil) else {
            throw DataPortError(.output, "cannot start the XML writer")
        }
        guard let w = xmlNewTextWriter(out) else {
            xmlOutputBufferClose(out)
            throw DataPortError(.output, "cannot start the XML writer")
        }
        writer = w
    }

    deinit {
        // An abandoned writer must not push a half-written tail into the sink from deinit.
        context.closed = true
        xmlFreeTextWriter(writer)
    }

    private func check(_ status: Int32, _ what: String) throws {
        if let e = context.sinkError { throw e }
        if status < 0 { throw DataPortError(.output, "XML writer failed to \(what)") }
    }

    /// Bytes written as they are (the XML declaration, line breaks between elements).
    func raw(_ s: String) throws {
        LibXML2.silence()
        try check(s.withCString { xmlTextWriterWriteRaw(writer, UnsafeRawPointer($0).assumingMemoryBound(to: xmlChar.self)) }, "write")
    }

    /// Bytes written as they are, from a buffer.
    func raw(bytes: UnsafeRawBufferPointer) throws {
        guard let base = bytes.baseAddress else { return }
        LibXML2.silence()
        var offset = 0
        while offset < bytes.count {
            let n = min(bytes.count - offset, 1 << 30)
            try check(xmlTextWriterWriteRawLen(writer, (base + offset).assumingMemoryBound(to: xmlChar.self), Int32(n)), "write")
            offset += n
        }
    }

    func startElement(_ name: String) throws {
        LibXML2.silence()
        try check(name.withCString { xmlTextWriterStartElement(writer, UnsafeRawPointer($0).assumingMemoryBound(to: xmlChar.self)) }, "start an element")
    }

    /// An attribute of the element just started; `name` may carry a prefix (`xsi:nil`, `xmlns:dp`).
    func attribute(_ name: String, _ value: String) throws {
        try check(name.withCString { n in
            value.withCString { v in
                xmlTextWriterWriteAttribute(writer, UnsafeRawPointer(n).assumingMemoryBound(to: xmlChar.self),
                                            UnsafeRawPointer(v).assumingMemoryBound(to: xmlChar.self))
            }
        }, "write an attribute")
    }

    /// Character data, escaped by libxml2 (`&`, `<`, `>`, and CR as `&#13;`). Must not contain NUL.
    func text(_ s: String) throws {
        try check(s.withCString { xmlTextWriterWriteString(writer, UnsafeRawPointer($0).assumingMemoryBound(to: xmlChar.self)) }, "write text")
    }

    /// Ends the current element, as `<x/>` if it has no content.
    func endElement() throws { try check(xmlTextWriterEndElement(writer), "end an element") }

    /// Ends the current element with an end tag even if it has no content.
    func fullEndElement() throws { try check(xmlTextWriterFullEndElement(writer), "end an element") }

    /// Pushes everything buffered to the sink; after `close`, nothing more is written.
    func flush(close: Bool = false) throws {
        LibXML2.silence()
        try check(xmlTextWriterFlush(writer), "flush")
        if close { context.closed = true }
    }
}
