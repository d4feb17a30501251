import Foundation

extension Manifest {
    /// `formats/manifest.schema.json`: the JSON Schema of `manifest.json`, embedded so every bundle
    /// carries it in `schemas/`; a test keeps the two identical. Beside the manifest it describes:
    /// the format adapters' schemas are in `PublishedSchemas` (DataPortFormats).
    public static let schema = #"""
{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "urn:dataport:schema:manifest:1",
  "title": "DataPort bundle manifest (manifest.json), version 1",
  "description": "What a bundle holds, where it came from, and the size and SHA-256 of every file. See formats/bundle.md.",
  "type": "object",
  "required": [
    "format",
    "formatVersion",
    "tool",
    "generatedAt",
    "scope",
    "controller",
    "subject",
    "stores",
    "datasets",
    "excluded",
    "files"
  ],
  "additionalProperties": false,
  "properties": {
    "format": {
      "const": "dataport-bundle"
    },
    "formatVersion": {
      "type": "string",
      "pattern": "^1\\.[0-9]+$"
    },
    "tool": {
      "type": "object",
      "required": [
        "name",
        "version"
      ],
      "additionalProperties": false,
      "properties": {
        "name": {
          "type": "string"
        },
        "version": {
          "type": "string"
        }
      }
    },
    "generatedAt": {
      "$ref": "#/$defs/timestamp"
    },
    "scope": {
      "enum": [
        "access",
        "portability",
        "erasure"
      ]
    },
    "presentation": {
      "type": "object",
      "required": [
        "language",
        "timeZone"
      ],
      "additionalProperties": false,
      "description": "The language of the pages (index.html, pages/) and the time zone their times are shown in.",
      "properties": {
        "language": {
          "enum": [
            "en",
            "lt",
            "de",
            "fr",
            "es"
          ]
        },
        "timeZone": {
          "type": "string",
          "description": "An IANA time zone name, or UTC."
        }
      }
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
        },
        "supervisoryAuthority": {
          "type": "object",
          "required": [
            "name"
          ],
          "additionalProperties": false,
          "description": "The supervisory authority responsible for the controller (Art. 15(1)(f), Art. 77).",
          "properties": {
            "name": {
              "type": "string"
            },
            "address": {
              "type": "string"
            },
            "website": {
              "type": "string"
            }
          }
        }
      }
    },
    "subject": {
      "type": "object",
      "required": [
        "identities"
      ],
      "additionalProperties": false,
      "properties": {
        "displayName": {
          "type": "string"
        },
        "identities": {
          "type": "array",
          "items": {
            "type": "object",
            "required": [
              "kind",
              "value",
              "foundIn"
            ],
            "additionalProperties": false,
            "properties": {
              "kind": {
                "type": "string"
              },
              "value": {
                "type": "string"
              },
              "foundIn": {
                "$ref": "#/$defs/strings"
              },
              "shared": {
                "const": true,
                "description": "A weak identity (ip, cookie_id, ...) that also occurs in rows of another person; present only when true."
              }
            }
          }
        }
      }
    },
    "stores": {
      "type": "array",
      "items": {
        "type": "object",
        "required": [
          "name",
          "type",
          "status",
          "readAt"
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
              "complete",
              "failed"
            ]
          },
          "reason": {
            "type": "string"
          },
          "readAt": {
            "$ref": "#/$defs/timestamp"
          }
        }
      }
    },
    "categories": {
      "type": "array",
      "description": "The categories the config defined that the datasets use, with their title and definition in the bundle's language; absent when none.",
      "items": {
        "type": "object",
        "required": [
          "name",
          "title",
          "definition"
        ],
        "additionalProperties": false,
        "properties": {
          "name": {
            "type": "string",
            "pattern": "^[a-z][a-z0-9-]{0,63}$"
          },
          "title": {
            "type": "string"
          },
          "definition": {
            "type": "string"
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
    "excluded": {
      "type": "array",
      "items": {
        "type": "object",
        "required": [
          "name",
          "title",
          "category",
          "reason"
        ],
        "additionalProperties": false,
        "properties": {
          "name": {
            "$ref": "#/$defs/name"
          },
          "title": {
            "type": "string"
          },
          "category": {
            "$ref": "#/$defs/category"
          },
          "reason": {
            "type": "string"
          }
        }
      }
    },
    "files": {
      "type": "array",
      "items": {
        "$ref": "#/$defs/file"
      }
    }
  },
  "$defs": {
    "name": {
      "type": "string",
      "pattern": "^[a-z][a-z0-9_]{0,63}$"
    },
    "timestamp": {
      "type": "string",
      "pattern": "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$"
    },
    "strings": {
      "type": "array",
      "items": {
        "type": "string"
      }
    },
    "file": {
      "type": "object",
      "required": [
        "path",
        "mediaType",
        "size",
        "sha256"
      ],
      "additionalProperties": false,
      "properties": {
        "path": {
          "type": "string",
          "minLength": 1
        },
        "format": {
          "type": "string"
        },
        "mediaType": {
          "type": "string"
        },
        "size": {
          "type": "integer",
          "minimum": 0
        },
        "sha256": {
          "type": "string",
          "pattern": "^[0-9a-f]{64}$"
        },
        "encoding": {
          "type": "object",
          "additionalProperties": {
            "type": "string"
          }
        }
      }
    },
    "category": {
      "description": "A published category (formats/categories.md) or one defined in categories.",
      "anyOf": [
        {
          "enum": [
            "account",
            "contact",
            "quotations",
            "subscriptions",
            "consents",
            "communications",
            "billing",
            "website-usage",
            "cookies-devices",
            "content",
            "orders",
            "profiling"
          ]
        },
        {
          "type": "string",
          "pattern": "^[a-z][a-z0-9-]{0,63}$"
        }
      ]
    },
    "dataset": {
      "type": "object",
      "required": [
        "name",
        "title",
        "category",
        "description",
        "purposes",
        "legalBasis",
        "origin",
        "recipients",
        "source",
        "fields",
        "references",
        "withheld",
        "recordCount",
        "files"
      ],
      "additionalProperties": false,
      "properties": {
        "name": {
          "$ref": "#/$defs/name"
        },
        "title": {
          "type": "string"
        },
        "category": {
          "$ref": "#/$defs/category"
        },
        "description": {
          "type": "string"
        },
        "purposes": {
          "$ref": "#/$defs/strings"
        },
        "legalBasis": {
          "enum": [
            "consent",
            "contract",
            "legal-obligation",
            "vital-interests",
            "public-task",
            "legitimate-interests"
          ]
        },
        "origin": {
          "enum": [
            "provided",
            "observed",
            "derived"
          ]
        },
        "recipients": {
          "$ref": "#/$defs/strings"
        },
        "retention": {
          "type": "string"
        },
        "source": {
          "type": "object",
          "required": [
            "store",
            "connector",
            "object",
            "matchedBy"
          ],
          "additionalProperties": false,
          "properties": {
            "store": {
              "type": "string"
            },
            "connector": {
              "type": "string"
            },
            "object": {
              "type": "string"
            },
            "matchedBy": {
              "$ref": "#/$defs/strings"
            }
          }
        },
        "key": {
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
              },
              "title": {
                "type": "string",
                "description": "A short name for people (column headers), in the bundle's language."
              },
              "description": {
                "type": "string"
              }
            }
          }
        },
        "references": {
          "type": "array",
          "items": {
            "type": "object",
            "required": [
              "field",
              "dataset",
              "key"
            ],
            "additionalProperties": false,
            "properties": {
              "field": {
                "type": "string"
              },
              "dataset": {
                "type": "string"
              },
              "key": {
                "type": "string"
              }
            }
          }
        },
        "withheld": {
          "$ref": "#/$defs/strings"
        },
        "automatedDecisions": {
          "type": "object",
          "required": [
            "logic",
            "consequences"
          ],
          "additionalProperties": false,
          "description": "Automated decision-making, including profiling, that uses this data: the logic involved and its significance and consequences (Art. 15(1)(h)).",
          "properties": {
            "logic": {
              "type": "string"
            },
            "consequences": {
              "type": "string"
            }
          }
        },
        "transfers": {
          "type": "array",
          "description": "Transfers to third countries or international organisations and their safeguards (Art. 15(2)); absent when none.",
          "items": {
            "type": "object",
            "required": [
              "country",
              "safeguards"
            ],
            "additionalProperties": false,
            "properties": {
              "country": {
                "type": "string"
              },
              "safeguards": {
                "type": "string"
              }
            }
          }
        },
        "collectedFrom": {
          "type": "string",
          "description": "Where the data came from when not from the person (Art. 15(1)(g))."
        },
        "recordCount": {
          "type": "integer",
          "minimum": 0
        },
        "skippedLines": {
          "type": "integer",
          "minimum": 1,
          "description": "lines of the dataset's log that did not parse and were skipped (skipMalformedLines), so were not searched for the subject; absent when none were"
        },
        "sharedOnly": {
          "type": "object",
          "description": "Records matched only through shared identities: withheld from the bundle, or included in recordCount (export --include-shared). Present only when one is not 0.",
          "required": [
            "withheld",
            "included"
          ],
          "additionalProperties": false,
          "properties": {
            "withheld": {
              "type": "integer",
              "minimum": 0
            },
            "included": {
              "type": "integer",
              "minimum": 0
            }
          }
        },
        "files": {
          "type": "array",
          "items": {
            "$ref": "#/$defs/file"
          }
        }
      }
    }
  }
}

"""#
}
