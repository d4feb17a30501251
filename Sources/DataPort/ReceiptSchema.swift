/// `formats/receipt.schema.json`, embedded so every receipt carries it in `schemas/`; a test keeps
/// the two identical.
enum ReceiptSchema {
    static let text = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "urn:dataport:schema:erasure-receipt:1",
  "title": "DataPort request receipt (receipt.json), version 1",
  "description": "What 'dataport erase', 'object' or 'rectify' did for one request: per dataset the action and counts, the retained datasets with their Art. 17(3) ground, the stores that failed. Holds no erased personal data: identities only as SHA-256 of their normal form. See formats/receipt.md.",
  "type": "object",
  "required": [
    "format",
    "formatVersion",
    "request",
    "requestedAt",
    "dryRun",
    "controller",
    "identities",
    "datasets",
    "stores",
    "storesNote",
    "proof"
  ],
  "additionalProperties": false,
  "properties": {
    "format": {
      "const": "dataport-erasure-receipt"
    },
    "formatVersion": {
      "type": "string",
      "pattern": "^1\\.[0-9]+$"
    },
    "request": {
      "description": "the right exercised: erasure (dataport erase), objection (dataport object), rectification (dataport rectify)",
      "enum": [
        "erasure",
        "objection",
        "rectification"
      ]
    },
    "purpose": {
      "description": "an objection's purpose",
      "type": "string"
    },
    "requestedAt": {
      "type": "string",
      "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]+)?Z$"
    },
    "dryRun": {
      "type": "boolean"
    },
    "controller": {
      "type": "object",
      "required": [
        "name",
        "contact"
      ],
      "additionalProperties": false,
      "properties": {
        "name": {
          "type": "string"
        },
        "contact": {
          "type": "string"
        },
        "address": {
          "type": "string"
        },
        "dpo": {
          "type": "string"
        }
      }
    },
    "identities": {
      "type": "array",
      "items": {
        "type": "object",
        "required": [
          "kind",
          "sha256"
        ],
        "additionalProperties": false,
        "properties": {
          "kind": {
            "type": "string",
            "pattern": "^[a-z][a-z0-9_]*$"
          },
          "sha256": {
            "type": "string",
            "pattern": "^[0-9a-f]{64}$"
          }
        }
      }
    },
    "datasets": {
      "type": "array",
      "items": {
        "$ref": "#/$defs/dataset"
      }
    },
    "stores": {
      "type": "array",
      "items": {
        "type": "object",
        "required": [
          "name",
          "type",
          "status"
        ],
        "additionalProperties": false,
        "properties": {
          "name": {
            "type": "string"
          },
          "type": {
            "type": "string"
          },
          "status": {
            "enum": [
              "erased",
              "changed",
              "unchanged",
              "failed",
              "planned"
            ]
          },
          "reason": {
            "type": "string"
          }
        }
      }
    },
    "storesNote": {
      "type": "string"
    },
    "proof": {
      "type": "object",
      "required": [
        "checked",
        "failedDatasets"
      ],
      "additionalProperties": false,
      "properties": {
        "checked": {
          "type": "boolean"
        },
        "failedDatasets": {
          "type": "array",
          "items": {
            "type": "string"
          }
        }
      }
    }
  },
  "$defs": {
    "count": {
      "type": "integer",
      "minimum": 0
    },
    "date": {
      "type": "string",
      "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}$"
    },
    "dataset": {
      "type": "object",
      "required": [
        "name",
        "title",
        "category",
        "store",
        "action",
        "before",
        "erased",
        "anonymized",
        "retained",
        "remaining",
        "sharedLeft",
        "retention"
      ],
      "additionalProperties": false,
      "properties": {
        "name": {
          "type": "string",
          "pattern": "^[a-z][a-z0-9_]*$"
        },
        "title": {
          "type": "string"
        },
        "category": {
          "type": "string"
        },
        "store": {
          "type": "string"
        },
        "action": {
          "enum": [
            "delete",
            "anonymize",
            "retain",
            "update"
          ]
        },
        "before": {
          "$ref": "#/$defs/count"
        },
        "erased": {
          "$ref": "#/$defs/count"
        },
        "anonymized": {
          "$ref": "#/$defs/count"
        },
        "retained": {
          "$ref": "#/$defs/count"
        },
        "remaining": {
          "description": "rows of the subject the gather found afterwards; null when not checked (dry run, failed store)",
          "oneOf": [
            {
              "$ref": "#/$defs/count"
            },
            {
              "type": "null"
            }
          ]
        },
        "sharedLeft": {
          "$ref": "#/$defs/count"
        },
        "retention": {
          "oneOf": [
            {
              "type": "null"
            },
            {
              "type": "object",
              "required": [
                "ground",
                "reason",
                "until"
              ],
              "additionalProperties": false,
              "properties": {
                "ground": {
                  "enum": [
                    "freedom-of-expression",
                    "legal-obligation",
                    "public-health",
                    "archiving-research",
                    "legal-claims"
                  ]
                },
                "reason": {
                  "type": "string"
                },
                "until": {
                  "oneOf": [
                    {
                      "type": "null"
                    },
                    {
                      "type": "object",
                      "required": [
                        "first",
                        "last"
                      ],
                      "additionalProperties": false,
                      "properties": {
                        "first": {
                          "$ref": "#/$defs/date"
                        },
                        "last": {
                          "$ref": "#/$defs/date"
                        }
                      }
                    }
                  ]
                }
              }
            }
          ]
        },
        "fields": {
          "description": "update only: the names of the fields written",
          "type": "array",
          "items": {
            "type": "string"
          }
        }
      }
    }
  }
}
"""#
}
