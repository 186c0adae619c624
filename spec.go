// Package alumnid embeds the API contract, openapi.yaml, byte for byte: the server validates
// requests with it and serves it at /openapi.yaml and /openapi.json.
package alumnid

import _ "embed"

// OpenAPI is the content of openapi.yaml.
//
//go:embed openapi.yaml
var OpenAPI []byte
