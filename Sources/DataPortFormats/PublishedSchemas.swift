/// The format adapters' published schemas, embedded so every bundle carries them in `schemas/`.
/// `formats/` holds the same texts; a test keeps the two identical. The manifest's own schema is
/// `Manifest.schema`, in DataPortBundle beside the manifest.
public enum PublishedSchemas {
    /// `formats/dataport-dataset.schema.json`: the JSON Schema of JSON data files.
    public static let jsonDataset = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "urn:dataport:schema:dataset-json:1",
  "title": "DataPort dataset file (JSON), version 1",
  "description": "One dataset of a DataPort bundle: its fields and its records. Each record is an object with one member per field. Values: null; JSON strings for string, decimal (exact decimal text), timestamp (ISO 8601 UTC), date (YYYY-MM-DD) and binary (base64); JSON integers for integer; true/false for boolean. See formats/json.md.",
  "type": "object",
  "required": [
    "format",
    "version",
    "dataset",
    "fields",
    "records"
  ],
  "additionalProperties": false,
  "properties": {
    "format": {
      "const": "dataport-dataset"
    },
    "version": {
      "type": "string",
      "pattern": "^1\\.[0-9]+$"
    },
    "dataset": {
      "$ref": "#/$defs/name"
    },
    "fields": {
      "type": "array",
      "items": {
        "type": "object",
        "required": [
          "name",
          "type"
        ],
        "additionalProperties": false,
        "properties": {
          "name": {
            "$ref": "#/$defs/name"
          },
          "type": {
            "enum": [
              "string",
              "integer",
              "decimal",
              "boolean",
              "timestamp",
              "date",
              "binary"
            ]
          }
        }
      }
    },
    "records": {
      "type": "array",
      "items": {
        "type": "object",
        "propertyNames": {
          "$ref": "#/$defs/name"
        },
        "additionalProperties": {
          "$ref": "#/$defs/value"
        }
      }
    }
  },
  "$defs": {
    "name": {
      "type": "string",
      "pattern": "^[a-z][a-z0-9_]{0,63}$"
    },
    "value": {
      "anyOf": [
        {
          "type": "null"
        },
        {
          "type": "boolean"
        },
        {
          "type": "integer",
          "minimum": -9223372036854775808,
          "maximum": 9223372036854775807
        },
        {
          "type": "string"
        }
      ]
    }
  }
}

"""#
}
